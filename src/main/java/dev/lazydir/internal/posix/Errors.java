package dev.lazydir.internal.posix;

/**
 * The one place a failed system call becomes an exception (Netty's {@code Errors}): an {@link ErrnoException}, or
 * a subtype a package's callers catch by name (fanotify's FanotifyException), naming the call, its subject and the
 * errno. Two result conventions meet here: a raw libc return (negative, errno set: {@link #last}) and, for hot
 * paths that test EAGAIN/EINTR without an exception, {@code -errno} ({@link #ret} makes it, {@link #check} reads
 * it).
 */
public final class Errors {
  /** Makes the exception for a failed call: a constructor (reference) of ErrnoException or of a subtype. */
  @FunctionalInterface
  public interface Kind<E extends ErrnoException> {
    E of(String call, String subject, int errno);
  }

  /** Plain {@link ErrnoException}s (ENOENT without a stack trace, see {@link ErrnoException#of}). */
  public static final Kind<ErrnoException> ERRNO = ErrnoException::of;

  private Errors() {}

  /** The errno the calling thread's last native call left (read it right after the call that failed). */
  public static int errno() {
    return Posix.runtime().getLastError();
  }

  /** A raw libc result as the result or {@code -errno}. */
  public static int ret(int raw) {
    return raw < 0 ? -errno() : raw;
  }

  public static long ret(long raw) {
    return raw < 0 ? -errno() : raw;
  }

  /** Turns a {@code -errno} result into an exception of the given kind; returns a non-negative result unchanged. */
  public static <E extends ErrnoException> int check(int result, String call, String subject, Kind<E> kind)
      throws E {
    if (result < 0) {
      throw kind.of(call, subject, -result);
    }
    return result;
  }

  public static <E extends ErrnoException> long check(long result, String call, String subject, Kind<E> kind)
      throws E {
    if (result < 0) {
      throw kind.of(call, subject, (int) -result);
    }
    return result;
  }

  /** The call just failed (returned -1 or NULL): its errno as an exception of the given kind. */
  public static <E extends ErrnoException> E last(String call, String subject, Kind<E> kind) {
    return kind.of(call, subject, errno());
  }
}
