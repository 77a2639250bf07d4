package dev.lazydir.hsm;

import java.nio.charset.StandardCharsets;
import java.util.BitSet;
import java.util.Optional;

/**
 * Which chunks of a file are on disk. Stored in the xattr {@code user.lazydir.map} as
 * {@code "v=1 c=CHUNK n=COUNT t=TAG\n"} followed by the bitmap bytes (bit i of byte i/8 = chunk i), or
 * {@code "v=1 c=CHUNK n=COUNT t=TAG full"} once every chunk is there. A chunk is recorded on disk only after its
 * bytes are written and synced, so the map never claims bytes that are not on disk. TAG fingerprints the
 * origin file the bytes came from (size, ETag, mtime to the minute): a map written for an older version of the
 * file (a late write racing a reset by crawl) does not match the new metadata and is ignored, so stale chunks
 * are fetched again instead of being trusted. Not thread-safe: the owner synchronizes.
 */
public final class ChunkMap {
  /** Keeps the encoded map within one 4 KiB xattr block: the chunk size grows for huge files. */
  static final int MAX_CHUNKS = 30_000;

  private final long fileSize;
  private final long chunkSize;
  private final int count;
  private final BitSet present;
  private final String tag;

  private ChunkMap(long fileSize, long chunkSize, BitSet present, String tag) {
    this.tag = tag;
    this.fileSize = fileSize;
    this.chunkSize = chunkSize;
    this.count = (int) Math.max(1, (fileSize + chunkSize - 1) / chunkSize);
    this.present = present;
  }

  /** An empty map; the chunk size is {@code preferred} unless the file needs bigger chunks to fit. */
  public static ChunkMap empty(long fileSize, long preferred, String tag) {
    return new ChunkMap(fileSize, chunkSizeFor(fileSize, preferred), new BitSet(), tag);
  }

  /** A map of a file that is wholly present. */
  public static ChunkMap full(long fileSize, long preferred, String tag) {
    ChunkMap m = empty(fileSize, preferred, tag);
    for (int c = 0; c < m.count; c++) {
      m.present.set(c);
    }
    return m;
  }

  /**
   * What is recorded on disk about a file's bytes: all of them when its metadata says complete, else its map
   * xattr if that is of the version the metadata names; empty when nothing valid is recorded.
   */
  public static Optional<ChunkMap> recorded(dev.lazydir.tree.EntryMeta.FileMeta meta, Optional<byte[]> mapXattr,
      long preferred) {
    String tag = tagOf(meta);
    return meta.complete() ? Optional.of(full(meta.size(), preferred, tag))
        : mapXattr.flatMap(v -> decode(v, meta.size(), tag));
  }

  /** The fingerprint of the origin file a map is valid for. */
  public static String tagOf(dev.lazydir.tree.EntryMeta.FileMeta meta) {
    long minute = meta.mtime() == null ? 0 : meta.mtime().getEpochSecond() / 60;
    String key = meta.size() + "|" + (meta.etag() == null ? "" : meta.etag()) + "|" + minute;
    try {
      byte[] d = java.security.MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
      return java.util.HexFormat.of().formatHex(d, 0, 4);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  static long chunkSizeFor(long fileSize, long preferred) {
    long chunk = Math.max(4096, preferred);
    while ((fileSize + chunk - 1) / chunk > MAX_CHUNKS) {
      chunk *= 2;
    }
    return chunk;
  }

  /**
   * Reads a stored map for a file of {@code fileSize}; empty if absent, of another version, or inconsistent
   * with the file (then the file is treated as not populated at all: refetching is safe, trusting is not).
   */
  public static Optional<ChunkMap> decode(byte[] value, long fileSize, String tag) {
    int nl = indexOf(value, (byte) '\n');
    String header = new String(value, 0, nl < 0 ? value.length : nl, StandardCharsets.US_ASCII);
    String[] parts = header.split(" ");
    if (parts.length < 4 || !parts[0].equals("v=1") || !parts[1].startsWith("c=") || !parts[2].startsWith("n=")
        || !parts[3].equals("t=" + tag)) {
      return Optional.empty();
    }
    try {
      long chunk = Long.parseLong(parts[1].substring(2));
      int n = Integer.parseInt(parts[2].substring(2));
      if (chunk < 4096 || n != (int) Math.max(1, (fileSize + chunk - 1) / chunk)) {
        return Optional.empty();
      }
      BitSet bits;
      if (parts.length == 5 && parts[4].equals("full") && nl < 0) {
        bits = new BitSet(n);
        bits.set(0, n);
      } else if (parts.length == 4 && nl >= 0) {
        byte[] raw = new byte[value.length - nl - 1];
        System.arraycopy(value, nl + 1, raw, 0, raw.length);
        bits = BitSet.valueOf(raw);
        if (bits.length() > n) {
          return Optional.empty();
        }
      } else {
        return Optional.empty();
      }
      return Optional.of(new ChunkMap(fileSize, chunk, bits, tag));
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }

  public byte[] encode() {
    String header = "v=1 c=" + chunkSize + " n=" + count + " t=" + tag;
    if (isComplete()) {
      return (header + " full").getBytes(StandardCharsets.US_ASCII);
    }
    byte[] h = (header + "\n").getBytes(StandardCharsets.US_ASCII);
    byte[] bits = present.toByteArray();
    byte[] out = new byte[h.length + bits.length];
    System.arraycopy(h, 0, out, 0, h.length);
    System.arraycopy(bits, 0, out, h.length, bits.length);
    return out;
  }

  public long chunkSize() {
    return chunkSize;
  }

  public int chunkCount() {
    return count;
  }

  public long fileSize() {
    return fileSize;
  }

  public boolean has(int chunk) {
    return present.get(chunk);
  }

  public void mark(int chunk) {
    if (chunk < 0 || chunk >= count) {
      throw new IndexOutOfBoundsException("chunk " + chunk + " of " + count);
    }
    present.set(chunk);
  }

  public boolean isComplete() {
    return present.cardinality() == count;
  }

  /** Whether every byte of [offset, offset+count) is present; count 0 means the whole file. */
  public boolean covers(long offset, long count) {
    if (count == 0) {
      return isComplete();
    }
    if (offset >= fileSize) {
      return true; // a read past the end reads nothing
    }
    for (int c = chunkOf(offset), last = chunkOf(Math.min(fileSize, offset + count) - 1); c <= last; c++) {
      if (!present.get(c)) {
        return false;
      }
    }
    return true;
  }

  public int presentCount() {
    return present.cardinality();
  }

  /** Bytes on disk (the last chunk may be short). */
  public long presentBytes() {
    long bytes = (long) present.cardinality() * chunkSize;
    if (present.get(count - 1)) {
      bytes -= (long) count * chunkSize - fileSize;
    }
    return Math.max(0, Math.min(bytes, fileSize));
  }

  /** First chunk index covering {@code offset} (clamped to the file). */
  public int chunkOf(long offset) {
    return (int) Math.min(count - 1, Math.max(0, offset) / chunkSize);
  }

  public long chunkStart(int chunk) {
    return chunk * chunkSize;
  }

  public long chunkLength(int chunk) {
    return Math.min(chunkSize, fileSize - chunkStart(chunk));
  }

  private static int indexOf(byte[] a, byte b) {
    for (int i = 0; i < a.length; i++) {
      if (a[i] == b) {
        return i;
      }
    }
    return -1;
  }
}
