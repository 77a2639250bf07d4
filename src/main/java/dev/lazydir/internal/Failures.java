package dev.lazydir.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.CompletionException;

/**
 * A failure caught on another thread (a pool's task, a future), made the caller's own again: an I/O error thrown
 * as itself (past the wrappers a hand-over added, if asked), an unchecked one rethrown as it is, anything else
 * wrapped as an IOException. One place, so that every waiter tells the same failure the same way.
 */
public final class Failures {
  private Failures() {}

  /** The IOException to throw for {@code t}: itself if it is one; rethrows {@code t} when it is unchecked. */
  public static IOException asIOException(Throwable t) {
    if (t instanceof IOException io) {
      return io;
    }
    if (t instanceof RuntimeException re) {
      throw re;
    }
    if (t instanceof Error err) {
      throw err;
    }
    return new IOException(t);
  }

  /** As {@link #asIOException}, for the failure inside a CompletionException or an UncheckedIOException. */
  public static IOException unwrapped(Throwable t) {
    while ((t instanceof CompletionException || t instanceof UncheckedIOException) && t.getCause() != null) {
      t = t.getCause();
    }
    return asIOException(t);
  }
}
