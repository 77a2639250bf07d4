package dev.lazydir.serve;

import dev.lazydir.fanotify.Fan;
import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Stat;
import dev.lazydir.tree.StubTree;
import dev.lazydir.tree.TreePath;
import dev.lazydir.tree.TreeWalk;
import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Logger;

/**
 * Keeps the store within its {@link CacheLimits}, continuously: before a stub takes disk (its preallocation at open,
 * or a fetch into a stub that has none), the room it needs is made by evicting least recently used files first
 * ({@link CachePolicy}, {@link Eviction}); if every other file is open or pinned, the open fails with ENOSPC rather
 * than overshoot. Usage is a counter: one walk at start (with the content marks' walk), then charges as stubs are
 * preallocated or filled and discharges as files are evicted. Recency comes from FAN_OPEN notifications of the
 * view's mount mark (every open through DIR, complete files included; nobody waits for them), and from fills.
 * Expired files (--cache-max-age) and a low free space (--min-free-space, another process filling the disk) are
 * also dealt with once a second.
 */
final class CacheRoom {
  private static final Logger LOG = Logger.getLogger(CacheRoom.class.getName());
  private static final long BLOCK = 4096;

  private final CacheLimits limits;
  private final StubTree tree;
  private final CachePolicy policy;
  private final Eviction eviction;
  private final OpenStubs stubs;
  private final FileStore store;
  private final Clock clock;
  private long recordedChanges = -1;
  private final Set<Long> evicting = new HashSet<>();
  final AtomicLong evictions = new AtomicLong();
  final AtomicLong evictedBytes = new AtomicLong();
  /** Opens of files through DIR (FAN_OPEN notifications of regular files). */
  final AtomicLong opens = new AtomicLong();
  /** Opens that found the file incomplete (its bytes are fetched as it is read). */
  final AtomicLong fetchingOpens = new AtomicLong();

  CacheRoom(CacheLimits limits, StubTree tree, Eviction eviction, OpenStubs stubs, Clock clock) throws IOException {
    this.limits = limits;
    this.tree = tree;
    this.policy = new CachePolicy(clock);
    this.clock = clock;
    this.eviction = eviction;
    this.stubs = stubs;
    this.store = Files.getFileStore(tree.path());
  }

  CacheLimits limits() {
    return limits;
  }

  /** Bytes of disk the store's files take, as counted. */
  long used() {
    return policy.total();
  }

  /**
   * The start-up walk's view of each file, for the counter (shared with the content marks' walk); with a bound, a
   * file's last use is what the previous daemon recorded ({@link Recency}), not the start's time.
   */
  TreeWalk.Visitor counter(Path run) {
    Map<Long, Long> recorded = limits.any() ? Recency.read(run, clock.millis()) : Map.of();
    return new TreeWalk.Visitor() {
      @Override
      public void file(Fd parent, TreePath dir, String name, Stat st) {
        if (st.allocatedBytes() > 0) {
          policy.charge(st.ino(), dir.child(name), st.allocatedBytes());
          Long used = recorded.get(st.ino());
          if (used != null) {
            policy.usedAt(st.ino(), used);
          }
        }
      }
    };
  }

  /** Records when each file was last used, if anything changed since the last record (see {@link Recency}). */
  void recordRecency(Path run) {
    long changes = policy.changes();
    if (!limits.any() || changes == recordedChanges) {
      return;
    }
    try {
      Recency.write(run, policy.lastUses());
      recordedChanges = changes;
    } catch (IOException e) {
      LOG.warning("could not record when files were last used in " + run + ": " + e.getMessage());
    }
  }

  /** The walk is over. */
  void counted() {
    LOG.fine(() -> "store holds " + CacheLimits.human(policy.total()) + " in " + policy.files() + " files");
  }

  /** FAN_OPEN through DIR: the file was used now. */
  void opened(int eventFd) {
    try {
      Stat st = Fd.statOf(eventFd);
      if (st.isRegularFile() && st.dev() == tree.device()) {
        opens.incrementAndGet();
        policy.touch(st.ino());
      }
    } catch (IOException e) {
      LOG.fine("open notice: " + e.getMessage());
    }
  }

  /**
   * Makes room for {@code stub} to take {@code need} more bytes of disk, evicting others if a bound would be
   * crossed, and reserves them; a Denied ENOSPC if that cannot be done (a file larger than the cap, or every other
   * file open or pinned).
   */
  synchronized void makeRoom(OpenStub stub, long need) throws IOException {
    TreePath path = TreePath.parse(stub.label);
    if (need <= 0) {
      policy.touch(stub.ino);
      return;
    }
    long size = (stub.mapView().fileSize() + BLOCK - 1) / BLOCK * BLOCK;
    if (limits.maxSize() > 0 && size > limits.maxSize()) {
      throw new Denied(Fan.ENOSPC, stub.label + ": " + CacheLimits.human(size) + " is larger than the whole cache"
          + " (--cache-max-size " + CacheLimits.human(limits.maxSize()) + "); serve with a larger --cache-max-size to read it");
    }
    long over = overBy(need);
    if (over > 0) {
      over -= evictLeastRecent(over, stub.ino);
    }
    if (over > 0) {
      String bound = limits.maxSize() > 0 && policy.total() + need > limits.maxSize()
          ? "--cache-max-size " + CacheLimits.human(limits.maxSize()) : "--min-free-space " + CacheLimits.human(limits.minFree());
      throw new Denied(Fan.ENOSPC, stub.label + ": the store is at its bound (" + bound + ") and every other file in"
          + " it is open or pinned; close or unpin files, or raise " + bound.substring(0, bound.indexOf(' ')));
    }
    policy.add(stub.ino, path, need);
    policy.touch(stub.ino);
  }

  /** Bytes that must be freed before {@code need} more fit within every bound. */
  private long overBy(long need) throws IOException {
    long over = 0;
    if (limits.maxSize() > 0) {
      over = policy.total() + need - limits.maxSize();
    }
    if (limits.minFree() > 0) {
      over = Math.max(over, limits.minFree() - (store.getUsableSpace() - need));
    }
    return over;
  }

  /** What the stub now takes on disk (after its preallocation, a fetch, or a failed one). */
  void charged(OpenStub stub) {
    try {
      Fd fd = stub.fd;
      policy.charge(stub.ino, TreePath.parse(stub.label), fd.stat().allocatedBytes());
    } catch (IOException e) {
      LOG.fine(stub.label + ": " + e.getMessage());
    }
  }

  /** Evicts least recently used files until {@code need} bytes are freed; returns the bytes freed. */
  private long evictLeastRecent(long need, long except) {
    long freed = 0;
    for (CachePolicy.Entry e : policy.victims(need, except)) {
      freed += evict(e);
      if (freed >= need) {
        break;
      }
    }
    if (freed < need && limits.minFree() > 0) {
      // Another process may be taking the space: ask the filesystem, not only the counter.
      LOG.fine(() -> "freed less than needed");
    }
    return freed;
  }

  /** One eviction attempt; returns the bytes it freed. */
  private long evict(CachePolicy.Entry e) {
    Eviction.Outcome outcome;
    long before = e.bytes;
    synchronized (evicting) {
      evicting.add(e.ino);
    }
    try {
      if (!stubs.letGo(e.ino)) {
        return 0; // fetches are writing it: in use
      }
      try (Fd dir = tree.openDir(e.path.parent())) {
        outcome = eviction.evict(dir, e.path.name(), e.ino);
      }
    } catch (IOException ex) {
      LOG.warning(e.path.printable() + ": could not evict: " + ex.getMessage());
      return 0;
    } finally {
      synchronized (evicting) {
        evicting.remove(e.ino);
        evicting.notifyAll();
      }
    }
    switch (outcome) {
      case EVICTED -> {
        policy.charge(e.ino, e.path, 0);
        evictions.incrementAndGet();
        evictedBytes.addAndGet(before);
        LOG.fine(() -> "evicted " + e);
        return before;
      }
      case GONE -> {
        policy.charge(e.ino, e.path, 0); // replaced or removed: its blocks went with it
        return before;
      }
      case PINNED -> policy.pin(e.ino, true);
      case IN_USE -> policy.touch(e.ino); // in use is recent use: try others first next time
    }
    return 0;
  }

  /** Waits while the file {@code ino} is being evicted (its lease held): then it is opened anew. */
  void awaitNotEvicting(long ino) {
    synchronized (evicting) {
      long deadline = System.nanoTime() + 30_000_000_000L;
      while (evicting.contains(ino) && System.nanoTime() < deadline) {
        try {
          evicting.wait(100);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }

  /** Once a second: files unused for longer than --cache-max-age go, and so do LRU files while free space is low. */
  synchronized void sweep() {
    try {
      if (limits.maxAge() != null) {
        for (CachePolicy.Entry e : policy.unusedFor(limits.maxAge())) {
          evict(e);
        }
      }
      if (limits.minFree() > 0) {
        long short_ = limits.minFree() - store.getUsableSpace();
        if (short_ > 0) {
          evictLeastRecent(short_, 0);
        }
      }
    } catch (IOException | RuntimeException e) {
      LOG.warning("cache sweep: " + e.getMessage());
    }
  }

  /** {@code lazydir evict}: drops the bytes of a file, or of every file below a directory, now. */
  String evictNow(TreePath path) throws IOException {
    long[] counts = new long[3];
    forEachFile(path, (dir, name, st, rel) -> {
      long before = policy.bytesOf(st.ino());
      CachePolicy.Entry e = new CachePolicy.Entry(st.ino(), rel);
      e.bytes = Math.max(before, st.allocatedBytes());
      if (st.allocatedBytes() == 0) {
        return; // nothing of it is on disk
      }
      long freed = evictEntry(e);
      if (freed > 0) {
        counts[0]++;
        counts[1] += freed;
      } else {
        counts[2]++;
      }
    });
    return "evicted " + counts[0] + " files (" + CacheLimits.human(counts[1]) + ")"
        + (counts[2] > 0 ? "; " + counts[2] + " kept: open or pinned" : "");
  }

  private synchronized long evictEntry(CachePolicy.Entry e) {
    return evict(e);
  }

  /** {@code lazydir pin / unpin}. */
  String pinNow(TreePath path, boolean pinned) throws IOException {
    long[] n = {0};
    forEachFile(path, (dir, name, st, rel) -> {
      if (eviction.pin(dir, name, pinned)) {
        policy.pin(st.ino(), pinned);
        n[0]++;
      }
    });
    return (pinned ? "pinned " : "unpinned ") + n[0] + " files";
  }

  private interface FileAction {
    void on(Fd dir, String name, Stat st, TreePath path) throws IOException;
  }

  /** The file at {@code path}, or every file below it if it is a directory (through the private clone). */
  private void forEachFile(TreePath path, FileAction action) throws IOException {
    if (!path.isRoot()) {
      try (Fd parent = tree.openDir(path.parent())) {
        String name = path.name();
        Stat st = parent.statAt(name).orElseThrow(() -> new IOException(path + ": no such file in the view"));
        if (st.isRegularFile()) {
          action.on(parent, name, st, path);
          return;
        }
        if (!st.isDirectory()) {
          throw new IOException(path + " is neither a file nor a directory");
        }
      }
    }
    try (Fd top = tree.openDir(path)) {
      TreeWalk.walk(top, new TreeWalk.Visitor() {
        @Override
        public void file(Fd parent, TreePath dir, String name, Stat st) throws IOException {
          action.on(parent, name, st, path.resolve(dir).child(name));
        }
      });
    }
  }
}
