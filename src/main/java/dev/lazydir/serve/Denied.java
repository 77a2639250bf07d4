package dev.lazydir.serve;

import java.io.IOException;

/**
 * A read or open the daemon refuses on purpose: the errno its reader gets (one the kernel accepts in an answer)
 * and, as the message, why, which {@code lazydir status} shows among the recent denials.
 */
final class Denied extends IOException {
  final int errno;

  Denied(int errno, String why) {
    super(why);
    this.errno = errno;
  }

  /** An answer, not a fault: no stack trace. */
  @Override
  public synchronized Throwable fillInStackTrace() {
    return this;
  }
}
