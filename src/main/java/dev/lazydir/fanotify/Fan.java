package dev.lazydir.fanotify;

import dev.lazydir.internal.posix.Errno;

/**
 * fanotify constants (mainline ABI as of Linux 6.14+; Debian's headers are older, so they are defined here) and the
 * deny-with-errno response encoding. What each one was observed to do is pinned by the fact tests.
 */
public final class Fan {
  // fanotify_init() flags
  public static final int FAN_CLOEXEC = 0x1;
  public static final int FAN_NONBLOCK = 0x2;
  public static final int FAN_CLASS_NOTIF = 0x0;
  public static final int FAN_CLASS_CONTENT = 0x4;
  /** Needed for FAN_PRE_ACCESS and for FAN_DENY_ERRNO answers; requires CAP_SYS_ADMIN. */
  public static final int FAN_CLASS_PRE_CONTENT = 0x8;
  /** Report a failure to open the event fd as fd = -errno instead of failing read(). */
  public static final int FAN_REPORT_FD_ERROR = 0x2000;
  public static final int FAN_UNLIMITED_QUEUE = 0x10;

  // event mask bits (u64)
  public static final long FAN_ACCESS = 0x1L;
  public static final long FAN_MODIFY = 0x2L;
  /** A file or directory was opened (a notification: nobody waits for it). */
  public static final long FAN_OPEN = 0x20L;
  public static final long FAN_Q_OVERFLOW = 0x4000L;
  public static final long FAN_OPEN_PERM = 0x10000L;
  public static final long FAN_ACCESS_PERM = 0x20000L;
  public static final long FAN_OPEN_EXEC_PERM = 0x40000L;
  /** Pre-content access (read, write, mmap, truncate...) with a range info record; regular files only. */
  public static final long FAN_PRE_ACCESS = 0x00100000L;
  public static final long FAN_EVENT_ON_CHILD = 0x08000000L;
  public static final long FAN_ONDIR = 0x40000000L;
  /** The permission events a listener must answer. */
  public static final long FAN_ALL_PERM_EVENTS = FAN_OPEN_PERM | FAN_ACCESS_PERM | FAN_OPEN_EXEC_PERM | FAN_PRE_ACCESS;

  // fanotify_mark() flags
  public static final int FAN_MARK_ADD = 0x1;
  public static final int FAN_MARK_REMOVE = 0x2;
  public static final int FAN_MARK_DONT_FOLLOW = 0x4;
  public static final int FAN_MARK_ONLYDIR = 0x8;
  public static final int FAN_MARK_MOUNT = 0x10;
  public static final int FAN_MARK_IGNORED_MASK = 0x20;
  public static final int FAN_MARK_IGNORED_SURV_MODIFY = 0x40;
  public static final int FAN_MARK_FLUSH = 0x80;
  public static final int FAN_MARK_FILESYSTEM = 0x100;
  public static final int FAN_MARK_EVICTABLE = 0x200;
  /** New-style ignore mask (FAN_ONDIR / FAN_EVENT_ON_CHILD in the mask are honoured); directories need SURV_MODIFY. */
  public static final int FAN_MARK_IGNORE = 0x400;

  // responses
  public static final int FAN_ALLOW = 0x1;
  public static final int FAN_DENY = 0x2;
  /** Flag on an answer: the kernel audits the decision. */
  public static final int FAN_AUDIT = 0x10;

  // event layout
  public static final int FAN_NOFD = -1;
  public static final int FANOTIFY_METADATA_VERSION = 3;
  public static final int FAN_EVENT_METADATA_LEN = 24;
  public static final int FAN_EVENT_INFO_TYPE_RANGE = 6;
  public static final int FAN_RESPONSE_LEN = 8;

  // the errnos the kernel accepts in FAN_DENY_ERRNO (the numbers are Errno's)
  public static final int EPERM = Errno.EPERM;
  public static final int EIO = Errno.EIO;
  public static final int EAGAIN = Errno.EAGAIN;
  public static final int EBUSY = Errno.EBUSY;
  public static final int ETXTBSY = Errno.ETXTBSY;
  public static final int ENOSPC = Errno.ENOSPC;
  public static final int EDQUOT = Errno.EDQUOT;

  private static final int ERRNO_SHIFT = 24;

  private Fan() {}

  /**
   * True if the kernel takes this answer: FAN_ALLOW or FAN_DENY, optionally with FAN_AUDIT, and an errno (top byte)
   * only on FAN_DENY and only from the accepted list. Anything else is refused with EINVAL and leaves the reader hung.
   */
  public static boolean isValidResponse(int response) {
    int errno = response >>> ERRNO_SHIFT;
    int base = response & ~(0xff << ERRNO_SHIFT) & ~FAN_AUDIT;
    if (base != FAN_ALLOW && base != FAN_DENY) {
      return false;
    }
    return errno == 0 || base == FAN_DENY && isDenyErrnoAccepted(errno);
  }

  /** True if the kernel accepts this errno in a FAN_DENY_ERRNO answer. */
  static boolean isDenyErrnoAccepted(int errno) {
    return errno == EPERM || errno == EIO || errno == EAGAIN || errno == EBUSY || errno == ETXTBSY
        || errno == ENOSPC || errno == EDQUOT;
  }

  /**
   * FAN_DENY_ERRNO(errno): deny and make the reader's call fail with errno. Only the errnos the kernel accepts are
   * allowed (EPERM, EIO, EAGAIN, EBUSY, ETXTBSY, ENOSPC, EDQUOT): any other one would make the response write fail
   * with EINVAL and leave the event pending, i.e. the reader hung.
   *
   * @throws IllegalArgumentException for an errno the kernel would refuse
   */
  public static int denyErrno(int errno) {
    if (!isDenyErrnoAccepted(errno)) {
      throw new IllegalArgumentException("errno " + errno + " is not accepted by FAN_DENY_ERRNO"
          + " (only EPERM, EIO, EAGAIN, EBUSY, ETXTBSY, ENOSPC, EDQUOT): the kernel would refuse the answer"
          + " and leave the reader blocked");
    }
    return FAN_DENY | (errno & 0xff) << ERRNO_SHIFT;
  }
}
