package dev.lazydir.serve;

import dev.lazydir.origin.OriginClient;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.logging.Logger;

/**
 * Makes byte ranges of stubs present: decides which segments a reader needs and who fetches them. Each missing
 * segment is fetched once, by one {@link SegmentFetch} (a stream over a run of segments) that every reader of
 * those segments waits on; the stream writes the bytes and marks them present, this class charges the store's
 * bounds for the disk they take ({@link CacheRoom}) and hands a completed stub on. Sequential readers get the next
 * segments fetched ahead ({@link ReadAhead}). Every wait is bounded, and a fetch a reader gave up on is abandoned:
 * later readers never join it (a drip-speed answer would fail them all long after the origin recovered), a new
 * fetch resumes where it had reached.
 */
final class ContentFiller {
  private static final Logger LOG = Logger.getLogger(ContentFiller.class.getName());
  /** The warm-up's fills are not the user's: their one line per fetch (-v) is left out. */
  volatile boolean silent;

  private final OriginClient client;
  private final ExecutorService fetchPool;
  private final ReadAhead readAhead;
  private final int maxStreams;
  private final Duration timeout;
  private final Consumer<OpenStub> onComplete;
  /** Where readers' ranges are recorded (serve --record-profile), or null. */
  private volatile ProfileRecorder recorder;
  /** The store's bounds: a fetch into a stub without its blocks makes room first. */
  private volatile CacheRoom room;
  final AtomicLong fetchedBytes = new AtomicLong();
  final AtomicLong fetches = new AtomicLong();

  public ContentFiller(OriginClient client, ExecutorService fetchPool, int readaheadSegments, Duration timeout,
      Consumer<OpenStub> onComplete) {
    this(client, fetchPool, readaheadSegments, 4, timeout, onComplete);
  }

  /**
   * @param maxStreams the most range streams one file is filled by at once ({@code --max-conns}): a large range
   *     asked for at once (an mmap) is split into this many, and a sequential reader's window grows up to it
   */
  public ContentFiller(OriginClient client, ExecutorService fetchPool, int readaheadSegments, int maxStreams,
      Duration timeout, Consumer<OpenStub> onComplete) {
    this.client = client;
    this.fetchPool = fetchPool;
    this.maxStreams = Math.max(1, maxStreams);
    this.readAhead = new ReadAhead(this, readaheadSegments, this.maxStreams);
    this.timeout = timeout;
    this.onComplete = onComplete;
  }

  /** Records every range readers ask for from now on. */
  void recordTo(ProfileRecorder r) {
    recorder = r;
  }

  void bounded(CacheRoom room) {
    this.room = room;
  }

  public long fetchedBytes() {
    return fetchedBytes.get();
  }

  public long fetchCount() {
    return fetches.get();
  }

  /**
   * Returns once [offset, offset + count) of the stub is on disk, or throws: an origin failure, a changed
   * file or a timeout. A range at or past EOF needs nothing; count 0 at offset 0 means the whole file
   * (FICLONE reports it so).
   */
  public void ensure(OpenStub stub, long offset, long count) throws IOException {
    if (stub.isComplete()) {
      return;
    }
    SegmentMap map = stub.mapView();
    long size = map.fileSize();
    long end = count == 0 && offset == 0 ? size : Math.min(size, offset + count);
    if (offset >= end) {
      return;
    }
    int first = map.segmentOf(offset);
    int last = map.segmentOf(end - 1);
    record(stub, first, last + 1);
    int previous = stub.lastSegment;
    stub.lastSegment = last;
    boolean sequential = first == 0 || first == previous || first == previous + 1;
    if (sequential && readAhead.on()) {
      readAhead.window(stub); // before the reader's own fetch starts, so its first byte is measured too
    }
    // What nobody fetches yet is asked for now, a large range (an mmap, an exec) split over several streams.
    requestSplit(stub, first, last + 1, maxStreams);
    waitFor(stub, offset, end, first, last);
    if (sequential) {
      // Only once the reader's own bytes are down: started together, the read-ahead requests compete with its
      // own for the origin's disk and the link, and its first byte comes later.
      readAhead.fill(stub);
    }
  }

  /**
   * Fetches the segments covering [offset, offset + count) ahead of any reader (an access profile; count 0: to the
   * end), in up to {@code streams} streams, joining fetches already in flight; returns at once. The returned
   * future completes when those fetches end, or with the first failure. Not recorded in a profile.
   */
  CompletableFuture<Void> prefetch(OpenStub stub, long offset, long count, int streams) {
    if (stub.isComplete()) {
      return CompletableFuture.completedFuture(null);
    }
    SegmentMap map = stub.mapView();
    long end = count == 0 ? map.fileSize() : Math.min(map.fileSize(), offset + count);
    if (offset >= end) {
      return CompletableFuture.completedFuture(null);
    }
    int first = map.segmentOf(offset);
    int last = map.segmentOf(end - 1);
    requestSplit(stub, first, last + 1, streams);
    List<CompletableFuture<Void>> all = new ArrayList<>();
    for (int c = first; c <= last; c++) {
      SegmentFetch f = stub.inflight.get(c);
      if (f != null && (all.isEmpty() || all.get(all.size() - 1) != f)) {
        all.add(f);
      }
    }
    return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new));
  }

  /** Waits until bytes [offset, end) of segments first..last are written, asking again for what a fetch left. */
  private void waitFor(OpenStub stub, long offset, long end, int first, int last) throws IOException {
    SegmentMap map = stub.mapView();
    long deadline = System.nanoTime() + timeout.toNanos();
    SegmentFetch current = null;
    try {
      // A reader waits for its own bytes, not for the whole segment: the first bytes of a stream are let
      // through as soon as they are written (the segment is recorded as present only once it is complete).
      // A fetch may end without them (another reader abandoned it, it failed past them, or it was a whole-file
      // stream that stopped early): then the segment is asked for again, within the same deadline.
      for (int c = first; c <= last; c++) {
        if (stub.has(c)) {
          continue;
        }
        long from = Math.max(offset, map.segmentStart(c));
        long upTo = Math.min(end, map.segmentStart(c) + map.segmentLength(c));
        current = stub.inflight.get(c);
        if (current == null) {
          current = request(stub, c, c + 1);
        }
        while (!current.awaitBytes(from, upTo, deadline) && !stub.has(c)) {
          current = request(stub, c, c + 1);
        }
      }
    } catch (TimeoutException e) {
      current.abandon();
      throw new IOException(stub.label + ": bytes " + offset + "-" + (end - 1) + " not fetched within "
          + timeout.toSeconds() + " s");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while fetching " + stub.label);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause() instanceof java.util.concurrent.CompletionException ce ? ce.getCause() : e.getCause();
      throw cause instanceof IOException io ? io : new IOException(cause);
    }
  }

  /**
   * Asks for the segments of [first, end) that are neither present nor being fetched: each run of them split
   * into at most {@code streams} streams of whole segments, as even as segments allow.
   */
  private void requestSplit(OpenStub stub, int first, int end, int streams) {
    for (int c = first; c < end; ) {
      if (stub.has(c) || stub.inflight.containsKey(c)) {
        c++;
        continue;
      }
      int runEnd = c;
      while (runEnd < end && !stub.has(runEnd) && !stub.inflight.containsKey(runEnd)) {
        runEnd++;
      }
      int run = runEnd - c;
      int k = Math.min(run, streams);
      for (int i = 0, at = c; i < k; i++) {
        int next = c + (int) ((long) run * (i + 1) / k);
        SegmentFetch f = request(stub, at, next);
        at = Math.max(next, f.end);
      }
      c = runEnd;
    }
  }

  /**
   * Records segments [first, end) of the stub in the access profile, if one is being recorded: a reader's range
   * widened to the segments it needs (a file that completes reads natively, without events, so the rest of its
   * reads are never seen), and what a sequential reader's window fetches ahead of it.
   */
  void record(OpenStub stub, int first, int end) {
    ProfileRecorder r = recorder;
    if (r != null) {
      SegmentMap map = stub.mapView();
      r.accessed(stub.label, map.segmentStart(first), map.segmentStart(end - 1) + map.segmentLength(end - 1));
    }
  }

  /**
   * The fetch of segment {@code first}: the one in flight, or a new one over [first, end) (or up to the first
   * segment of that run that is already present or being fetched).
   */
  SegmentFetch request(OpenStub stub, int first, int end) {
    SegmentFetch existing = stub.inflight.get(first);
    if (existing != null) {
      return existing;
    }
    SegmentMap map = stub.mapView();
    long start = map.segmentStart(first);
    long resume = Math.min(stub.partial.getOrDefault(first, start), start + map.segmentLength(first));
    int stop = first + 1;
    while (stop < end && !stub.has(stop) && !stub.inflight.containsKey(stop) && !stub.partial.containsKey(stop)) {
      stop++;
    }
    SegmentFetch mine = new SegmentFetch(stub, first, stop, start, resume);
    existing = stub.inflight.putIfAbsent(first, mine);
    if (existing != null) {
      return existing;
    }
    // Claim the rest of the span; a segment another fetch claimed meanwhile ends it there.
    for (int c = first + 1; c < stop; c++) {
      if (stub.inflight.putIfAbsent(c, mine) != null) {
        mine.shorten(c);
        break;
      }
    }
    CacheRoom r = room;
    if (r != null && !stub.allocated) {
      // A stub without its blocks (not opened through DIR: a prefetch, a reader of the store): the span's disk
      // is made room for before the fetch writes, evicting others if a bound would be crossed.
      try {
        long bytes = map.segmentStart(mine.end - 1) + map.segmentLength(mine.end - 1) - start;
        r.makeRoom(stub, (bytes + 4095) / 4096 * 4096);
      } catch (IOException | RuntimeException e) {
        stub.inflight.entrySet().removeIf(en -> en.getValue() == mine);
        mine.completeExceptionally(e);
        return mine;
      }
    }
    // The fetch holds the stub open until its last write: a close meanwhile (a re-listing) waits for it.
    if (!stub.holdForWriting()) {
      stub.inflight.entrySet().removeIf(e -> e.getValue() == mine);
      mine.completeExceptionally(new OpenStub.ClosedException(stub.label));
      return mine;
    }
    try {
      fetchPool.execute(() -> {
        // Released before it completes: a waiter it leaves without bytes asks again and must not find it.
        try {
          fetch(stub, mine);
          mine.release();
          mine.complete(null);
        } catch (Throwable t) {
          mine.release();
          mine.completeExceptionally(t);
        } finally {
          releaseWriter(stub);
        }
      });
    } catch (java.util.concurrent.RejectedExecutionException e) {
      stub.inflight.entrySet().removeIf(en -> en.getValue() == mine);
      releaseWriter(stub);
      mine.completeExceptionally(new IOException("lazydir is shutting down"));
    }
    return mine;
  }

  private static void releaseWriter(OpenStub stub) {
    try {
      stub.releaseWriter();
    } catch (IOException e) {
      LOG.fine(stub.label + ": " + e.getMessage());
    }
  }

  /** Runs one stream on a fetch thread, then records its segments present and charges the store for them. */
  private void fetch(OpenStub stub, SegmentFetch progress) throws IOException {
    long t0 = System.nanoTime();
    long length = progress.transfer(client, t0, fetches, fetchedBytes);
    if (length < 0) {
      return; // a whole-file stream or another fetch got there first
    }
    for (int c = progress.segment; c < progress.end; c++) {
      if (!stub.has(c)) {
        stub.markPresent(c);
      }
      stub.partial.remove(c);
    }
    CacheRoom r = room;
    if (r != null && !stub.allocated) {
      r.charged(stub);
    }
    LOG.log(silent ? java.util.logging.Level.FINEST : java.util.logging.Level.INFO, () -> "fetched " + stub.label
        + " segments " + progress.segment + "-" + (progress.end - 1) + " (" + Math.max(0, length) + " bytes) in "
        + (System.nanoTime() - t0) / 1_000_000 + " ms");
    if (stub.completedNow()) {
      onComplete.accept(stub);
    }
  }
}
