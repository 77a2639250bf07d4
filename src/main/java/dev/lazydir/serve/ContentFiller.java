package dev.lazydir.serve;

import dev.lazydir.origin.OriginClient;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.logging.Logger;

/**
 * Makes byte ranges of stubs present: each missing segment is fetched once (readers of the same segment share the
 * fetch), written through the private store fd, and recorded in the segment map (on disk only after a sync). Sequential
 * readers get the next segments fetched ahead so a stream never waits for a round trip. Every wait is bounded, and a
 * fetch a reader gave up on is abandoned: later readers never join it (a drip-speed answer would fail them all
 * long after the origin recovered), a new fetch resumes where it had reached.
 */
final class ContentFiller {
  private static final Logger LOG = Logger.getLogger(ContentFiller.class.getName());
  /** The warm-up's fills are not the user's: their one line per fetch (-v) is left out. */
  volatile boolean silent;

  private final OriginClient client;
  private final ExecutorService fetchPool;
  private final int readaheadSegments;
  private final int maxStreams;
  private final Duration timeout;
  private final Consumer<OpenStub> onComplete;
  /** Where readers' ranges are recorded (serve --record-profile), or null. */
  private volatile ProfileRecorder recorder;
  /** Streams the last sequential reader's window settled on: the next file starts there. */
  private volatile int learnedStreams = StreamWindow.START;
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
    this.readaheadSegments = readaheadSegments;
    this.maxStreams = Math.max(1, maxStreams);
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
    if (sequential && readaheadSegments > 0) {
      window(stub); // before the reader's own fetch starts, so its first byte is measured too
    }
    // What nobody fetches yet is asked for now, a large range (an mmap, an exec) split over several streams.
    requestSplit(stub, first, last + 1, maxStreams);
    waitFor(stub, offset, end, first, last);
    if (sequential) {
      // Only once the reader's own bytes are down: started together, the read-ahead requests compete with its
      // own for the origin's disk and the link, and its first byte comes later.
      readAhead(stub);
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
   * Keeps the stub's window of read-ahead streams full: as many as its {@link StreamWindow} allows now, each over
   * the next segments nobody fetches yet, up to its reach past the reader's last segment. Run after a sequential
   * reader's bytes are down and whenever one of the window's streams ends, so the streams follow the reader
   * without waiting for its next read.
   */
  private void readAhead(OpenStub stub) {
    if (readaheadSegments <= 0) {
      return;
    }
    StreamWindow w = window(stub);
    SegmentMap map = stub.mapView();
    synchronized (w) {
      boolean wasSettled = w.settled();
      int n = w.streams(System.nanoTime());
      if (!wasSettled && w.settled()) {
        learnedStreams = n;
      }
      int reader = stub.lastSegment;
      int span = w.span(n, unfetched(stub, reader + 1, n * StreamWindow.MAX_SPAN));
      int reach = Math.min(map.segmentCount() - 1, reader + w.ahead(n, span));
      for (int c = Math.max(0, reader + 1); c <= reach && w.inFlight() < n; c++) {
        if (stub.has(c) || stub.inflight.containsKey(c)) {
          continue;
        }
        SegmentFetch f = request(stub, c, Math.min(reach + 1, c + span));
        if (f.countedBy(w)) {
          record(stub, f.segment, f.end);
          f.whenComplete((v, e) -> {
            w.ended();
            if (e == null && !stub.isComplete()) {
              readAhead(stub);
            }
          });
        }
        c = Math.max(c, f.end - 1);
      }
    }
  }

  /** Segments from {@code from} on that are neither present nor being fetched, counted up to {@code most}. */
  private static int unfetched(OpenStub stub, int from, int most) {
    int n = 0;
    for (int c = Math.max(0, from), end = stub.mapView().segmentCount(); c < end && n < most; c++) {
      if (!stub.has(c) && !stub.inflight.containsKey(c)) {
        n++;
      }
    }
    return n;
  }

  /**
   * Records segments [first, end) of the stub in the access profile, if one is being recorded: a reader's range
   * widened to the segments it needs (a file that completes reads natively, without events, so the rest of its
   * reads are never seen), and what a sequential reader's window fetches ahead of it.
   */
  private void record(OpenStub stub, int first, int end) {
    ProfileRecorder r = recorder;
    if (r != null) {
      SegmentMap map = stub.mapView();
      r.accessed(stub.label, map.segmentStart(first), map.segmentStart(end - 1) + map.segmentLength(end - 1));
    }
  }

  private StreamWindow window(OpenStub stub) {
    return stub.window(() -> new StreamWindow(learnedStreams, maxStreams, readaheadSegments,
        stub.mapView().segmentSize()));
  }

  /**
   * The fetch of segment {@code first}: the one in flight, or a new one over [first, end) (or up to the first
   * segment of that run that is already present or being fetched).
   */
  private SegmentFetch request(OpenStub stub, int first, int end) {
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

  private void fetch(OpenStub stub, SegmentFetch progress) throws IOException {
    long t0 = System.nanoTime();
    SegmentMap map = stub.mapView();
    boolean all = true;
    for (int c = progress.segment; c < progress.end; c++) {
      all &= stub.has(c);
    }
    if (all) {
      return; // a whole-file stream or another fetch got there first
    }
    progress.sent(t0);
    long length;
    java.util.Optional<StreamWindow> counted = stub.window();
    counted.ifPresent(StreamWindow::fetchStarted);
    try {
      length = transfer(stub, progress, map);
    } finally {
      counted.ifPresent(StreamWindow::fetchEnded);
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

  /** Fetches and writes the stream's bytes; returns how many it asked for. */
  private long transfer(OpenStub stub, SegmentFetch progress, SegmentMap map) throws IOException {
    long start = progress.resume;
    long length = map.segmentStart(progress.end - 1) + map.segmentLength(progress.end - 1) - start;
    if (length > 0) {
      fetches.incrementAndGet();
      java.time.Instant served;
      if (stub.digests == null) {
        WriteBatch batch = new WriteBatch(stub, progress);
        progress.batch = batch;
        try {
          served = client.fetchRange(stub.url, start, length, stub.version, batch);
          batch.close();
        } finally {
          progress.batch = null;
          batch.flushQuietly(); // what arrived before a failure is written, as it would have been piece by piece
          try {
            batch.close();
          } catch (IOException e) {
            LOG.fine(stub.label + ": " + e.getMessage());
          }
        }
        fetchedBytes.addAndGet(length);
      } else {
        served = fetchVerified(stub, start, start + length, progress);
      }
      stub.refineMtime(served);
      progress.measured(length);
    }
    return length;
  }


  /**
   * Fetches bytes [start, end) of a file with block digests: each block is written, and readers let through it,
   * only once it matches its digest (see {@link BlockVerifier}; segments are whole blocks, so [start, end) is). A
   * block that does not match is fetched once more, from it on and bypassing caches; if it still does not match,
   * the fetch fails (its readers get EIO) and nothing of that block is written.
   */
  private java.time.Instant fetchVerified(OpenStub stub, long start, long end, SegmentFetch progress)
      throws IOException {
    BlockVerifier.Verified write = (at, block) -> {
      int n = block.remaining();
      stub.fd.pwriteFully(block, at);
      progress.advance(at, at + n);
    };
    BlockVerifier first = new BlockVerifier(stub.digests, start, write);
    java.time.Instant served;
    BlockVerifier last = first;
    try {
      served = client.fetchRange(stub.url, start, end - start, stub.version, first);
      fetchedBytes.addAndGet(end - start);
    } catch (BlockVerifier.BlockMismatchException e) {
      long from = first.verifiedUpTo();
      fetchedBytes.addAndGet(Math.max(0, e.offset - start));
      if (from >= end) {
        // A whole-file answer, wrong past this segment, which it verified whole: the later segments' readers ask
        // for theirs again (the stream ends without their bytes).
        LOG.fine(() -> stub.label + ": " + e.getMessage() + " (past the segment asked for)");
        return null;
      }
      LOG.warning(stub.label + ": " + e.getMessage() + "; fetching bytes " + from + "-" + (end - 1)
          + " again, bypassing caches");
      last = new BlockVerifier(stub.digests, from, write);
      try {
        served = client.fetchRange(stub.url, from, end - from, stub.version, true, last);
      } catch (BlockVerifier.BlockMismatchException again) {
        throw new IOException(stub.label + ": " + again.getMessage() + ", also when fetched again bypassing"
            + " caches: the origin serves other bytes than its tree index says; not served", again);
      }
      fetchedBytes.addAndGet(end - from);
    }
    if (last.verifiedUpTo() < end) { // an answer that ended mid-block: never record bytes not verified
      throw new IOException(stub.label + ": bytes " + last.verifiedUpTo() + "-" + (end - 1)
          + " could not be verified (the answer ended inside a block)");
    }
    return served;
  }

  /**
   * One stream: the fetch of segments [segment, end) in one range request. Completes when they are recorded;
   * tells waiters how far its bytes are written, and records each of its segments as present as soon as it has
   * written all of it. Its answer may be the whole file (an origin that ignores Range): then it stands in for
   * every segment still missing, so their readers wait for the stream instead of asking for the file again.
   */
  static final class SegmentFetch extends CompletableFuture<Void> {
    private final OpenStub stub;
    /** First segment of the stream. */
    final int segment;
    /** One past its last segment (a claim lost to another fetch can shorten it before it starts). */
    volatile int end;
    /** First byte this fetch asks for: the segment's start, or where an earlier fetch of it stopped. */
    final long resume;
    /** Bytes [base, written) of the file are written. */
    private long base;
    private long written;
    /** First segment the stream may still have to record as present. */
    private int nextToRecord;
    private boolean claimed;
    private boolean abandoned;
    private long sentNanos;
    /** Readers waiting for this stream's bytes now: while there are any, its bytes are written as they come. */
    private volatile int waiters;
    /** Where the stream gathers its bytes into larger writes (null: written as they come). */
    volatile WriteBatch batch;
    private long firstByteNanos;
    private final java.util.concurrent.atomic.AtomicReference<StreamWindow> countedIn =
        new java.util.concurrent.atomic.AtomicReference<>();

    SegmentFetch(OpenStub stub, int segment, long start, long resume) {
      this(stub, segment, segment + 1, start, resume);
    }

    SegmentFetch(OpenStub stub, int segment, int end, long start, long resume) {
      this.stub = stub;
      this.segment = segment;
      this.end = end;
      this.resume = resume;
      this.base = start; // an earlier fetch wrote [start, resume)
      this.written = resume;
      this.nextToRecord = segment;
      whenComplete((v, e) -> {
        synchronized (this) {
          notifyAll();
        }
      });
    }

    /** Ends the stream before segment {@code c}, which another fetch claimed (only before it starts). */
    void shorten(int c) {
      end = c;
    }

    /** True for the first window that counts this stream as one of its own (a stream is counted once). */
    boolean countedBy(StreamWindow w) {
      if (countedIn.compareAndSet(null, w)) {
        w.started();
        return true;
      }
      return false;
    }

    /** The request is sent now (first-byte latency is measured from here). */
    synchronized void sent(long nanos) {
      sentNanos = nanos;
    }

    /** Reports the stream's rate once its {@code length} bytes are in. */
    void measured(long length) {
      long first;
      synchronized (this) {
        first = firstByteNanos;
      }
      if (first > 0) {
        stub.window().ifPresent(w -> w.transferred(length, System.nanoTime() - first));
      }
    }

    /**
     * Bytes [at, upTo) are written. Throws once a reader abandoned this fetch, which ends it without retries.
     */
    synchronized void advance(long at, long upTo) throws IOException {
      if (!claimed && stub.version.ignoresRange()) {
        claimed = true; // before any reader is let through: a reader of the next segment finds this stream
        for (int c = 0; c < stub.mapView().segmentCount(); c++) {
          if (c != segment && !stub.has(c)) {
            stub.inflight.putIfAbsent(c, this);
          }
        }
      }
      if (firstByteNanos == 0) {
        firstByteNanos = System.nanoTime();
        long latency = firstByteNanos - sentNanos;
        if (sentNanos > 0) {
          stub.window().ifPresent(w -> w.firstByte(latency));
        }
      }
      stub.window().ifPresent(w -> w.wrote(upTo - at));
      if (at >= base && at <= written) {
        written = Math.max(written, upTo);
      } else { // a whole-file answer, from offset 0
        base = at;
        written = upTo;
        nextToRecord = 0;
      }
      SegmentMap map = stub.mapView();
      long size = map.segmentSize();
      nextToRecord = (int) Math.max(nextToRecord, (base + size - 1) / size);
      for (; nextToRecord < map.segmentCount() && map.segmentStart(nextToRecord) + map.segmentLength(nextToRecord) <= written;
          nextToRecord++) {
        if (!stub.has(nextToRecord)) {
          stub.markPresent(nextToRecord);
        }
      }
      notifyAll();
      if (abandoned) {
        throw new AbandonedException();
      }
    }

    /**
     * A reader gave up waiting for it: no reader joins it any more, and it stops at its next bytes. Not a
     * whole-file stream: another fetch would start the file again from its first byte, so it goes on.
     */
    void abandon() {
      synchronized (this) {
        if (claimed) {
          return;
        }
        abandoned = true;
      }
      release();
    }

    /** Leaves the segments it stood in for, noting how far it got into the segment it stopped in. */
    void release() {
      stub.inflight.entrySet().removeIf(e -> e.getValue() == this);
      synchronized (this) {
        SegmentMap map = stub.mapView();
        if (written >= map.fileSize()) {
          return;
        }
        int c = map.segmentOf(written);
        long start = map.segmentStart(c);
        if (base <= start && written > start && !stub.has(c)) {
          stub.partial.merge(c, Math.min(written, start + map.segmentLength(c)), Math::max);
        }
      }
    }

    private boolean covers(long from, long upTo) {
      return base <= from && written >= upTo;
    }

    /**
     * Returns true once bytes [from, upTo) are written; false if the fetch ended without them (it was
     * abandoned, or it was another segment's); throws its failure, or TimeoutException at the deadline.
     */
    boolean awaitBytes(long from, long upTo, long deadlineNanos)
        throws InterruptedException, ExecutionException, TimeoutException {
      synchronized (this) {
        waiters++;
      }
      try {
        WriteBatch b = batch;
        if (b != null) {
          b.flushQuietly(); // bytes gathered before this reader came are written now, not with the next batch
        }
        return awaitWritten(from, upTo, deadlineNanos);
      } finally {
        synchronized (this) {
          waiters--;
        }
      }
    }

    /** Whether a reader waits for this stream's bytes now. */
    boolean waited() {
      return waiters > 0;
    }

    private boolean awaitWritten(long from, long upTo, long deadlineNanos)
        throws InterruptedException, ExecutionException, TimeoutException {
      synchronized (this) {
        while (!covers(from, upTo) && !isDone()) {
          long left = deadlineNanos - System.nanoTime();
          if (left <= 0) {
            throw new TimeoutException();
          }
          TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        if (covers(from, upTo)) {
          return true;
        }
      }
      try {
        get();
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof AbandonedException)) {
          throw e;
        }
      }
      return false;
    }
  }

  /** Ends a fetch that a reader gave up on. */
  static final class AbandonedException extends IOException {
    AbandonedException() {
      super("abandoned: a reader gave up waiting for it");
    }
  }
}
