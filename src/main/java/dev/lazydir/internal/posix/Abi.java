package dev.lazydir.internal.posix;

/**
 * Struct layouts the native layer reads by offset (Linux x86_64/aarch64 with glibc). AbiLayoutTest checks them
 * against the C compiler's view (native-shim/abi-layout.c), so a different layout fails a test, not a user.
 */
final class Abi {
  static final int STATX_SIZE = 256;
  /** stx_nlink (u32). */
  static final int STATX_NLINK = 16;
  static final int STATX_UID = 20;
  static final int STATX_GID = 24;
  static final int STATX_MODE = 28;
  static final int STATX_INO = 32;
  static final int STATX_SIZE_FIELD = 40;
  static final int STATX_BLOCKS = 48;
  static final int STATX_MTIME = 112;
  /** tv_nsec in a struct statx_timestamp {s64 tv_sec; u32 tv_nsec;}. */
  static final int TIMESTAMP_NSEC = 8;
  static final int STATX_DEV_MAJOR = 136;
  static final int STATX_DEV_MINOR = 140;
  static final int DIRENT_NAME = 19;
  static final int PASSWD_UID = 16;
  static final int PASSWD_GID = 20;
  static final int GROUP_GID = 16;
  static final int TIMESPEC_SIZE = 16;
  static final int RENAME_NOREPLACE = 1;
  static final int FALLOC_FL_KEEP_SIZE = 0x01;
  static final int FALLOC_FL_PUNCH_HOLE = 0x02;
  static final int F_SETLEASE = 1024;
  static final int F_GETLEASE = 1025;
  static final int SIGIO = 29;

  private Abi() {}
}
