package dev.lazydir.fanotify;

import dev.lazydir.internal.posix.Errors;
import dev.lazydir.internal.posix.LibC;
import dev.lazydir.internal.posix.Posix;
import dev.lazydir.internal.posix.Stat;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Every system call of this package, in the style of Netty's {@code Native}: the raw calls return the result or
 * {@code -errno} (so hot paths can test EAGAIN/EINTR without an exception), and {@link #check} turns a negative
 * result into a {@link FanotifyException} naming the call, its subject and the errno, through the one path every
 * failed call takes ({@link Errors}).
 */
final class FanotifyNative {
  // struct pollfd {int fd; short events; short revents;} and its bits (FanotifyAbiLayoutTest checks them)
  static final short POLLIN = 0x1;
  static final short POLLERR = 0x8;
  static final short POLLNVAL = 0x20;
  static final int POLLFD_SIZE = 8;
  static final int POLLFD_EVENTS = 4;
  static final int POLLFD_REVENTS = 6;

  static final int EFD_NONBLOCK = 04000;
  static final int EFD_CLOEXEC = 02000000;

  private static final LibC LIBC = Posix.libc();

  private FanotifyNative() {}

  private static int ret(int r) {
    return Errors.ret(r);
  }

  private static long ret(long r) {
    return Errors.ret(r);
  }

  /** fanotify_init(2): the group fd or -errno. */
  static int fanotifyInit(int flags, int eventFileFlags) {
    return ret(LIBC.fanotify_init(flags, eventFileFlags));
  }

  /** fanotify_mark(2): 0 or -errno. */
  static int fanotifyMark(int fd, int flags, long mask, int dirfd, String path) {
    return ret(LIBC.fanotify_mark(fd, flags, mask, dirfd, path));
  }

  /** read(2) into a direct buffer from its position, at most len bytes: bytes read or -errno. */
  static long read(int fd, ByteBuffer direct, int len) {
    if (!direct.isDirect() || direct.remaining() < len) {
      throw new IllegalArgumentException("read needs a direct buffer with " + len + " bytes remaining");
    }
    return ret(LIBC.read(fd, direct, len));
  }

  /** write(2) of buf[0, len): bytes written or -errno. */
  static long write(int fd, byte[] buf, int len) {
    return ret(LIBC.write(fd, buf, len));
  }

  /** close(2): 0 or -errno. */
  static int close(int fd) {
    return ret(LIBC.close(fd));
  }

  /** eventfd(2): the fd or -errno. */
  static int eventfd(int initval, int flags) {
    return ret(LIBC.eventfd(initval, flags));
  }

  /**
   * poll(2) on the given fds for POLLIN. {@code pollfds} must be a direct buffer of {@code fds.length * 8} bytes;
   * on return it holds the revents. Returns the number of ready fds or -errno.
   */
  static int pollIn(ByteBuffer pollfds, int[] fds, int timeoutMillis) {
    if (!pollfds.isDirect() || pollfds.capacity() < fds.length * POLLFD_SIZE) {
      throw new IllegalArgumentException("poll needs a direct buffer of " + fds.length * POLLFD_SIZE + " bytes");
    }
    ByteBuffer b = pollfds.duplicate().order(ByteOrder.nativeOrder());
    for (int i = 0; i < fds.length; i++) {
      b.putInt(i * POLLFD_SIZE, fds[i]);
      b.putShort(i * POLLFD_SIZE + POLLFD_EVENTS, POLLIN);
      b.putShort(i * POLLFD_SIZE + POLLFD_REVENTS, (short) 0);
    }
    return ret(LIBC.poll(pollfds.duplicate().position(0), fds.length, timeoutMillis));
  }

  /** The revents of entry i after {@link #pollIn}. */
  static int revents(ByteBuffer pollfds, int i) {
    return pollfds.duplicate().order(ByteOrder.nativeOrder()).getShort(i * POLLFD_SIZE + POLLFD_REVENTS) & 0xffff;
  }

  /**
   * statx(2) of an open fd itself (AT_EMPTY_PATH: no path lookup, no open, no event), asking for the file type
   * only, into a {@link Stat#newBuffer} buffer: 0 or -errno. {@link Stat#decode} reads it.
   */
  static int statxType(int fd, byte[] statx) {
    return ret(LIBC.statx(fd, "", Posix.AT_EMPTY_PATH, Posix.STATX_TYPE, statx));
  }

  /** Turns a {@code -errno} result into a FanotifyException; returns a non-negative result unchanged. */
  static int check(int result, String call, String subject) throws FanotifyException {
    return Errors.check(result, call, subject, FanotifyException::new);
  }

  static long check(long result, String call, String subject) throws FanotifyException {
    return Errors.check(result, call, subject, FanotifyException::new);
  }
}
