package dev.lazydir.serve;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import com.github.benmanes.caffeine.cache.RemovalListener;
import dev.lazydir.fanotify.Fan;
import dev.lazydir.fanotify.FanotifyGroup;
import dev.lazydir.index.IndexDigests;
import dev.lazydir.internal.posix.Errno;
import dev.lazydir.internal.posix.ErrnoException;
import dev.lazydir.internal.posix.Posix;
import dev.lazydir.internal.posix.Stat;
import dev.lazydir.tree.EntryMeta.TimePrecision;
import dev.lazydir.tree.StubTree;
import dev.lazydir.tree.TreePath;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.logging.Logger;

/**
 * The stubs the daemon is filling, by inode. An event's file is found by the path its fd was opened by (in the
 * view, the store, or a previous daemon's detached view) and checked to be the same inode; it is opened once and
 * shared by every reader and prefetch. A stub that completes goes native at once (no content mark, an open ignore
 * mark) and leaves after its map is recorded. Once a second, one syncfs, then the maps of every stub that got
 * segments: a crash never leaves a map naming bytes that are not on disk.
 */
final class OpenStubs {
  private static final Logger LOG = Logger.getLogger(OpenStubs.class.getName());

  private final StubTree tree;
  private final String view;
  private final String viewPrefix;
  private final String storePath;
  private final long segmentSize;
  private final FanotifyGroup group;
  private final ContentMarks marks;
  private final OpenStub.DigestsOf digests;
  /** Same-thread removal: an evicted stub persists its map before anyone can open the file anew. */
  private final Cache<Long, OpenStub> cache = cache((Long ino, OpenStub stub, RemovalCause cause) -> closeQuietly(stub));
  private final ConcurrentLinkedQueue<OpenStub> completed = new ConcurrentLinkedQueue<>();
  /** Set when the store has bounds: a file being evicted is opened only once its eviction is over. */
  private volatile CacheRoom room;

  OpenStubs(StubTree tree, Path view, long segmentSize, FanotifyGroup group, ContentMarks marks,
      OpenStub.DigestsOf digests) throws IOException {
    this.tree = tree;
    this.view = view.toString();
    this.viewPrefix = this.view.equals("/") ? "/" : this.view + "/";
    this.storePath = tree.path().toRealPath().toString();
    this.segmentSize = segmentSize;
    this.group = group;
    this.marks = marks;
    this.digests = digests;
  }

  /** A tree index's digests (null: none), for files whose metadata has the index's nanosecond times. */
  static OpenStub.DigestsOf digestsOf(IndexDigests index) {
    return index == null ? OpenStub.DigestsOf.NONE : (path, meta) -> meta.mtimePrecision() == TimePrecision.NANOS
        ? index.lookup(path, meta.size(), meta.mtime()) : Optional.empty();
  }

  /** The cache of open stubs by inode (also built once by {@link WarmUp}, which loads its classes early). */
  static <V> Cache<Long, V> cache(RemovalListener<Long, V> onRemoval) {
    return Caffeine.newBuilder().maximumSize(4096).executor(Runnable::run).removalListener(onRemoval).build();
  }

  /**
   * The stub an event is about, or null if the event's file is not one of lazydir's stubs at its place in this
   * tree (then it is never written). Identity is checked: the store file must be the event's inode ({@code st},
   * the event fd's statx).
   */
  OpenStub of(int eventFd, Stat st) throws IOException {
    if (st.dev() != tree.device() || !st.isRegularFile()) {
      return null;
    }
    CacheRoom r = room;
    if (r != null) {
      r.awaitNotEvicting(st.ino());
    }
    OpenStub cached = cache.getIfPresent(st.ino());
    if (cached != null) {
      return cached;
    }
    TreePath path = pathOf(eventFd);
    if (path == null || path.isRoot()) {
      return null;
    }
    OpenStub stub;
    for (int attempt = 1; ; attempt++) {
      try {
        stub = OpenStub.open(tree, path, segmentSize, digests);
        break;
      } catch (OpenStub.NotAStubException e) {
        return null;
      } catch (ErrnoException e) {
        if (e.errno() == Errno.ENOENT || e.errno() == Errno.ELOOP || e.errno() == Errno.ENOTDIR) {
          return null;
        }
        if (e.errno() != Errno.EAGAIN || r == null || attempt == 3) {
          throw e;
        }
        // The file is under an eviction's lease (our O_NONBLOCK open would wait for it): once it is over, again.
        r.awaitNotEvicting(st.ino());
        Thread.onSpinWait();
      }
    }
    if (stub.ino != st.ino() || stub.dev != st.dev()) {
      closeQuietly(stub);
      return null;
    }
    return cached(stub);
  }

  void bounded(CacheRoom room) {
    this.room = room;
  }

  /**
   * Lets the cached stub of {@code ino} go (its map recorded) before its file is evicted; false if fetches are
   * writing through it (the file is in use). Nothing cached: true.
   */
  boolean letGo(long ino) {
    OpenStub stub = cache.getIfPresent(ino);
    if (stub == null) {
      return true;
    }
    if (stub.writing() || !stub.inflight.isEmpty()) {
      return false;
    }
    if (cache.asMap().remove(ino, stub)) {
      closeQuietly(stub);
    }
    return true;
  }

  /** The stub of {@code parent/name}, opened and cached if it is not open yet (prefetch). */
  OpenStub open(TreePath parent, String name) throws IOException {
    return cached(OpenStub.open(tree, parent.child(name), segmentSize, digests));
  }

  /** Puts a freshly opened stub in the cache, or returns (and closes the fresh one) if another got there first. */
  private OpenStub cached(OpenStub fresh) {
    OpenStub raced = cache.asMap().putIfAbsent(fresh.ino, fresh);
    if (raced != null) {
      closeQuietly(fresh);
      return raced;
    }
    return fresh;
  }

  /**
   * Path in the tree of the file an event fd was opened for, reached through DIR or (a process reading the store
   * directly) through the store's tree; null if it is neither. A file opened through a previous daemon's view,
   * detached since (its group was taken over), shows its path from that mount's root, i.e. from the tree's: it is
   * tried as such. Callers check the inode, so a wrong guess finds nothing.
   */
  TreePath pathOf(int eventFd) throws IOException {
    String path = Posix.readlink("/proc/self/fd/" + eventFd);
    if (path.equals(view) || path.equals(storePath)) {
      return TreePath.root();
    }
    String prefix = path.startsWith(viewPrefix) ? viewPrefix : path.startsWith(storePath + "/") ? storePath + "/"
        : path.startsWith("/") ? "/" : null;
    if (prefix == null || path.endsWith(" (deleted)")) {
      return null;
    }
    List<String> parts = Arrays.asList(path.substring(prefix.length()).split("/"));
    for (String p : parts) {
      if (p.isEmpty() || p.equals(".") || p.equals("..")) {
        return null;
      }
    }
    return TreePath.of(parts);
  }

  /**
   * A file just became complete: reads go native at once (its content mark removed, an open ignore mark set);
   * its map is recorded by the next once-a-second pass, which then lets it leave the cache. The daemon's
   * read-write fd is closed first: the kernel silently skips an ignore mark on an inode open for writing.
   */
  void completed(OpenStub stub) {
    try {
      stub.dropWriteAccess();
      goNative(stub);
    } catch (IOException e) {
      LOG.fine(stub.label + ": " + e.getMessage());
    }
    completed.add(stub);
  }

  /** A complete file opened again (e.g. after a restart): it leaves the cache and reads natively. */
  void openedComplete(OpenStub stub) {
    if (retire(stub, true)) {
      LOG.fine(() -> stub.label + ": complete; reads go native");
    }
  }

  /** No content mark (reads from the next open on are plain reads) and no open events for the file. */
  private void goNative(OpenStub stub) {
    try {
      marks.release(stub.fd);
      group.ignoreInode(stub.fd, null, Fan.FAN_OPEN_PERM, false);
    } catch (IOException e) {
      LOG.fine("marks of " + stub.label + ": " + e.getMessage());
    }
  }

  /**
   * Records a complete stub's map, then lets it leave the cache (with {@code goNative}, its marks dropped first:
   * through its descriptor, which leaving closes); false if its map could not be recorded.
   */
  private boolean retire(OpenStub stub, boolean goNative) {
    try {
      stub.persist(); // before leaving the cache: a stub opened anew must find the full map on disk
    } catch (IOException e) {
      LOG.warning(stub.label + ": could not record fetched segments: " + e.getMessage());
      return false;
    }
    if (goNative) {
      goNative(stub);
    }
    cache.asMap().remove(stub.ino, stub);
    closeQuietly(stub);
    return true;
  }

  /**
   * A new listing may have reset files that changed at the origin (replaced by new stubs): cached stubs of that
   * directory must not go on believing their old maps. Fetches still writing keep theirs open until they end.
   */
  void forgetIn(String dir) {
    String prefix = dir.isEmpty() ? "" : dir + "/";
    for (OpenStub stub : cache.asMap().values()) {
      String label = stub.label;
      if (label.startsWith(prefix) && label.indexOf('/', prefix.length()) < 0) {
        if (cache.asMap().remove(stub.ino, stub)) {
          closeQuietly(stub);
        }
      }
    }
  }

  /**
   * One syncfs for every file that got segments, then their maps; then completed files leave the cache. A build
   * touching thousands of small files pays one sync a second, not one per file.
   */
  void record() {
    try {
      List<OpenStub> dirty = new ArrayList<>();
      List<StubSegments.Snapshot> snapshots = new ArrayList<>();
      for (OpenStub stub : cache.asMap().values()) {
        StubSegments.Snapshot snap = stub.snapshot();
        if (snap != null) {
          dirty.add(stub);
          snapshots.add(snap);
        }
      }
      if (!dirty.isEmpty()) {
        tree.root().syncFilesystem();
        for (int i = 0; i < dirty.size(); i++) {
          dirty.get(i).record(snapshots.get(i));
        }
      }
      for (OpenStub done; (done = completed.poll()) != null; ) {
        retire(done, false); // its ignore marks were set when it completed
      }
    } catch (IOException | RuntimeException e) {
      LOG.warning("could not record fetched segments: " + e.getMessage());
    }
  }

  /** Closes every stub, each persisting what it has not recorded yet. */
  void closeAll() {
    cache.invalidateAll();
    cache.cleanUp();
  }

  static void closeQuietly(AutoCloseable c) {
    try {
      if (c != null) {
        c.close();
      }
    } catch (Exception e) {
      LOG.fine("close: " + e.getMessage());
    }
  }
}
