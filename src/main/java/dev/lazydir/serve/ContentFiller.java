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

  private final OriginClient client;
  private final ExecutorService fetchPool;
  private final int readaheadSegments;
  private final Duration timeout;
  private final Consumer<OpenStub> onComplete;
  /** The store's bounds: a fetch into a stub without its blocks makes room first. */
  private volatile CacheRoom room;
  final AtomicLong fetchedBytes = new AtomicLong();
  final AtomicLong fetches = new AtomicLong();

  public ContentFiller(OriginClient client, ExecutorService fetchPool, int readaheadSegments, Duration timeout,
      Consumer<OpenStub> onComplete) {
    this.client = client;
    this.fetchPool = fetchPool;
    this.readaheadSegments = readaheadSegments;
    this.timeout = timeout;
    this.onComplete = onComplete;
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
    List<SegmentFetch> waits = new ArrayList<>();
    List<Integer> segments = new ArrayList<>();
    List<Long> upTo = new ArrayList<>();
    for (int c = first; c <= last; c++) {
      if (!stub.has(c)) {
        segments.add(c);
        waits.add(request(stub, c));
        upTo.add(Math.min(end, map.segmentStart(c) + map.segmentLength(c)));
      }
    }
    int previous = stub.lastSegment;
    stub.lastSegment = last;
    if (first == 0 || first == previous || first == previous + 1) {
      int from = last + 1;
      int to = Math.min(map.segmentCount() - 1, last + readaheadSegments);
      Runnable readahead = () -> {
        for (int c = from; c <= to; c++) {
          if (!stub.has(c)) {
            request(stub, c);
          }
        }
      };
      if (waits.isEmpty()) {
        readahead.run();
      } else {
        // Only once the reader's own segment is down: started together, the read-ahead requests compete
        // with it for the origin's disk and the link, and the reader's first byte comes later.
        waits.get(waits.size() - 1).whenComplete((v, e) -> {
          if (e == null) {
            readahead.run();
          }
        });
      }
    }
    if (waits.isEmpty()) {
      return;
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    SegmentFetch current = null;
    try {
      // A reader waits for its own bytes, not for the whole segment: the first bytes of a stream are let
      // through as soon as they are written (the segment is recorded as present only once it is complete).
      // A fetch may end without them (another reader abandoned it, or it was a whole-file stream that stopped
      // early): then the segment is asked for again, within the same deadline.
      for (int i = 0; i < waits.size(); i++) {
        int c = segments.get(i);
        long from = Math.max(offset, map.segmentStart(c));
        current = waits.get(i);
        while (!current.awaitBytes(from, upTo.get(i), deadline) && !stub.has(c)) {
          current = request(stub, c);
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

  private SegmentFetch request(OpenStub stub, int segment) {
    SegmentFetch existing = stub.inflight.get(segment);
    if (existing != null) {
      return existing;
    }
    SegmentMap map = stub.mapView();
    long start = map.segmentStart(segment);
    long resume = Math.min(stub.partial.getOrDefault(segment, start), start + map.segmentLength(segment));
    SegmentFetch mine = new SegmentFetch(stub, segment, start, resume);
    existing = stub.inflight.putIfAbsent(segment, mine);
    if (existing != null) {
      return existing;
    }
    CacheRoom r = room;
    if (r != null && !stub.allocated) {
      // A stub without its blocks (not opened through DIR: a prefetch, a reader of the store): the segment's disk
      // is made room for before the fetch writes, evicting others if a bound would be crossed.
      try {
        r.makeRoom(stub, (map.segmentLength(segment) + 4095) / 4096 * 4096);
      } catch (IOException | RuntimeException e) {
        stub.inflight.remove(segment, mine);
        mine.completeExceptionally(e);
        return mine;
      }
    }
    // The fetch holds the stub open until its last write: a close meanwhile (a re-listing) waits for it.
    if (!stub.holdForWriting()) {
      stub.inflight.remove(segment, mine);
      mine.completeExceptionally(new OpenStub.ClosedException(stub.label));
      return mine;
    }
    try {
      fetchPool.execute(() -> {
        // Released before it completes: a waiter it leaves without bytes asks again and must not find it.
        try {
          if (!stub.has(segment)) {
            fetch(stub, segment, mine);
          }
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
      stub.inflight.remove(segment, mine);
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

  private void fetch(OpenStub stub, int segment, SegmentFetch progress) throws IOException {
    long t0 = System.nanoTime();
    SegmentMap map = stub.mapView();
    long start = progress.resume;
    long length = map.segmentStart(segment) + map.segmentLength(segment) - start;
    if (length > 0) {
      fetches.incrementAndGet();
      java.time.Instant served;
      if (stub.digests == null) {
        served = client.fetchRange(stub.url, start, length, stub.version,
            (at, buf) -> {
              int n = buf.remaining();
              stub.fd.pwriteFully(buf, at);
              progress.advance(at, at + n);
            });
        fetchedBytes.addAndGet(length);
      } else {
        served = fetchVerified(stub, start, start + length, progress);
      }
      stub.refineMtime(served);
    }
    stub.markPresent(segment);
    stub.partial.remove(segment);
    CacheRoom r = room;
    if (r != null && !stub.allocated) {
      r.charged(stub);
    }
    LOG.fine(() -> stub.label + ": segment " + segment + " present (" + (System.nanoTime() - t0) / 1_000_000 + " ms)");
    if (stub.completedNow()) {
      onComplete.accept(stub);
    }
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
   * One segment's fetch: completes when the segment is recorded; tells waiters how far its bytes are written.
   * Its answer may be the whole file (an origin that ignores Range): then it stands in for every segment still
   * missing, so their readers wait for the stream instead of asking for the file again, and it records each
   * segment as present as soon as the stream has written all of it.
   */
  static final class SegmentFetch extends CompletableFuture<Void> {
    private final OpenStub stub;
    private final int segment;
    /** First byte this fetch asks for: the segment's start, or where an earlier fetch of it stopped. */
    final long resume;
    /** Bytes [base, written) of the file are written. */
    private long base;
    private long written;
    /** First segment the stream may still have to record as present. */
    private int nextToRecord;
    private boolean claimed;
    private boolean abandoned;

    SegmentFetch(OpenStub stub, int segment, long start, long resume) {
      this.stub = stub;
      this.segment = segment;
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
        if (nextToRecord != segment && !stub.has(nextToRecord)) {
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

    /** Leaves the segments it stood in for, noting how far its own segment got for the next fetch of it. */
    void release() {
      stub.inflight.entrySet().removeIf(e -> e.getValue() == this);
      synchronized (this) {
        long start = stub.mapView().segmentStart(segment);
        if (base <= start && written > start && !stub.has(segment)) {
          stub.partial.merge(segment, Math.min(written, start + stub.mapView().segmentLength(segment)), Math::max);
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
