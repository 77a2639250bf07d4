package dev.lazydir.internal.posix;

import java.io.IOException;

/**
 * A failed system call: keeps the errno so callers can react to ENOENT, ELOOP, ENOSPC... without parsing text.
 * Made by {@link Errors}; the message, "call(subject): reason (errno N)", is built here and nowhere else.
 */
public class ErrnoException extends IOException {
  private final int errno;
  private final String call;

  /** For subtypes (fanotify's FanotifyException): the reason is strerror(errno). */
  protected ErrnoException(String call, String subject, int errno) {
    this(call, subject, errno, Posix.libc().strerror(errno));
  }

  ErrnoException(String call, String subject, int errno, String reason) {
    super(call + "(" + subject + "): " + reason + " (errno " + errno + ")");
    this.errno = errno;
    this.call = call;
  }

  /** The plain kind ({@link Errors#ERRNO}): ENOENT as a {@link NoEntry}. */
  static ErrnoException of(String call, String subject, int errno) {
    return errno == Errno.ENOENT ? new NoEntry(call, subject) : new ErrnoException(call, subject, errno);
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

  /** The failed call, e.g. "openat" or "fanotify_mark". */
  public String call() {
    return call;
  }
}
