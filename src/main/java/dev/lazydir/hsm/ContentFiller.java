package dev.lazydir.hsm;

import dev.lazydir.origin.OriginClient;
import dev.lazydir.tree.EntryMeta.FileMeta;
import dev.lazydir.tree.EntryMeta.TimePrecision;
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
 * Makes byte ranges of stubs present: each missing chunk is fetched once (readers of the same chunk share the
 * fetch), written through the private store fd, and recorded in the chunk map (on disk only after a sync). Sequential
 * readers get the next chunks fetched ahead so a stream never waits for a round trip. Every wait is bounded.
 */
public final class ContentFiller {
  private static final Logger LOG = Logger.getLogger(ContentFiller.class.getName());

  private final OriginClient client;
  private final ExecutorService fetchPool;
  private final int readaheadChunks;
  private final Duration timeout;
  private final Consumer<OpenStub> onComplete;
  final AtomicLong fetchedBytes = new AtomicLong();
  final AtomicLong fetches = new AtomicLong();

  public ContentFiller(OriginClient client, ExecutorService fetchPool, int readaheadChunks, Duration timeout,
      Consumer<OpenStub> onComplete) {
    this.client = client;
    this.fetchPool = fetchPool;
    this.readaheadChunks = readaheadChunks;
    this.timeout = timeout;
    this.onComplete = onComplete;
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
    ChunkMap map = stub.mapView();
    long size = map.fileSize();
    long end = count == 0 && offset == 0 ? size : Math.min(size, offset + count);
    if (offset >= end) {
      return;
    }
    int first = map.chunkOf(offset);
    int last = map.chunkOf(end - 1);
    List<ChunkFetch> waits = new ArrayList<>();
    List<Long> upTo = new ArrayList<>();
    for (int c = first; c <= last; c++) {
      if (!stub.has(c)) {
        waits.add(request(stub, c));
        upTo.add(Math.min(end, map.chunkStart(c) + map.chunkLength(c)));
      }
    }
    int previous = stub.lastChunk;
    stub.lastChunk = last;
    if (first == 0 || first == previous || first == previous + 1) {
      int from = last + 1;
      int to = Math.min(map.chunkCount() - 1, last + readaheadChunks);
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
    try {
      // A reader waits for its own bytes, not for the whole segment: the first bytes of a stream are let
      // through as soon as they are written (the segment is recorded as present only once it is complete).
      for (int i = 0; i < waits.size(); i++) {
        waits.get(i).awaitBytes(upTo.get(i), deadline);
      }
    } catch (TimeoutException e) {
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

  private ChunkFetch request(OpenStub stub, int chunk) {
    ChunkFetch existing = stub.inflight.get(chunk);
    if (existing != null) {
      return existing;
    }
    ChunkFetch mine = new ChunkFetch(stub.mapView().chunkStart(chunk));
    existing = stub.inflight.putIfAbsent(chunk, mine);
    if (existing != null) {
      return existing;
    }
    // The fetch holds the stub open until its last write: a close meanwhile (a re-listing) waits for it.
    if (!stub.holdForWriting()) {
      stub.inflight.remove(chunk, mine);
      mine.completeExceptionally(new OpenStub.ClosedException(stub.label));
      return mine;
    }
    try {
      fetchPool.execute(() -> {
        try {
          if (!stub.has(chunk)) {
            fetch(stub, chunk, mine);
          }
          mine.complete(null);
        } catch (Throwable t) {
          mine.completeExceptionally(t);
        } finally {
          stub.inflight.remove(chunk, mine);
          releaseWriter(stub);
        }
      });
    } catch (java.util.concurrent.RejectedExecutionException e) {
      stub.inflight.remove(chunk, mine);
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

  private void fetch(OpenStub stub, int chunk, ChunkFetch progress) throws IOException {
    long t0 = System.nanoTime();
    ChunkMap map = stub.mapView();
    long start = map.chunkStart(chunk);
    long length = map.chunkLength(chunk);
    if (length > 0) {
      FileMeta meta = stub.meta();
      String etag = meta.etag() != null && !meta.etag().startsWith("#") ? meta.etag() : null;
      java.time.Instant validator = meta.mtimePrecision() == TimePrecision.SECONDS ? meta.mtime() : null;
      fetches.incrementAndGet();
      java.time.Instant served = client.fetchRange(stub.url, start, length, map.fileSize(), etag, validator,
          (at, buf) -> {
            int n = buf.remaining();
            stub.fd.pwriteFully(buf, at);
            progress.advance(at + n);
          });
      fetchedBytes.addAndGet(length);
      stub.refineMtime(served);
    }
    stub.markPresent(chunk);
    LOG.fine(() -> stub.label + ": chunk " + chunk + " present (" + (System.nanoTime() - t0) / 1_000_000 + " ms)");
    if (stub.isComplete()) {
      onComplete.accept(stub);
    }
  }

  /** One segment's fetch: completes when the segment is recorded; tells waiters how far its bytes are written. */
  static final class ChunkFetch extends CompletableFuture<Void> {
    private long written;

    ChunkFetch(long start) {
      this.written = start;
      whenComplete((v, e) -> {
        synchronized (this) {
          notifyAll();
        }
      });
    }

    synchronized void advance(long upTo) {
      if (upTo > written) {
        written = upTo;
        notifyAll();
      }
    }

    /**
     * Returns once the bytes before {@code upTo} are written; throws the fetch's failure if it ends without
     * them, or TimeoutException at the deadline.
     */
    void awaitBytes(long upTo, long deadlineNanos) throws InterruptedException, ExecutionException, TimeoutException {
      synchronized (this) {
        while (written < upTo && !isDone()) {
          long left = deadlineNanos - System.nanoTime();
          if (left <= 0) {
            throw new TimeoutException();
          }
          TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        if (written >= upTo) {
          return;
        }
      }
      get(); // done without our bytes: a failure (thrown here) or a chunk that needed no fetch
    }
  }
}
