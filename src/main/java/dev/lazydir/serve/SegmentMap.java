package dev.lazydir.serve;

import java.nio.charset.StandardCharsets;
import java.util.BitSet;
import java.util.Optional;

/**
 * Which segments of a file are on disk. Stored in the xattr {@code user.lazydir.map} as
 * {@code "v=1 c=CHUNK n=COUNT t=TAG\n"} followed by the bitmap bytes (bit i of byte i/8 = segment i), or
 * {@code "v=1 c=CHUNK n=COUNT t=TAG full"} once every segment is there. A segment is recorded on disk only after its
 * bytes are written and synced, so the map never claims bytes that are not on disk. TAG fingerprints the
 * origin file the bytes came from (size, ETag, mtime to the minute): a map written for an older version of the
 * file (a late write racing a reset by crawl) does not match the new metadata and is ignored, so stale segments
 * are fetched again instead of being trusted. Not thread-safe: the owner synchronizes.
 */
public final class SegmentMap {
  /** Keeps the encoded map within one 4 KiB xattr block: the segment size grows for huge files. */
  static final int MAX_SEGMENTS = 30_000;

  private final long fileSize;
  private final long segmentSize;
  private final int count;
  private final BitSet present;
  private final String tag;

  private SegmentMap(long fileSize, long segmentSize, BitSet present, String tag) {
    this.tag = tag;
    this.fileSize = fileSize;
    this.segmentSize = segmentSize;
    this.count = (int) Math.max(1, (fileSize + segmentSize - 1) / segmentSize);
    this.present = present;
  }

  /** An empty map; the segment size is {@code preferred} unless the file needs bigger segments to fit. */
  public static SegmentMap empty(long fileSize, long preferred, String tag) {
    return new SegmentMap(fileSize, segmentSizeFor(fileSize, preferred), new BitSet(), tag);
  }

  /** A map of a file that is wholly present. */
  public static SegmentMap full(long fileSize, long preferred, String tag) {
    SegmentMap m = empty(fileSize, preferred, tag);
    for (int c = 0; c < m.count; c++) {
      m.present.set(c);
    }
    return m;
  }

  /**
   * What is recorded on disk about a file's bytes: all of them when its metadata says complete, else its map
   * xattr if that is of the version the metadata names; empty when nothing valid is recorded.
   */
  public static Optional<SegmentMap> recorded(dev.lazydir.tree.EntryMeta.FileMeta meta, Optional<byte[]> mapXattr,
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

  static long segmentSizeFor(long fileSize, long preferred) {
    long segment = Math.max(4096, preferred);
    while ((fileSize + segment - 1) / segment > MAX_SEGMENTS) {
      segment *= 2;
    }
    return segment;
  }

  /**
   * Reads a stored map for a file of {@code fileSize}; empty if absent, of another version, or inconsistent
   * with the file (then the file is treated as not populated at all: refetching is safe, trusting is not).
   */
  public static Optional<SegmentMap> decode(byte[] value, long fileSize, String tag) {
    int nl = indexOf(value, (byte) '\n');
    String header = new String(value, 0, nl < 0 ? value.length : nl, StandardCharsets.US_ASCII);
    String[] parts = header.split(" ");
    if (parts.length < 4 || !parts[0].equals("v=1") || !parts[1].startsWith("c=") || !parts[2].startsWith("n=")
        || !parts[3].equals("t=" + tag)) {
      return Optional.empty();
    }
    try {
      long segment = Long.parseLong(parts[1].substring(2));
      int n = Integer.parseInt(parts[2].substring(2));
      if (segment < 4096 || n != (int) Math.max(1, (fileSize + segment - 1) / segment)) {
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
      return Optional.of(new SegmentMap(fileSize, segment, bits, tag));
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }

  public byte[] encode() {
    String header = "v=1 c=" + segmentSize + " n=" + count + " t=" + tag;
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

  public long segmentSize() {
    return segmentSize;
  }

  public int segmentCount() {
    return count;
  }

  public long fileSize() {
    return fileSize;
  }

  public boolean has(int segment) {
    return present.get(segment);
  }

  public void mark(int segment) {
    if (segment < 0 || segment >= count) {
      throw new IndexOutOfBoundsException("segment " + segment + " of " + count);
    }
    present.set(segment);
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
    for (int c = segmentOf(offset), last = segmentOf(Math.min(fileSize, offset + count) - 1); c <= last; c++) {
      if (!present.get(c)) {
        return false;
      }
    }
    return true;
  }

  public int presentCount() {
    return present.cardinality();
  }

  /** Bytes on disk (the last segment may be short). */
  public long presentBytes() {
    long bytes = (long) present.cardinality() * segmentSize;
    if (present.get(count - 1)) {
      bytes -= (long) count * segmentSize - fileSize;
    }
    return Math.max(0, Math.min(bytes, fileSize));
  }

  /** First segment index covering {@code offset} (clamped to the file). */
  public int segmentOf(long offset) {
    return (int) Math.min(count - 1, Math.max(0, offset) / segmentSize);
  }

  public long segmentStart(int segment) {
    return segment * segmentSize;
  }

  public long segmentLength(int segment) {
    return Math.min(segmentSize, fileSize - segmentStart(segment));
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
