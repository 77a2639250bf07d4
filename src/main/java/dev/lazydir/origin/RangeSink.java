package dev.lazydir.origin;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Where {@link OriginClient#fetchRange} puts the bytes it fetches: called in order, each time with the offset in
 * the file of the buffer's remaining bytes. The buffer is direct (native memory), so the sink can pass it to
 * write(2) without another copy; it is reused once the call returns. A sink's IOException (a failed disk write)
 * ends the fetch as it is, and is never retried.
 */
@FunctionalInterface
public interface RangeSink {
  void write(long offset, ByteBuffer buffer) throws IOException;
}
