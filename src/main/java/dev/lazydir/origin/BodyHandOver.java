package dev.lazydir.origin;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Instant;

/**
 * The one loop that hands a response body to a {@link RangeSink}, for both fetch paths (OkHttp's body source and
 * {@link PlainRangeFetch}'s socket). It reads into the caller's native buffer and hands the buffer over when it is
 * full, or as soon as nothing more has arrived: a reader waiting for the first bytes of a slow body is let through
 * without waiting for a full buffer. It waits for more only with an empty buffer, and the source bounds that wait
 * (the stall timeout). A body shorter than promised is an EOFException; the caller resumes after the bytes handed
 * over, which {@link Handed} counts. It is the one place a sink is called, so a failure of the sink (a disk write,
 * bytes refused) is told apart from the body's here: it is a {@link SinkFailure}, never retried.
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
   * How far one fetch of a range has handed bytes over, across its attempts and servers (the next attempt resumes
   * at {@link #next}), and the Last-Modified the origin last sent with them.
   */
  static final class Handed {
    /** First byte of the asked range not handed over yet. */
    long next;
    Instant served;

    Handed(long from) {
      this.next = from;
    }

    /** n bytes from {@code at} were handed over (a whole-file answer's bytes before {@code next} move nothing). */
    void add(long at, int n) {
      if (at <= next && at + n > next) {
        next = at + n;
      }
    }
  }

  /** A failure of the caller's sink: not the origin's, so not retried; its cause is what the caller gets. */
  static final class SinkFailure extends IOException {
    SinkFailure(IOException cause) {
      super(cause);
    }

    @Override
    public synchronized IOException getCause() {
      return (IOException) super.getCause();
    }
  }

  /**
   * Hands {@code length} body bytes to sink, the first at {@code offset} in the file, counting them in
   * {@code handed}. buf's bytes before its position are the body's first ones (read with the head), at most length.
   */
  static void run(Source in, ByteBuffer buf, long offset, long length, RangeSink sink, Handed handed)
      throws IOException {
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
        int batch = buf.remaining();
        try {
          sink.write(offset + done, buf);
        } catch (IOException e) {
          throw new SinkFailure(e);
        }
        handed.add(offset + done, batch);
        done += batch;
        buf.clear().limit((int) Math.min(buf.capacity(), length - done));
      }
    }
  }
}
