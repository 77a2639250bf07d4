package dev.lazydir.serve;

import dev.lazydir.index.IndexDigests.FileDigests;
import dev.lazydir.origin.RangeSink;
import dev.lazydir.tree.TreeException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * Stands between a fetch and the disk for a file with block digests: it gathers the answer's bytes block by block
 * in memory and hands a block on (to be written, then let through to readers) only once its SHA-256 is the one the
 * tree index gives; a block that is not ends the fetch with a {@link BlockMismatchException}, and none of its bytes
 * is written. So the disk never holds a wrong byte of such a file (a fetch that writes over bytes already present,
 * a whole-file answer, writes the same bytes), and what readers are let through is always verified.
 *
 * <p>The answer's bytes come in order; a jump (a whole-file answer from offset 0, or a resumed one) starts a new
 * block, which must begin on a block boundary (bytes before the next boundary cannot be checked and are dropped).
 * Not thread-safe: one per fetch.
 */
final class BlockVerifier implements RangeSink {
  /** Where verified blocks go: {@code block}'s remaining bytes are those of the file at {@code at}. */
  @FunctionalInterface
  interface Verified {
    void write(long at, ByteBuffer block) throws IOException;
  }

  /** One block buffer per fetch thread, reused: fetch threads are a fixed pool. */
  private static final ThreadLocal<ByteBuffer> BUFFERS = new ThreadLocal<>();

  private final FileDigests digests;
  private final Verified out;
  private final ByteBuffer block;
  private final MessageDigest sha;
  /** File offset of the block being gathered, or -1 before the first byte. */
  private long blockStart = -1;
  /** The bytes from the fetch's first one up to here are verified and handed on. */
  private long verifiedUpTo;

  /** Blocks larger than this are not verified: each fetch holds one block in memory until it is checked. */
  static final int MAX_VERIFIED_BLOCK = 16 << 20;

  /**
   * The segment size of a file verified in blocks of {@code block} bytes: {@code segmentSize} rounded up to whole
   * blocks. A block too large to hold in memory is refused, naming the file ({@code label}) and the fix.
   */
  static long segmentSize(String label, long segmentSize, long block) throws TreeException {
    if (block > MAX_VERIFIED_BLOCK) {
      throw new TreeException(label + ": the tree index's blocks of " + (block >> 20) + " MiB are larger than"
          + " lazydir verifies (" + (MAX_VERIFIED_BLOCK >> 20) + " MiB); publish an index with a smaller"
          + " --block-size");
    }
    return (Math.max(segmentSize, block) + block - 1) / block * block;
  }

  /** A verifier for a fetch of bytes from {@code start} (a block boundary). */
  BlockVerifier(FileDigests digests, long start, Verified out) {
    this.digests = digests;
    this.out = out;
    this.verifiedUpTo = start;
    ByteBuffer b = BUFFERS.get();
    if (b == null || b.capacity() < digests.blockSize()) {
      b = ByteBuffer.allocateDirect(digests.blockSize());
      BUFFERS.set(b);
    }
    this.block = b.clear();
    try {
      this.sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** First byte from the fetch's start on that is not verified yet (where a fetch again resumes). */
  long verifiedUpTo() {
    return verifiedUpTo;
  }

  @Override
  public void write(long at, ByteBuffer buf) throws IOException {
    long size = digests.blockSize();
    while (buf.hasRemaining()) {
      if (blockStart < 0 || at != blockStart + block.position()) {
        long skip = Math.floorMod(-at, size); // bytes up to the next block boundary
        if (skip > 0) {
          int n = (int) Math.min(skip, buf.remaining());
          buf.position(buf.position() + n);
          at += n;
          continue;
        }
        blockStart = at;
        block.clear();
      }
      int i = (int) (blockStart / size);
      if (i >= digests.blockCount()) {
        throw new IOException("bytes past the end of the file (" + digests.size() + " bytes)");
      }
      int length = digests.blockLength(i);
      int n = Math.min(buf.remaining(), length - block.position());
      block.put(buf.slice(buf.position(), n));
      buf.position(buf.position() + n);
      at += n;
      if (block.position() == length) {
        block.flip();
        sha.update(block.duplicate());
        if (!digests.matches(i, sha.digest())) {
          long from = blockStart;
          blockStart = -1;
          throw new BlockMismatchException(from, length);
        }
        out.write(blockStart, block);
        if (blockStart == verifiedUpTo) {
          verifiedUpTo = blockStart + length;
        }
        blockStart += length;
        block.clear();
      }
    }
  }

  /** A fetched block whose SHA-256 is not the tree index's: none of its bytes was written. */
  static final class BlockMismatchException extends dev.lazydir.origin.WrongBytesException {
    final long offset;

    BlockMismatchException(long offset, int length) {
      super("bytes " + offset + "-" + (offset + length - 1) + " do not match the tree index's digest");
      this.offset = offset;
    }
  }
}
