package dev.lazydir.internal.posix;

import jnr.ffi.Pointer;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;

/**
 * The one libc binding (loaded once, by {@link Posix}): the calls lazydir needs that the JDK does not offer.
 * *at() calls relative to a directory fd (so nothing ever resolves a path through a symlink planted in the tree),
 * xattrs on an fd, sparse extension with ftruncate, statx for device/inode identity, and the fanotify group's
 * calls (fanotify_init, fanotify_mark, read, write, poll, eventfd). Public only because jnr-ffi implements it from
 * another class loader: only {@link Fd}, {@link Posix}, {@link Users} and the fanotify package's FanotifyNative
 * call it. Direct ByteBuffers are passed as pointers to their position, without a copy.
 */
public interface LibC {
  int openat(int dirfd, String path, int flags, int mode);

  int close(int fd);

  int dup(int fd);

  /** fcntl(2), only its integer-argument commands (F_DUPFD_CLOEXEC, F_SETLEASE, F_GETLEASE). */
  int fcntl(int fd, int cmd, int arg);

  int mkdirat(int dirfd, String path, int mode);

  int unlinkat(int dirfd, String path, int flags);

  int renameat2(int olddirfd, String oldpath, int newdirfd, String newpath, int flags);

  int ftruncate(int fd, long length);

  int fchmod(int fd, int mode);

  int fchown(int fd, int owner, int group);

  int geteuid();

  int getegid();

  /** struct passwd of a user, or NULL (see {@link Users} for the fields read). */
  Pointer getpwnam(String name);

  Pointer getpwuid(int uid);

  /** struct group of a group, or NULL. */
  Pointer getgrnam(String name);

  int umask(int mask);

  int fallocate(int fd, int mode, long offset, long len);

  int fdatasync(int fd);

  int syncfs(int fd);

  long readlink(String path, @Out byte[] buf, long size);

  int symlinkat(String target, int newdirfd, String linkpath);

  long readlinkat(int dirfd, String path, @Out byte[] buf, long size);

  int fchownat(int dirfd, String path, int owner, int group, int flags);

  int utimensat(int dirfd, String path, @In long[] times, int flags);

  int mount(String source, String target, String fstype, long flags, String data);

  int umount2(String target, int flags);

  /** times: two struct timespec {long sec; long nsec;} = atime, mtime. */
  int futimens(int fd, @In long[] times);

  int fsetxattr(int fd, String name, @In byte[] value, long size, int flags);

  long fgetxattr(int fd, String name, @Out byte[] value, long size);

  int fremovexattr(int fd, String name);

  int statx(int dirfd, String path, int flags, int mask, @Out byte[] statxbuf);

  long pwrite(int fd, @In java.nio.ByteBuffer buf, long count, long offset);

  Pointer fdopendir(int fd);

  Pointer readdir(Pointer dir);

  void rewinddir(Pointer dir);

  int closedir(Pointer dir);

  /** For calls glibc may not wrap (open_tree before glibc 2.36): integer and string arguments only. */
  long syscall(long number, int a, String b, int c);

  /** The same, for calls with four integer (or NULL pointer) arguments: the pidfd calls. */
  long syscall(long number, int a, int b, int c, int d);

  String strerror(int errnum);


  /** signal(2); handler is SIG_DFL (0) or SIG_IGN (1) here, never a function. */
  long signal(int signum, long handler);

  // fanotify(7) and the calls its group fd is driven with

  int fanotify_init(int flags, int event_f_flags);

  /** mask is a uint64_t; path may be null (then dirfd itself is the object). */
  int fanotify_mark(int fanotify_fd, int flags, long mask, int dirfd, String path);

  /** buf: a direct buffer (the events are parsed from it without a copy). */
  long read(int fd, java.nio.ByteBuffer buf, long count);

  long write(int fd, @In byte[] buf, long count);

  /** fds: a direct buffer of struct pollfd {int fd; short events; short revents;} (8 bytes each). */
  int poll(java.nio.ByteBuffer fds, long nfds, int timeout);

  int eventfd(int initval, int flags);

  // an AF_UNIX datagram with a descriptor attached (the systemd notification socket, see UnixDatagram)

  int socket(int domain, int type, int protocol);

  /** msg: a struct msghdr built in native memory by {@link UnixDatagram}. */
  long sendmsg(int sockfd, Pointer msg, int flags);
}
