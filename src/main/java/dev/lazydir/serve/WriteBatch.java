package dev.lazydir.serve;

import dev.lazydir.origin.RangeSink;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Gathers a stream's small pieces into writes of up to {@link #SIZE} bytes, aligned to it, before they go to the
 * stub (pieces of {@link #LARGE} bytes or more are written as they come).
 * Over a network a body arrives in pieces of a few KiB (what the link delivers in a millisecond), and the page
 * cache keeps a file in folios of the sizes it was written in: a file written a few KiB at a time reads back from
 * the page cache about three times slower than a copy (bench/run's warm re-read came out 0.2-0.8x local through
 * wan and far, 0.92x on loopback where pieces are large). A reader never waits for a batch: while one waits on the
 * stream every piece is written at once, and a reader that starts waiting writes what is gathered first.
 */
final class WriteBatch implements RangeSink {
  static final int SIZE = 256 << 10;
  /** Pieces this large are written as they come. */
  static final int LARGE = 64 << 10;
  private static final ThreadLocal<ByteBuffer> BUFFERS = ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(SIZE));

  private final OpenStub stub;
  private final SegmentFetch progress;
  /** The fetch thread's buffer: gathered bytes are [start, start + buf.position()) of the file. */
  private final ByteBuffer buf = BUFFERS.get().clear();
  private long start;
  private boolean closed;
  private IOException failure;

  WriteBatch(OpenStub stub, SegmentFetch progress) {
    this.stub = stub;
    this.progress = progress;
  }

  @Override
  public synchronized void write(long offset, ByteBuffer piece) throws IOException {
    if (failure != null) {
      throw failure;
    }
    if (closed) {
      throw new IOException(stub.label + ": write after the stream's batch was closed");
    }
    long at = offset;
    if (buf.position() > 0 && at != start + buf.position()) {
      flushLocked();
    }
    if (buf.position() == 0 && piece.remaining() >= LARGE) {
      // A large piece (loopback, a fast link) is written as it is: no copy, its folios are large already.
      int n = piece.remaining();
      try {
        stub.fd.pwriteFully(piece, at);
      } catch (IOException | RuntimeException e) {
        failure = e instanceof IOException io ? io : new IOException(e);
        throw failure;
      }
      progress.advance(at, at + n);
      return;
    }
    while (piece.hasRemaining()) {
      if (buf.position() == 0) {
        start = at;
      }
      long end = start + buf.position();
      int n = (int) Math.min(piece.remaining(), Math.min(SIZE - buf.position(), SIZE - end % SIZE));
      ByteBuffer part = piece.slice();
      part.limit(n);
      buf.put(part);
      piece.position(piece.position() + n);
      at += n;
      if (buf.position() == SIZE || (start + buf.position()) % SIZE == 0) {
        flushLocked();
      }
    }
    if (progress.waited()) {
      flushLocked();
    }
  }

  /** Writes what is gathered (a reader starts waiting); a failure is the stream's to report, not the reader's. */
  synchronized void flushQuietly() {
    if (closed || failure != null) {
      return;
    }
    try {
      flushLocked();
    } catch (IOException e) {
      // recorded in failure (a write) or the stream's own (abandoned): its thread throws it at its next bytes
    }
  }

  /**
   * Writes what is gathered; no write after this. A write that failed before (a reader's flush that met a full
   * disk) is thrown here too: the stream must not end as if its bytes were all on disk.
   */
  synchronized void close() throws IOException {
    if (closed) {
      return;
    }
    try {
      if (failure == null) {
        flushLocked();
      }
    } finally {
      closed = true;
      buf.clear();
    }
    if (failure != null) {
      throw failure;
    }
  }

  private void flushLocked() throws IOException {
    if (buf.position() == 0) {
      return;
    }
    buf.flip();
    long from = start;
    int n = buf.remaining();
    try {
      stub.fd.pwriteFully(buf, from);
    } catch (IOException | RuntimeException e) {
      failure = e instanceof IOException io ? io : new IOException(e);
      buf.clear();
      throw failure;
    }
    buf.clear();
    progress.advance(from, from + n);
  }
}
