package dev.lazydir.serve;

import dev.lazydir.index.IndexDigests;
import dev.lazydir.internal.posix.Errno;
import dev.lazydir.internal.posix.ErrnoException;
import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Posix;
import dev.lazydir.internal.posix.Stat;
import dev.lazydir.origin.FileVersion;
import dev.lazydir.tree.EntryMeta;
import dev.lazydir.tree.EntryMeta.FileMeta;
import dev.lazydir.tree.StubTree;
import dev.lazydir.tree.TreeChanges;
import dev.lazydir.tree.TreeException;
import java.io.IOException;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import okhttp3.HttpUrl;

/**
 * A file stub the daemon is serving: its fd on the private store path (I/O through it sends no fanotify
 * event), its metadata and URL, which segments are present, and the fetches in flight (one per segment, shared
 * by every reader waiting for it).
 */
final class OpenStub implements AutoCloseable {
  volatile Fd fd;
  private volatile FileMeta meta;
  final HttpUrl url;
  final String label;
  final long dev;
  final long ino;
  final ConcurrentHashMap<Integer, ContentFiller.SegmentFetch> inflight = new ConcurrentHashMap<>();
  /**
   * How far from its start a segment not yet present is written, by fetches that ended (failed, or abandoned
   * by a reader that gave up) before completing it: the next fetch of it resumes there.
   */
  final ConcurrentHashMap<Integer, Long> partial = new ConcurrentHashMap<>();
  /** The origin version every segment of this fill must come from (checked on every answer). */
  final FileVersion version;
  /**
   * The block digests the tree index gives this version of the file, or null (not from an index): then every
   * fetched block is checked against them before it is written, and segments are whole blocks.
   */
  final IndexDigests.FileDigests digests;
  private final SegmentMap map;
  /** Last segment a reader asked for, to recognise sequential reads and read ahead. */
  volatile int lastSegment = -2;
  /** The read-ahead streams of a sequential reader, made at its first sequential read. */
  private volatile StreamWindow window;
  private final Object persistLock = new Object();
  private int unpersisted;
  private boolean closed;
  /** Fetches writing through {@link #fd}: a close asked for meanwhile waits for the last of them. */
  private int writers;
  private boolean closing;
  private boolean completionSeen;
  /** Told when a recorded map changes what the file counts as (see TreeCounts); what it was last told. */
  private TreeChanges changes = TreeChanges.NONE;
  private FileMeta countedMeta;
  private Optional<byte[]> countedMap = Optional.empty();
  /** Every block of the file is allocated (preallocated at open): fetches into it take no more disk. */
  volatile boolean allocated;

  private OpenStub(Fd fd, FileMeta meta, HttpUrl url, SegmentMap map, String label, Stat st,
      IndexDigests.FileDigests digests) {
    this.fd = fd;
    this.meta = meta;
    this.url = url;
    this.map = map;
    this.label = label;
    this.dev = st.dev();
    this.ino = st.ino();
    this.digests = digests;
    // Bytes pinned by digests need no validators: an answer the digests refuse must not bind its refetch.
    this.version = digests != null ? FileVersion.pinnedByDigests(meta.size()) : versionOf(meta);
  }

  /** The version the metadata names: a hashed ETag ("#...") cannot be compared, a minute-precise time neither. */
  static FileVersion versionOf(FileMeta meta) {
    String etag = meta.etag() != null && !meta.etag().startsWith("#") ? meta.etag() : null;
    return new FileVersion(meta.size(), etag,
        meta.mtimePrecision() == EntryMeta.TimePrecision.SECONDS ? meta.mtime() : null);
  }

  /**
   * Opens {@code parent/name} of the tree for filling. Refuses anything that is not one of lazydir's file
   * stubs (no metadata, not a regular file, size not the recorded one): the daemon never writes elsewhere.
   */
  /** Where a stub's bytes come from, given its metadata (read once, by {@link #open}). */
  @FunctionalInterface
  public interface UrlOf {
    HttpUrl of(FileMeta meta) throws IOException;
  }

  /** The stub was closed (a re-listing or the cache let it go) before a fetch could hold it: open it anew. */
  public static final class ClosedException extends IOException {
    ClosedException(String label) {
      super(label + ": closed while a reader waited; opened again");
    }
  }

  /** The file is not one of lazydir's stubs in this tree: the daemon lets its events through untouched. */
  public static final class NotAStubException extends IOException {
    NotAStubException(String message) {
      super(message);
    }
  }

  /** The digests of a file of the tree (its path, as {@link #label}), for the version its metadata names. */
  @FunctionalInterface
  public interface DigestsOf {
    Optional<IndexDigests.FileDigests> of(String path, FileMeta meta) throws IOException;

    DigestsOf NONE = (path, meta) -> Optional.empty();
  }

  /** Blocks larger than this are not verified: each fetch holds one block in memory until it is checked. */
  static final int MAX_VERIFIED_BLOCK = 16 << 20;

  public static OpenStub open(StubTree tree, List<String> parent, String name, UrlOf urlOf, long segmentSize)
      throws IOException {
    return open(tree, parent, name, urlOf, segmentSize, DigestsOf.NONE);
  }

  /**
   * As above; a file that {@code digestsOf} has digests for (one from a tree index) is filled in segments of whole
   * blocks (the segment size rounded up to a multiple of the index's block), and a map recorded with segments that
   * are not whole blocks is not trusted (its bytes are fetched again, verified). A complete file is not looked up.
   */
  public static OpenStub open(StubTree tree, List<String> parent, String name, UrlOf urlOf, long segmentSize,
      DigestsOf digestsOf) throws IOException {
    try (Fd dir = tree.openDir(parent)) {
      // Read-only first: a complete file needs no writes, and a write fd on it would make exec of it (or its
      // being open for exec) fail with ETXTBSY. Only a file with bytes to fill is reopened for writing.
      Fd fd = dir.openAt(name, Posix.O_RDONLY | Posix.O_NOFOLLOW | Posix.O_NONBLOCK, 0);
      try {
        Stat st = fd.stat();
        String label = String.join("/", parent) + (parent.isEmpty() ? "" : "/") + name;
        if (!st.isRegularFile() || st.dev() != tree.device()) {
          throw new NotAStubException(label + " is not a regular file of the tree");
        }
        if (!(StubTree.metaOf(fd).orElse(null) instanceof FileMeta meta)) {
          throw new NotAStubException(label + " is not a lazydir file");
        }
        if (st.size() != meta.size()) {
          throw new TreeException(label + " has size " + st.size() + " but lazydir recorded " + meta.size()
              + "; run crawl to repair it");
        }
        Optional<SegmentMap> recorded = recorded(fd, meta, segmentSize);
        IndexDigests.FileDigests digests = null;
        long segment = segmentSize;
        if (meta.size() > 0 && !recorded.map(SegmentMap::isComplete).orElse(false)) {
          digests = digestsOf.of(label, meta).orElse(null);
        }
        if (digests != null) {
          long block = digests.blockSize();
          if (block > MAX_VERIFIED_BLOCK) {
            throw new TreeException(label + ": the tree index's blocks of " + (block >> 20) + " MiB are larger than"
                + " lazydir verifies (" + (MAX_VERIFIED_BLOCK >> 20) + " MiB); publish an index with a smaller"
                + " --block-size");
          }
          segment = (Math.max(segmentSize, block) + block - 1) / block * block;
          recorded = recorded.filter(m -> m.segmentSize() % block == 0);
        }
        long filled = segment;
        SegmentMap map = recorded.orElseGet(() -> SegmentMap.empty(meta.size(), filled, SegmentMap.tagOf(meta)));
        if (!map.isComplete()) {
          Fd rw = dir.openAt(name, Posix.O_RDWR | Posix.O_NOFOLLOW | Posix.O_NONBLOCK, 0);
          if (rw.stat().ino() != st.ino()) {
            rw.close();
            throw new TreeException(label + " was replaced while being opened");
          }
          fd.close();
          fd = rw;
        }
        OpenStub stub = new OpenStub(fd, meta, urlOf.of(meta), map, label, st, digests);
        stub.changes = tree.changes();
        stub.countedMeta = meta;
        stub.countedMap = meta.complete() ? Optional.empty() : fd.getXattr(EntryMeta.MAP_XATTR);
        return stub;
      } catch (IOException | RuntimeException e) {
        fd.close();
        throw e;
      }
    }
  }

  FileMeta meta() {
    return meta;
  }

  /** The stub's read-ahead window, made by {@code make} at the first call. */
  StreamWindow window(java.util.function.Supplier<StreamWindow> make) {
    StreamWindow w = window;
    if (w == null) {
      synchronized (this) {
        if (window == null) {
          window = make.get();
        }
        w = window;
      }
    }
    return w;
  }

  /** The read-ahead window, if a sequential reader made one. */
  Optional<StreamWindow> window() {
    return Optional.ofNullable(window);
  }

  /** What is recorded on disk about the bytes of the file fd is open on (see SegmentMap#recorded). */
  static java.util.Optional<SegmentMap> recorded(Fd fd, FileMeta meta, long segmentSize) throws IOException {
    return SegmentMap.recorded(meta, meta.complete() ? java.util.Optional.empty() : fd.getXattr(EntryMeta.MAP_XATTR),
        segmentSize);
  }

  /** Whether what is recorded vouches for every byte of the version its metadata names. */
  static boolean holdsAllBytes(Fd fd, FileMeta meta) throws IOException {
    return meta.size() == 0 || recorded(fd, meta, meta.size()).map(SegmentMap::isComplete).orElse(false);
  }

  /**
   * A listing gave the mtime to the minute; the origin's Last-Modified, when it falls in that minute, gives
   * the second. Recorded so `ls -l` and re-crawls see the precise time.
   */
  synchronized void refineMtime(java.time.Instant lastModified) throws IOException {
    if (lastModified == null || meta.mtimePrecision() != EntryMeta.TimePrecision.MINUTES || meta.mtime() == null
        || !lastModified.truncatedTo(java.time.temporal.ChronoUnit.MINUTES).equals(meta.mtime())) {
      return;
    }
    meta = new FileMeta(meta.size(), lastModified, EntryMeta.TimePrecision.SECONDS, meta.etag(), meta.listedName(),
        meta.complete());
    fd.setXattr(EntryMeta.XATTR, meta.encode());
    fd.setMtime(lastModified);
  }

  public synchronized boolean isComplete() {
    return map.isComplete();
  }

  /**
   * True for exactly one caller once every segment is recorded: fetches finishing together (or a whole-file
   * stream recording other segments) would otherwise each see the file complete.
   */
  synchronized boolean completedNow() {
    if (!map.isComplete() || completionSeen) {
      return false;
    }
    completionSeen = true;
    return true;
  }

  synchronized boolean has(int segment) {
    return map.has(segment);
  }

  synchronized SegmentMap mapView() {
    return map;
  }

  /** Records a segment whose bytes were written and synced; the map on disk follows. */
  /**
   * Records a segment whose bytes were written: readers may use it at once. The map on disk follows in batches
   * ({@link #persist}, called by the daemon every second and on close), each after an fdatasync, so it never
   * names a segment whose bytes a crash could lose, and neither fetches nor readers ever wait for a sync.
   */
  synchronized void markPresent(int segment) throws IOException {
    map.mark(segment);
    unpersisted++;
    FileMeta m = meta;
    if (m.mtime() != null) {
      fd.setMtime(m.mtime()); // writing moved st_mtime; the view shows the origin's
    }
  }

  /** The map as it is now, with how many segments it records that are not on disk yet; null if nothing is new. */
  synchronized Snapshot snapshot() {
    return unpersisted == 0 || closed ? null : new Snapshot(map.encode(), unpersisted, map.isComplete());
  }

  /** A map taken before a sync, to be recorded once the sync has covered every write it names. */
  record Snapshot(byte[] map, int segments, boolean complete) {}

  /** Records a snapshot after a sync (of this file or of its whole filesystem) that came after it. */
  void record(Snapshot snapshot) throws IOException {
    synchronized (persistLock) {
      synchronized (this) {
        if (closed) {
          return;
        }
      }
      Optional<byte[]> mapNow;
      if (snapshot.complete()) {
        // All there: the metadata says so (it fits inside the inode) and the map, which takes a block of its
        // own on ext4, goes. In this order, a crash in between leaves both saying complete.
        FileMeta done = meta.asComplete();
        fd.setXattr(EntryMeta.XATTR, done.encode());
        meta = done;
        fd.removeXattr(EntryMeta.MAP_XATTR);
        mapNow = Optional.empty();
      } else {
        fd.setXattr(EntryMeta.MAP_XATTR, snapshot.map()); // (mtime: restored by markPresent after each segment)
        mapNow = Optional.of(snapshot.map());
      }
      // A file a listing removed or replaced meanwhile left the counts with what its map said then.
      if (changes != TreeChanges.NONE && fd.linkCount() > 0) {
        changes.fileChanged(countedMeta, countedMap, meta, mapNow);
      }
      countedMeta = meta;
      countedMap = mapNow;
      synchronized (this) {
        unpersisted = Math.max(0, unpersisted - snapshot.segments());
      }
    }
  }

  /**
   * Syncs the file's data, then writes the map of every segment marked before the sync. The stub's lock is held
   * only to take the snapshot: readers and fetches go on during the sync.
   */
  void persist() throws IOException {
    synchronized (persistLock) {
      Snapshot snapshot = snapshot();
      if (snapshot == null) {
        return;
      }
      fd.dataSync();
      record(snapshot);
    }
  }

  public synchronized long presentBytes() {
    return map.presentBytes();
  }

  /**
   * A complete file needs no more writes: its read-write fd is swapped for a read-only one (reopened through
   * /proc/self/fd, on the store path, which sends no event), so ignore marks can be set at once: the kernel
   * refuses them on an inode open for writing. xattrs and syncs keep working through the read-only fd.
   */
  void dropWriteAccess() throws IOException {
    synchronized (persistLock) {
      synchronized (this) {
        if (closed) {
          return;
        }
      }
      Fd ro = Posix.open("/proc/self/fd/" + fd.intValue(), Posix.O_RDONLY | Posix.O_NONBLOCK);
      if (ro.stat().ino() != ino || ro.stat().dev() != dev) {
        ro.close();
        throw new TreeException(label + ": reopened file is not the same inode");
      }
      Fd rw = fd;
      fd = ro;
      rw.close();
    }
  }

  /**
   * Gives a stub with bytes to fetch its disk blocks, so copiers read it instead of skipping it as sparse. False
   * if the disk is full: then the blocks the failed preallocation took are given back, except under a segment
   * being written (a fetch starts writing only after {@link #holdForWriting}, which waits for this lock). Under
   * the persist lock, so the descriptor is not swapped ({@link #dropWriteAccess}) or closed meanwhile.
   *
   * @throws ClosedException if the stub was closed (look it up again)
   */
  boolean preallocate() throws IOException {
    synchronized (persistLock) {
      synchronized (this) {
        if (closed) {
          throw new ClosedException(label);
        }
        if (map.isComplete()) {
          return true;
        }
        Stat st = fd.stat();
        if (st.allocatedBytes() >= st.size()) {
          allocated = true;
          return true;
        }
        try {
          fd.allocate(0, st.size());
          allocated = true;
          return true;
        } catch (ErrnoException e) {
          if (e.errno() != Errno.ENOSPC) {
            throw e;
          }
        }
        if (writers == 0) {
          for (int c = 0; c < map.segmentCount(); c++) {
            if (!map.has(c)) {
              fd.punchHole(map.segmentStart(c), map.segmentLength(c));
            }
          }
        }
        return false;
      }
    }
  }

  /** Bytes of disk a preallocation of the whole file would add now (0 if it has its blocks or is complete). */
  synchronized long unallocatedBytes() throws IOException {
    if (closed || map.isComplete() || allocated) {
      return 0;
    }
    Stat st = fd.stat();
    return Math.max(0, (st.size() + 4095) / 4096 * 4096 - st.allocatedBytes());
  }

  /**
   * Holds the stub open for a fetch that writes through it; false if it is closed or closing. Every true must
   * be matched by {@link #releaseWriter}.
   */
  synchronized boolean holdForWriting() {
    if (closed || closing) {
      return false;
    }
    writers++;
    return true;
  }

  /** Whether a fetch still holds the stub for writing (a close now would wait for it). */
  synchronized boolean writing() {
    return writers > 0;
  }

  /** Ends a fetch's hold; the last one closes the stub if a close was asked for meanwhile. */
  void releaseWriter() throws IOException {
    synchronized (this) {
      if (--writers > 0 || !closing) {
        return;
      }
    }
    closeNow();
  }

  /**
   * Persists what is not yet recorded, then closes; while fetches still write through the stub, the close
   * happens when the last of them ends, so a write never goes to a descriptor closed under it.
   */
  @Override
  public void close() throws IOException {
    synchronized (this) {
      if (closing) {
        return;
      }
      closing = true;
      if (writers > 0) {
        return;
      }
    }
    closeNow();
  }

  private void closeNow() throws IOException {
    synchronized (persistLock) {
      try {
        persist();
      } finally {
        synchronized (this) {
          closed = true;
        }
        fd.close();
      }
    }
  }
}
