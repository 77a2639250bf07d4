package dev.lazydir.internal.posix;

/**
 * Every errno value lazydir names, and the only place their numbers are written (same numbers on x86_64 and
 * aarch64; AbiLayoutTest checks each one against errno.h). Fan's deny errnos are defined from these.
 */
public final class Errno {
  public static final int EPERM = 1;
  public static final int ENOENT = 2;
  public static final int EINTR = 4;
  public static final int EIO = 5;
  public static final int EBADF = 9;
  public static final int EAGAIN = 11;
  public static final int EBUSY = 16;
  public static final int EEXIST = 17;
  public static final int EXDEV = 18;
  public static final int ENOTDIR = 20;
  public static final int EISDIR = 21;
  public static final int EINVAL = 22;
  public static final int ETXTBSY = 26;
  public static final int ENOSPC = 28;
  public static final int ERANGE = 34;
  public static final int ENAMETOOLONG = 36;
  public static final int ENOTEMPTY = 39;
  public static final int ELOOP = 40;
  public static final int ENODATA = 61;
  public static final int EOPNOTSUPP = 95;
  public static final int EDQUOT = 122;

  private Errno() {}
}
