package dev.lazydir.fanotify;

import dev.lazydir.internal.posix.ErrnoException;

/**
 * A failed fanotify-related system call; keeps the errno (EINVAL, EEXIST, ENOENT...) so callers can react to it.
 * An {@link ErrnoException} made by the same code ({@code Errors.check} with {@code FanotifyException::new}); its
 * own type only lets callers catch the group's failures by name.
 */
public final class FanotifyException extends ErrnoException {
  FanotifyException(String call, String subject, int errno) {
    super(call, subject, errno);
  }
}
