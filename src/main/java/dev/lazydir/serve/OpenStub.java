package dev.lazydir.serve;

import dev.lazydir.crawl.TreeUrls;
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
import dev.lazydir.tree.TreeException;
import dev.lazydir.tree.TreePath;
import java.io.IOException;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import okhttp3.HttpUrl;

/**
 * A file stub the daemon is serving: who it is (device, inode, its place in the tree, its URL and the origin
 * version every byte must come from), its fd on the private store path (I/O through it sends no fanotify event)
 * and that fd's life (held open by the fetches writing through it, made read-only once complete, given its blocks
 * at open), and the fetches in flight (one per segment, shared by every reader waiting for it). Opening checks
 * that the file is one of lazydir's stubs in this tree: the daemon never writes anything else. What is present
 * and its record on disk are {@link StubSegments}'.
 */
final class OpenStub implements AutoCloseable {
  volatile Fd fd;
  final HttpUrl url;
  final String label;
  final long dev;
  final long ino;
  final ConcurrentHashMap<Integer, SegmentFetch> inflight = new ConcurrentHashMap<>();
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
  private final StubSegments segments;
  /** Last segment a reader asked for, to recognise sequential reads and read ahead. */
  volatile int lastSegment = -2;
  /** The read-ahead streams of a sequential reader, made at its first sequential read. */
  private volatile StreamWindow window;
  /** Held while the descriptor is synced, recorded through, swapped or closed. */
  private final Object persistLock = new Object();
  private volatile boolean closed;
  /** Fetches writing through {@link #fd}: a close asked for meanwhile waits for the last of them. */
  private int writers;
  private boolean closing;
  /** Every block of the file is allocated (preallocated at open): fetches into it take no more disk. */
  volatile boolean allocated;

  private OpenStub(Fd fd, FileMeta meta, HttpUrl url, StubSegments segments, String label, Stat st,
      IndexDigests.FileDigests digests) {
    this.fd = fd;
    this.url = url;
    this.segments = segments;
    this.label = label;
    this.dev = st.dev();
    this.ino = st.ino();
    this.digests = digests;
    // Bytes pinned by digests need no validators: an answer the digests refuse must not bind its refetch.
    this.version = digests != null ? FileVersion.pinnedByDigests(meta.size()) : versionOf(meta);
  }

  /** The version the metadata names: a hashed ETag ("#...") cannot be compared, a minute-precise time neither. */
  private static FileVersion versionOf(FileMeta meta) {
    String etag = meta.etag() != null && !meta.etag().startsWith("#") ? meta.etag() : null;
    return new FileVersion(meta.size(), etag,
        meta.mtimePrecision() == EntryMeta.TimePrecision.SECONDS ? meta.mtime() : null);
  }

  /** Where a stub's bytes come from, given its metadata (read once, by {@link #open}). */
  @FunctionalInterface
  interface UrlOf {
    HttpUrl of(FileMeta meta) throws IOException;
  }

  /** The stub was closed (a re-listing or the cache let it go) before a fetch could hold it: open it anew. */
  static final class ClosedException extends IOException {
    ClosedException(String label) {
      super(label + ": closed while a reader waited; opened again");
    }
  }

  /** The file is not one of lazydir's stubs in this tree: the daemon lets its events through untouched. */
  static final class NotAStubException extends IOException {
    NotAStubException(String message) {
      super(message);
    }
  }

  /** The digests of a file of the tree (its path, as {@link #label}), for the version its metadata names. */
  @FunctionalInterface
  interface DigestsOf {
    Optional<IndexDigests.FileDigests> of(String path, FileMeta meta) throws IOException;

    DigestsOf NONE = (path, meta) -> Optional.empty();
  }

  /**
   * Opens the file at {@code path} of the tree for filling, its URL named by the same walk from the root that
   * opens its directory ({@link TreeUrls.Walk}). Refuses anything that is not one of lazydir's file stubs (no
   * metadata, not a regular file, size not the recorded one): the daemon never writes elsewhere. A file that
   * {@code digestsOf} has digests for (one from a tree index) is filled in segments of whole blocks (the segment
   * size rounded up to a multiple of the index's block), and a map recorded with segments that are not whole
   * blocks is not trusted (its bytes are fetched again, verified). A complete file is not looked up.
   */
  static OpenStub open(StubTree tree, TreePath path, long segmentSize, DigestsOf digestsOf) throws IOException {
    TreeUrls.Walk urls = new TreeUrls.Walk(tree, path.parent());
    return open(tree, path, urls, meta -> urls.fileUrl(path.name(), meta), segmentSize, digestsOf);
  }

  /** As above, its bytes from {@code urlOf} (an origin of a test or of the warm-up), not from the tree's URLs. */
  static OpenStub open(StubTree tree, TreePath path, UrlOf urlOf, long segmentSize) throws IOException {
    return open(tree, path, (name, dir) -> {}, urlOf, segmentSize, DigestsOf.NONE);
  }

  /** As above, with digests (see the first). */
  static OpenStub open(StubTree tree, TreePath path, UrlOf urlOf, long segmentSize, DigestsOf digestsOf)
      throws IOException {
    return open(tree, path, (name, dir) -> {}, urlOf, segmentSize, digestsOf);
  }

  private static OpenStub open(StubTree tree, TreePath path, StubTree.Step walk, UrlOf urlOf, long segmentSize,
      DigestsOf digestsOf) throws IOException {
    String name = path.name();
    String label = path.toString();
    try (Fd dir = tree.openDir(path.parent(), walk)) {
      // Read-only first: a complete file needs no writes, and a write fd on it would make exec of it (or its
      // being open for exec) fail with ETXTBSY. Only a file with bytes to fill is reopened for writing.
      Fd fd = dir.openAt(name, Posix.O_RDONLY | Posix.O_NOFOLLOW | Posix.O_NONBLOCK, 0);
      try {
        Stat st = fd.stat();
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
        Optional<SegmentMap> recorded = StubSegments.recorded(fd, meta, segmentSize);
        IndexDigests.FileDigests digests = null;
        long segment = segmentSize;
        if (meta.size() > 0 && !recorded.map(SegmentMap::isComplete).orElse(false)) {
          digests = digestsOf.of(label, meta).orElse(null);
        }
        if (digests != null) {
          long block = digests.blockSize();
          segment = BlockVerifier.segmentSize(label, segmentSize, block);
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
        StubSegments present = new StubSegments(map, meta, tree.changes(),
            meta.complete() ? Optional.empty() : fd.getXattr(EntryMeta.MAP_XATTR));
        return new OpenStub(fd, meta, urlOf.of(meta), present, label, st, digests);
      } catch (IOException | RuntimeException e) {
        fd.close();
        throw e;
      }
    }
  }

  FileMeta meta() {
    return segments.meta();
  }

  /** The stub's read-ahead window, made by {@code make} at the first call. */
  StreamWindow window(Supplier<StreamWindow> make) {
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

  /** Whether what is recorded vouches for every byte of the version its metadata names. */
  static boolean holdsAllBytes(Fd fd, FileMeta meta) throws IOException {
    return meta.size() == 0 || StubSegments.recorded(fd, meta, meta.size()).map(SegmentMap::isComplete).orElse(false);
  }

  void refineMtime(java.time.Instant lastModified) throws IOException {
    segments.refineMtime(lastModified, fd);
  }

  boolean isComplete() {
    return segments.isComplete();
  }

  boolean completedNow() {
    return segments.completedNow();
  }

  boolean has(int segment) {
    return segments.has(segment);
  }

  SegmentMap mapView() {
    return segments.map();
  }

  /** Records a segment whose bytes were written: readers may use it at once (see {@link StubSegments}). */
  void markPresent(int segment) throws IOException {
    segments.markPresent(segment, fd);
  }

  /** The map as it is now, if it names segments not recorded yet; null if nothing is new or the stub is closed. */
  StubSegments.Snapshot snapshot() {
    return closed ? null : segments.snapshot();
  }

  /** Records a snapshot after a sync (of this file or of its whole filesystem) that came after it. */
  void record(StubSegments.Snapshot snapshot) throws IOException {
    synchronized (persistLock) {
      if (!closed) {
        segments.record(snapshot, fd);
      }
    }
  }

  /**
   * Syncs the file's data, then records the map of every segment marked before the sync. No lock of the stub is
   * held during the sync but the persist lock: readers and fetches go on.
   */
  void persist() throws IOException {
    synchronized (persistLock) {
      StubSegments.Snapshot snapshot = snapshot();
      if (snapshot == null) {
        return;
      }
      fd.dataSync();
      segments.record(snapshot, fd);
    }
  }

  /**
   * A complete file needs no more writes: its read-write fd is swapped for a read-only one (reopened through
   * /proc/self/fd, on the store path, which sends no event), so ignore marks can be set at once: the kernel
   * refuses them on an inode open for writing. xattrs and syncs keep working through the read-only fd.
   */
  void dropWriteAccess() throws IOException {
    synchronized (persistLock) {
      if (closed) {
        return;
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
        if (segments.isComplete()) {
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
          SegmentMap map = segments.map();
          for (int c = 0; c < map.segmentCount(); c++) {
            if (!segments.has(c)) {
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
    if (closed || allocated || segments.isComplete()) {
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
        closed = true;
        fd.close();
      }
    }
  }
}
