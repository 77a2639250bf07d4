package dev.lazydir.origin;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The one loop that hands a response body to a {@link RangeSink}, for both fetch paths (OkHttp's body source and
 * {@link PlainRangeFetch}'s socket). It reads into the caller's native buffer and hands the buffer over when it is
 * full, or as soon as nothing more has arrived: a reader waiting for the first bytes of a slow body is let through
 * without waiting for a full buffer. It waits for more only with an empty buffer, and the source bounds that wait
 * (the stall timeout). A body shorter than promised is an EOFException; the caller resumes after the bytes handed
 * over.
 */
final class BodyHandOver {
  /** A buffer per fetching thread: 256 KiB of native memory, reused for every fetch of the thread. */
  static final ThreadLocal<ByteBuffer> BUFFERS = ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(256 << 10));

  /** A body as the loop reads it. */
  interface Source {
    /** Reads what has arrived into buf without waiting: the bytes read, 0 if none has, -1 at the end of the body. */
    int readNow(ByteBuffer buf) throws IOException;

    /** Waits until bytes (or the end of the body) arrive; past the stall timeout, a SocketTimeoutException. */
    void await() throws IOException;
  }

  private BodyHandOver() {}

  /**
   * Hands {@code length} body bytes to sink, the first at {@code offset} in the file. buf's bytes before its
   * position are the body's first ones (read with the head), at most length.
   */
  static void run(Source in, ByteBuffer buf, long offset, long length, RangeSink sink) throws IOException {
    long done = 0;
    buf.limit((int) Math.min(buf.capacity(), length));
    while (done < length) {
      int n = buf.hasRemaining() ? in.readNow(buf) : 0;
      if (n < 0) {
        throw new EOFException("body ended after " + (done + buf.position()) + " of " + length + " bytes");
      }
      if (n == 0 || !buf.hasRemaining()) {
        if (buf.position() == 0) {
          in.await();
          continue;
        }
        buf.flip();
        int handed = buf.remaining();
        sink.write(offset + done, buf);
        done += handed;
        buf.clear().limit((int) Math.min(buf.capacity(), length - done));
      }
    }
  }
}
