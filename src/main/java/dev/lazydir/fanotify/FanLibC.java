package dev.lazydir.fanotify;

import java.nio.ByteBuffer;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;

/**
 * The libc calls behind {@link FanotifyNative} (public only because jnr-ffi implements it from another class
 * loader). Nothing but FanotifyNative calls it. Direct ByteBuffers are passed as pointers to their position.
 */
public interface FanLibC {
  int fanotify_init(int flags, int event_f_flags);

  /** mask is a uint64_t; path may be null (then dirfd itself is the object). */
  int fanotify_mark(int fanotify_fd, int flags, long mask, int dirfd, String path);

  long read(int fd, ByteBuffer buf, long count);

  long write(int fd, @In byte[] buf, long count);

  int close(int fd);

  /** fds: an array of struct pollfd {int fd; short events; short revents;} (8 bytes each). */
  int poll(ByteBuffer fds, long nfds, int timeout);

  int eventfd(int initval, int flags);

  /** Used with AT_EMPTY_PATH on an event fd: tells a directory from a file (FAN_ONDIR is not reported in fd mode). */
  int statx(int dirfd, String path, int flags, int mask, @Out byte[] statxbuf);

  String strerror(int errnum);
}
