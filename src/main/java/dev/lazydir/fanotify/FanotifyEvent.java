package dev.lazydir.fanotify;

/**
 * One fanotify event as read from the group fd.
 *
 * <p>{@code fd} is the event fd (opened with the group's event flags, O_RDONLY, I/O through it sends no event), or
 * {@link Fan#FAN_NOFD} (queue overflow), or {@code -errno} when the group has FAN_REPORT_FD_ERROR and the kernel
 * could not open it. A permission event with a negative fd has already been denied by the kernel: it cannot and must
 * not be answered. A permission event with {@code fd >= 0} needs exactly one answer
 * ({@link FanotifyGroup#respond}) and then {@link FanotifyGroup#closeEventFd}.
 *
 * <p>{@code hasRange} is true when a FAN_EVENT_INFO_TYPE_RANGE record was attached (pre-content events); otherwise
 * offset and count are -1. A range of offset 0 and count 0 (FICLONE) means "the whole file".
 */
public record FanotifyEvent(long mask, int fd, int pid, boolean hasRange, long offset, long count) {
  public static final long NO_RANGE = -1;

  /** An event without range info. */
  public static FanotifyEvent of(long mask, int fd, int pid) {
    return new FanotifyEvent(mask, fd, pid, false, NO_RANGE, NO_RANGE);
  }

  /** An event with range info. */
  public static FanotifyEvent withRange(long mask, int fd, int pid, long offset, long count) {
    return new FanotifyEvent(mask, fd, pid, true, offset, count);
  }

  public boolean isPreAccess() {
    return (mask & Fan.FAN_PRE_ACCESS) != 0;
  }

  public boolean isOpenPerm() {
    return (mask & Fan.FAN_OPEN_PERM) != 0;
  }

  /** FAN_OPEN: a notification after the open succeeded (no answer expected). */
  public boolean isOpenNotice() {
    return (mask & Fan.FAN_OPEN) != 0;
  }

  public boolean isAccessPerm() {
    return (mask & Fan.FAN_ACCESS_PERM) != 0;
  }

  /**
   * FAN_ONDIR is in the reported mask. The kernel only reports it to FID-mode groups: for an fd-mode group, which
   * every pre-content group is, it is always false even for events on directories (pinned by
   * DirectoryOpenPermLetsTheHandlerAddEntriesTest). Use {@link FanotifyGroup#isDirectory(int)} on the event fd.
   */
  public boolean isDir() {
    return (mask & Fan.FAN_ONDIR) != 0;
  }

  public boolean isOverflow() {
    return (mask & Fan.FAN_Q_OVERFLOW) != 0;
  }

  /** A permission event: someone is blocked until it is answered (if fd >= 0). */
  public boolean isPermission() {
    return (mask & Fan.FAN_ALL_PERM_EVENTS) != 0;
  }

  /** A permission event this listener has to answer: permission class and a real event fd. */
  public boolean needsResponse() {
    return isPermission() && fd >= 0;
  }

  /** FICLONE-style range: offset 0 count 0 stands for the whole file. */
  public boolean isWholeFileRange() {
    return hasRange && offset == 0 && count == 0;
  }

  /** End of the range (offset + count), saturating; -1 without range. */
  public long rangeEnd() {
    if (!hasRange) {
      return NO_RANGE;
    }
    long end = offset + count;
    return end < offset ? Long.MAX_VALUE : end;
  }

  @Override
  public String toString() {
    return "FanotifyEvent[mask=0x" + Long.toHexString(mask) + ", fd=" + fd + ", pid=" + pid
        + (hasRange ? ", range=" + offset + "+" + count : "") + "]";
  }
}
