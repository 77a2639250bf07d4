package dev.lazydir.internal.posix;

import java.io.IOException;

/** A failed system call: keeps the errno so callers can react to ENOENT, ELOOP, ENOSPC... without parsing text. */
public final class ErrnoException extends IOException {
  private final int errno;

  ErrnoException(String call, String subject, int errno, String reason) {
    super(call + "(" + subject + "): " + reason + " (errno " + errno + ")");
    this.errno = errno;
  }

  public int errno() {
    return errno;
  }
}
