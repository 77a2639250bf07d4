package dev.lazydir.index;

import dev.lazydir.internal.posix.Errno;
import dev.lazydir.internal.posix.ErrnoException;
import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Posix;
import java.io.ByteArrayInputStream;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The digests of a tree index's files, kept where the daemon can look one file's up when it starts filling it
 * (STORE/run/{@value #FILE_NAME}): the per-file metadata xattr has no room for them. Written from the index each
 * time it is applied, so a restart verifies as the first start did; each record is keyed by the file's path, size
 * and nanosecond mtime, so a record is used only for the version of the file the index described (a stub that
 * changed since has none, and is filled as any other file).
 *
 * <p>Format (big-endian): the 8-byte magic {@code LZDIGST1}, the block size (int), then one record per file in the
 * index's order (which sorts paths, see {@link TreeIndex#compare}): path length (int), the path's UTF-8 bytes,
 * size (long), mtime in ns (long), SHA-256 of the file (32 bytes), block count (int, 0 when the file has at most
 * one block, whose digest is then the file's), the block digests (32 bytes each); then each record's offset
 * (long), then the trailer: record count (long), offset of the offsets (long), {@code LZDIGEND}. A lookup is a
 * binary search over the offsets on disk: nothing is held in memory, however large the tree.
 */
public final class IndexDigests implements Closeable {
  public static final String FILE_NAME = "index.digests";
  static final String TMP_NAME = FILE_NAME + ".tmp";
  private static final byte[] MAGIC = "LZDIGST1".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] END = "LZDIGEND".getBytes(StandardCharsets.US_ASCII);
  private static final int HEADER = 12;
  private static final int TRAILER = 24;

  /** One file's digests, for the version the index describes. */
  public record FileDigests(int blockSize, long size, byte[] sha256, byte[] blocks) {
    public int blockCount() {
      return (int) ((size + blockSize - 1) / blockSize);
    }

    public long blockStart(int i) {
      return (long) i * blockSize;
    }

    /** Bytes in block i (the last one may be short). */
    public int blockLength(int i) {
      return (int) Math.min(blockSize, size - blockStart(i));
    }

    /** Whether {@code sha256} is the digest the index gives block i. */
    public boolean matches(int i, byte[] sha256) {
      if (blocks == null) {
        return i == 0 && MessageDigest.isEqual(this.sha256, sha256);
      }
      return MessageDigest.isEqual(Arrays.copyOfRange(blocks, i * 32, i * 32 + 32), sha256);
    }

    /** The digests of {@code content} in blocks of {@code blockSize}, as an index would give them. */
    public static FileDigests of(byte[] content, int blockSize) {
      int n = (int) ((content.length + (long) blockSize - 1) / blockSize);
      byte[] blocks = n <= 1 ? null : new byte[n * 32];
      for (int i = 0; n > 1 && i < n; i++) {
        System.arraycopy(IndexDigests.sha256(content, i * blockSize, Math.min(blockSize, content.length - i * blockSize)), 0,
            blocks, i * 32, 32);
      }
      return new FileDigests(blockSize, content.length, IndexDigests.sha256(content, 0, content.length), blocks);
    }
  }

  private final FileChannel ch;
  private final int blockSize;
  private final long count;
  private final long offsetsAt;

  private IndexDigests(FileChannel ch, int blockSize, long count, long offsetsAt) {
    this.ch = ch;
    this.blockSize = blockSize;
    this.count = count;
    this.offsetsAt = offsetsAt;
  }

  public long fileCount() {
    return count;
  }

  public int blockSize() {
    return blockSize;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Writing

  /**
   * Writes the digests of every file of a validated index into {@code dir}/{@value #FILE_NAME}: under a temporary
   * name created exclusively (whatever had that name, a leftover or a planted link, is removed first, never
   * followed), synced, then renamed over the old file (a link there is replaced, not written through). The index
   * is validated whole on the way (an IndexException leaves the old file as it was); returns its entry count.
   */
  public static long write(byte[] gz, Fd dir) throws IOException {
    unlinkIfPresent(dir, TMP_NAME);
    long entries;
    try (Fd tmp = dir.openAt(TMP_NAME, Posix.O_WRONLY | Posix.O_CREAT | Posix.O_EXCL | Posix.O_NOFOLLOW, 0600)) {
      Out out = new Out(tmp);
      long[][] offsets = {new long[1024]};
      long[] n = {0};
      int[] block = {TreeIndex.DEFAULT_BLOCK_SIZE};
      out.put(MAGIC);
      out.putInt(0); // the block size, known after the header: written in place below
      entries = TreeIndex.read(new ByteArrayInputStream(gz), new TreeIndex.Visitor() {
        @Override
        public void blockSize(int blockSize) {
          block[0] = blockSize;
        }

        @Override
        public void entry(TreeIndex.Entry e) throws IOException {
          if (e.type() != TreeIndex.Type.FILE) {
            return;
          }
          if (n[0] == offsets[0].length) {
            offsets[0] = Arrays.copyOf(offsets[0], offsets[0].length * 2);
          }
          offsets[0][(int) n[0]++] = out.position();
          byte[] path = e.path().toString().getBytes(StandardCharsets.UTF_8);
          out.putInt(path.length);
          out.put(path);
          out.putLong(e.size());
          out.putLong(nanos(e.mtime()));
          out.put(e.sha256());
          out.putInt(e.blocks() == null ? 0 : e.blocks().length / 32);
          if (e.blocks() != null) {
            out.put(e.blocks());
          }
        }
      });
      long offsetsAt = out.position();
      for (int i = 0; i < n[0]; i++) {
        out.putLong(offsets[0][i]);
      }
      out.putLong(n[0]);
      out.putLong(offsetsAt);
      out.put(END);
      out.flush();
      ByteBuffer bs = ByteBuffer.allocateDirect(4).putInt(0, block[0]);
      tmp.pwriteFully(bs, MAGIC.length);
      tmp.dataSync();
    } catch (IOException | RuntimeException e) {
      try {
        unlinkIfPresent(dir, TMP_NAME);
      } catch (IOException again) {
        e.addSuppressed(again);
      }
      throw e;
    }
    dir.replaceAt(TMP_NAME, FILE_NAME);
    return entries;
  }

  /** Sequential writes through an Fd, batched in one direct buffer. */
  private static final class Out {
    private final Fd fd;
    private final ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
    private long flushed;

    Out(Fd fd) {
      this.fd = fd;
    }

    long position() {
      return flushed + buf.position();
    }

    void put(byte[] b) throws IOException {
      for (int off = 0; off < b.length; ) {
        if (!buf.hasRemaining()) {
          flush();
        }
        int n = Math.min(buf.remaining(), b.length - off);
        buf.put(b, off, n);
        off += n;
      }
    }

    void putInt(int v) throws IOException {
      put(ByteBuffer.allocate(4).putInt(v).array());
    }

    void putLong(long v) throws IOException {
      put(ByteBuffer.allocate(8).putLong(v).array());
    }

    void flush() throws IOException {
      buf.flip();
      int n = buf.remaining();
      fd.pwriteFully(buf, flushed);
      flushed += n;
      buf.clear();
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Reading

  /**
   * Opens {@code dir}/{@value #FILE_NAME} (never through a link); empty if there is none. A file that is not one
   * (a bad magic or trailer) is refused with an IOException naming it.
   */
  public static Optional<IndexDigests> open(Fd dir) throws IOException {
    FileChannel ch;
    try {
      // A JDK channel cannot open relative to a directory fd; /proc/self/fd/N names the directory, so only the
      // last component is looked up, and NOFOLLOW_LINKS refuses a link there.
      ch = FileChannel.open(Path.of("/proc/self/fd/" + dir.intValue(), FILE_NAME), StandardOpenOption.READ,
          LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (java.nio.file.FileSystemException e) {
      throw new IOException(dir.label() + "/" + FILE_NAME + " cannot be opened (" + e.getReason() + "): lazydir"
          + " keeps the tree index's digests there; remove it if it is not a plain file", e);
    }
    try {
      long size = ch.size();
      ByteBuffer head = read(ch, 0, HEADER);
      ByteBuffer tail = size >= HEADER + TRAILER ? read(ch, size - TRAILER, TRAILER) : null;
      if (tail == null || !Arrays.equals(Arrays.copyOf(head.array(), 8), MAGIC)
          || !Arrays.equals(Arrays.copyOfRange(tail.array(), 16, 24), END)) {
        throw corrupt(dir, "not a digests file");
      }
      int blockSize = head.getInt(8);
      long count = tail.getLong(0);
      long offsetsAt = tail.getLong(8);
      if (blockSize < 4096 || Integer.bitCount(blockSize) != 1 || count < 0 || offsetsAt < HEADER
          || offsetsAt + count * 8 != size - TRAILER) {
        throw corrupt(dir, "inconsistent trailer");
      }
      return Optional.of(new IndexDigests(ch, blockSize, count, offsetsAt));
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
  }

  private static IOException corrupt(Fd dir, String what) {
    return new IOException(dir.label() + "/" + FILE_NAME + " is corrupt (" + what + "); serve writes it again"
        + " whenever it applies the origin's tree index (or remove it: the files it names are then not verified)");
  }

  /**
   * The digests of the file at {@code path} (relative, names separated by "/") of the given size and mtime, as
   * the index gave them; empty if the index named no such file, or another version of it.
   */
  public Optional<FileDigests> lookup(String path, long size, Instant mtime) throws IOException {
    List<String> want = List.of(path.split("/", -1));
    long lo = 0;
    long hi = count - 1;
    while (lo <= hi) {
      long mid = (lo + hi) >>> 1;
      long at = read(ch, offsetsAt + mid * 8, 8).getLong(0);
      String p = pathAt(at);
      int c = TreeIndex.compare(List.of(p.split("/", -1)), want);
      if (c < 0) {
        lo = mid + 1;
      } else if (c > 0) {
        hi = mid - 1;
      } else {
        return recordAt(at + 4 + p.getBytes(StandardCharsets.UTF_8).length, size, mtime);
      }
    }
    return Optional.empty();
  }

  private String pathAt(long at) throws IOException {
    int len = read(ch, at, 4).getInt(0);
    if (len <= 0 || len > TreeIndex.MAX_PATH_BYTES || at + 4 + len > offsetsAt) {
      throw new IOException(FILE_NAME + " is corrupt (bad record at " + at + ")");
    }
    return new String(read(ch, at + 4, len).array(), StandardCharsets.UTF_8);
  }

  private Optional<FileDigests> recordAt(long at, long size, Instant mtime) throws IOException {
    ByteBuffer fixed = read(ch, at, 8 + 8 + 32 + 4);
    long recordedSize = fixed.getLong(0);
    long recordedMtime = fixed.getLong(8);
    if (recordedSize != size || mtime == null || recordedMtime != nanos(mtime)) {
      return Optional.empty(); // another version of the file than the one the index described
    }
    byte[] sha = Arrays.copyOfRange(fixed.array(), 16, 48);
    int n = fixed.getInt(48);
    long blocks = (size + blockSize - 1) / blockSize;
    if (n == 0 ? blocks > 1 : n != blocks || at + 52 + (long) n * 32 > offsetsAt) {
      throw new IOException(FILE_NAME + " is corrupt (block count of the record at " + at + ")");
    }
    byte[] digests = n == 0 ? null : read(ch, at + 52, n * 32).array();
    return Optional.of(new FileDigests(blockSize, size, sha, digests));
  }

  private static ByteBuffer read(FileChannel ch, long at, int n) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(n);
    while (b.hasRemaining()) {
      if (ch.read(b, at + b.position()) < 0) {
        throw new IOException(FILE_NAME + " is truncated");
      }
    }
    return b.flip();
  }

  static long nanos(Instant t) {
    return Math.addExact(Math.multiplyExact(t.getEpochSecond(), 1_000_000_000L), t.getNano());
  }

  static byte[] sha256(byte[] b, int off, int len) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      md.update(b, off, len);
      return md.digest();
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void unlinkIfPresent(Fd dir, String name) throws IOException {
    try {
      dir.unlinkAt(name, false);
    } catch (ErrnoException e) {
      if (e.errno() != Errno.ENOENT) {
        throw e;
      }
    }
  }

  @Override
  public void close() throws IOException {
    ch.close();
  }
}
