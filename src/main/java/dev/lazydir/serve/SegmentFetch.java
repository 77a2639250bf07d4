package dev.lazydir.serve;

import dev.lazydir.origin.OriginClient;
import dev.lazydir.origin.RangeSink;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Logger;

/**
 * One stream: the fetch of segments [segment, end) of a stub in one range request, and the sink its bytes are
 * written through. The origin hands the body to {@link #write} as it arrives: pwrite through the stub's private
 * store fd (no fanotify event), then every segment the stream has written whole is marked present, and waiting
 * readers are woken as soon as their own bytes are down. Completes when its segments are recorded. Its answer may
 * be the whole file (an origin that ignores Range): then it stands in for every segment still missing, so their
 * readers wait for the stream instead of asking for the file again. Kept apart from {@link ContentFiller}, which
 * decides which segments to fetch and who waits, so that the path of the bytes is this one class. A crash
 * mid-stream leaves bytes written but not recorded (the record follows a sync): they are fetched again.
 */
final class SegmentFetch extends CompletableFuture<Void> implements RangeSink {
  private static final Logger LOG = Logger.getLogger(SegmentFetch.class.getName());
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
  private long firstByteNanos;
  private final AtomicReference<StreamWindow> countedIn = new AtomicReference<>();

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

  /**
   * Asks the origin for the stream's bytes and writes them as they come; returns how many it asked for (-1: its
   * segments were all present already, nothing asked). {@code startNanos}: when the fetch began (its first-byte
   * latency is measured from then); the counters are the filler's (status shows them).
   */
  long transfer(OriginClient client, long startNanos, AtomicLong fetches, AtomicLong fetchedBytes)
      throws IOException {
    boolean all = true;
    for (int c = segment; c < end; c++) {
      all &= stub.has(c);
    }
    if (all) {
      return -1; // a whole-file stream or another fetch got there first
    }
    synchronized (this) {
      sentNanos = startNanos; // first-byte latency is measured from here
    }
    SegmentMap map = stub.mapView();
    long start = resume;
    long length = map.segmentStart(end - 1) + map.segmentLength(end - 1) - start;
    java.util.Optional<StreamWindow> counted = stub.window();
    counted.ifPresent(StreamWindow::fetchStarted);
    try {
      if (length > 0) {
        fetches.incrementAndGet();
        Instant served;
        if (stub.digests == null) {
          served = client.fetchRange(stub.url, start, length, stub.version, this);
          fetchedBytes.addAndGet(length);
        } else {
          served = fetchVerified(client, start, start + length, fetchedBytes);
        }
        stub.refineMtime(served);
        measured(length);
      }
    } finally {
      counted.ifPresent(StreamWindow::fetchEnded);
    }
    return length;
  }

  /** Reports the stream's rate once its {@code length} bytes are in. */
  private void measured(long length) {
    long first;
    synchronized (this) {
      first = firstByteNanos;
    }
    if (first > 0) {
      stub.window().ifPresent(w -> w.transferred(length, System.nanoTime() - first));
    }
  }

  /**
   * Fetches bytes [start, end) of a file with block digests: each block is written, and readers let through it,
   * only once it matches its digest (see {@link BlockVerifier}; segments are whole blocks, so [start, end) is). A
   * block that does not match is fetched once more, from it on and bypassing caches; if it still does not match,
   * the fetch fails (its readers get EIO) and nothing of that block is written.
   */
  private Instant fetchVerified(OriginClient client, long start, long end, AtomicLong fetchedBytes)
      throws IOException {
    BlockVerifier first = new BlockVerifier(stub.digests, start, this::write);
    Instant served;
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
      last = new BlockVerifier(stub.digests, from, this::write);
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

  /** The sink: bytes of the file at {@code at}, written through the stub's private fd, then let through. */
  @Override
  public void write(long at, ByteBuffer buf) throws IOException {
    int n = buf.remaining();
    stub.fd.pwriteFully(buf, at);
    advance(at, at + n);
  }

  /**
   * Bytes [at, upTo) are written: segments written whole are marked present, waiters woken. Throws once a reader
   * abandoned this fetch, which ends it without retries.
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

  /** Ends a fetch that a reader gave up on. */
  static final class AbandonedException extends IOException {
    AbandonedException() {
      super("abandoned: a reader gave up waiting for it");
    }
  }
}
