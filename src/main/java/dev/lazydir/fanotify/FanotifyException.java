package dev.lazydir.fanotify;

import java.io.IOException;

/** A failed fanotify-related system call; keeps the errno (EINVAL, EEXIST, ENOENT...) so callers can react to it. */
public final class FanotifyException extends IOException {
  private final int errno;
  private final String call;

  FanotifyException(String call, String subject, int errno, String reason) {
    super(call + "(" + subject + "): " + reason + " (errno " + errno + ")");
    this.errno = errno;
    this.call = call;
  }

  public int errno() {
    return errno;
  }

  /** The failed call, e.g. "fanotify_mark". */
  public String call() {
    return call;
  }
}
