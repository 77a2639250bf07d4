package dev.lazydir.internal.posix;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Instant;

/**
 * The parts of statx(2) lazydir uses: identity (dev, ino), type, size, allocation, mtime and owner. The one
 * decoder of struct statx ({@link #decode}), for {@link Fd}'s stats and the fanotify group's event-fd type check;
 * every offset it reads is in {@link Abi}, checked by AbiLayoutTest.
 */
public record Stat(long dev, long ino, int mode, long size, long blocks, Instant mtime, int uid, int gid) {
  static final int S_IFMT = 0170000;
  static final int S_IFDIR = 0040000;
  static final int S_IFREG = 0100000;
  static final int S_IFLNK = 0120000;

  /** A buffer for statx(2) to fill (struct statx fits it). */
  public static byte[] newBuffer() {
    return new byte[Abi.STATX_SIZE];
  }

  /** Decodes a struct statx that statx(2) filled (in native byte order). */
  public static Stat decode(byte[] statx) {
    ByteBuffer b = ByteBuffer.wrap(statx).order(ByteOrder.nativeOrder());
    int mode = b.getShort(Abi.STATX_MODE) & 0xffff;
    long ino = b.getLong(Abi.STATX_INO);
    long size = b.getLong(Abi.STATX_SIZE_FIELD);
    long blocks = b.getLong(Abi.STATX_BLOCKS);
    Instant mtime = Instant.ofEpochSecond(b.getLong(Abi.STATX_MTIME), b.getInt(Abi.STATX_MTIME + Abi.TIMESTAMP_NSEC));
    long dev = ((long) b.getInt(Abi.STATX_DEV_MAJOR) << 32) | (b.getInt(Abi.STATX_DEV_MINOR) & 0xffffffffL);
    return new Stat(dev, ino, mode, size, blocks, mtime, b.getInt(Abi.STATX_UID), b.getInt(Abi.STATX_GID));
  }

  public boolean isDirectory() {
    return (mode & S_IFMT) == S_IFDIR;
  }

  public boolean isRegularFile() {
    return (mode & S_IFMT) == S_IFREG;
  }

  public boolean isSymlink() {
    return (mode & S_IFMT) == S_IFLNK;
  }

  /** Permission bits (the low 12 bits of the mode: rwx for owner, group, others, and setuid/setgid/sticky). */
  public int permissions() {
    return mode & 07777;
  }

  /** Bytes of disk actually allocated (st_blocks is in 512-byte units whatever the block size). */
  public long allocatedBytes() {
    return blocks * 512;
  }
}
