package dev.lazydir.internal.posix;

import java.io.IOException;

/** A failed system call: keeps the errno so callers can react to ENOENT, ELOOP, ENOSPC... without parsing text. */
public class ErrnoException extends IOException {
  private final int errno;

  ErrnoException(String call, String subject, int errno, String reason) {
    super(call + "(" + subject + "): " + reason + " (errno " + errno + ")");
    this.errno = errno;
  }

  /**
   * ENOENT, an ordinary answer (every new entry of a listing is looked up first) that callers handle: no stack
   * trace, whose capture cost more than the system call.
   */
  static final class NoEntry extends ErrnoException {
    NoEntry(String call, String subject) {
      super(call, subject, Errno.ENOENT, "No such file or directory");
    }

    @Override
    public synchronized Throwable fillInStackTrace() {
      return this;
    }
  }

  public int errno() {
    return errno;
  }
}
