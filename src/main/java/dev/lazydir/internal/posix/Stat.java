package dev.lazydir.internal.posix;

import java.time.Instant;

/** The parts of statx(2) lazydir uses: identity (dev, ino), type, size, allocation, mtime and owner. */
public record Stat(long dev, long ino, int mode, long size, long blocks, Instant mtime, int uid, int gid) {
  static final int S_IFMT = 0170000;
  static final int S_IFDIR = 0040000;
  static final int S_IFREG = 0100000;
  static final int S_IFLNK = 0120000;

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
