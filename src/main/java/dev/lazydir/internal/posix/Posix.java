package dev.lazydir.internal.posix;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Runtime;

/**
 * Entry point to the native layer. Every call that can fail goes through {@link #check} so a negative return
 * becomes an {@link ErrnoException} naming the call, its subject and the errno; callers never see raw -1.
 */
public final class Posix {
  private static final boolean AARCH64 = System.getProperty("os.arch").equals("aarch64");

  public static final int O_RDONLY = 0;
  public static final int O_WRONLY = 1;
  public static final int O_RDWR = 2;
  public static final int O_CREAT = 0100;
  public static final int O_EXCL = 0200;
  public static final int O_NONBLOCK = 04000;
  public static final int O_DIRECTORY = AARCH64 ? 040000 : 0200000;
  public static final int O_NOFOLLOW = AARCH64 ? 0100000 : 0400000;
  public static final int O_CLOEXEC = 02000000;
  /** A handle on a name only: no open event, no read; a base for *at() calls and fstat (same value on aarch64). */
  public static final int O_PATH = 010000000;

  public static final int AT_FDCWD = -100;
  public static final int AT_SYMLINK_NOFOLLOW = 0x100;
  public static final int AT_REMOVEDIR = 0x200;
  public static final int AT_EMPTY_PATH = 0x1000;

  /** statx(2) masks: the file type only (the fanotify group's directory check), or the basic fields. */
  public static final int STATX_TYPE = 0x1;
  static final int STATX_BASIC_STATS = 0x7ff;

  private static final LibC LIBC = LibraryLoader.create(LibC.class).load("c");
  private static final Runtime RUNTIME = Runtime.getRuntime(LIBC);

  private Posix() {}

  /**
   * The process's one libc binding. Public for the other package's raw wrapper (fanotify's FanotifyNative), which
   * turns failures into exceptions through {@link Errors} as this package does; nothing else calls it directly.
   */
  public static LibC libc() {
    return LIBC;
  }

  static Runtime runtime() {
    return RUNTIME;
  }

  /** Opens an absolute or cwd-relative path; symlinks in it are followed (used only for user-given roots). */
  public static Fd open(String path, int flags) throws IOException {
    return new Fd(check(LIBC.openat(AT_FDCWD, path, flags | O_CLOEXEC, 0), "open", path), path);
  }

  /** The process's file mode creation mask (read once: reading it means setting it, then setting it back). */
  public static final int UMASK = readUmask();

  private static int readUmask() {
    int old = LIBC.umask(022);
    LIBC.umask(old);
    return old;
  }

  /** The target of a symbolic link (e.g. /proc/self/fd/N: what path an event's fd was opened by). */
  public static String readlink(String path) throws IOException {
    byte[] buf = new byte[8192];
    long n = check(LIBC.readlink(path, buf, buf.length), "readlink", path);
    return new String(buf, 0, (int) n, StandardCharsets.UTF_8);
  }

  public static final long MS_RDONLY = 1;
  public static final long MS_NOSUID = 2;
  public static final long MS_NODEV = 4;
  public static final long MS_REMOUNT = 32;
  public static final long MS_BIND = 4096;
  public static final long MS_PRIVATE = 1 << 18;
  /** Symlinks on the mount are not followed (Linux 5.10): one planted in the store never leads a reader out. */
  public static final long MS_NOSYMFOLLOW = 256;
  public static final int MNT_DETACH = 2;

  public static void mount(String source, String target, String fstype, long flags) throws IOException {
    check(LIBC.mount(source, target, fstype, flags, null), "mount", target);
  }

  /** open_tree(2): the same number on x86_64 and aarch64 (the unified syscall table). */
  private static final long SYS_OPEN_TREE = 428;
  private static final int OPEN_TREE_CLONE = 1;

  /**
   * A detached bind mount of path (open_tree(OPEN_TREE_CLONE)): attached nowhere, reachable only through the
   * returned O_PATH fd (use it as a dirfd), gone when the last fd into it closes.
   */
  public static Fd cloneMount(String path) throws IOException {
    int fd = (int) LIBC.syscall(SYS_OPEN_TREE, AT_FDCWD, path, OPEN_TREE_CLONE | O_CLOEXEC);
    return new Fd(check(fd, "open_tree", path), path + " (private clone)");
  }

  /** pidfd_open(2), pidfd_getfd(2), pidfd_send_signal(2): the same numbers on x86_64 and aarch64. */
  static final long SYS_PIDFD_SEND_SIGNAL = 424;
  static final long SYS_PIDFD_OPEN = 434;
  static final long SYS_PIDFD_GETFD = 438;

  /** A descriptor of the process pid: it keeps naming that process even if the number is reused later. */
  public static Fd pidfdOpen(long pid) throws IOException {
    return new Fd(check((int) LIBC.syscall(SYS_PIDFD_OPEN, (int) pid, 0, 0, 0), "pidfd_open", "pid " + pid),
        "pidfd " + pid);
  }

  /** A copy, in this process, of descriptor number targetFd of the process pidfd names (close-on-exec). */
  public static int pidfdGetfd(Fd pidfd, int targetFd) throws IOException {
    return check((int) LIBC.syscall(SYS_PIDFD_GETFD, pidfd.intValue(), targetFd, 0, 0), "pidfd_getfd",
        pidfd.label() + " fd " + targetFd);
  }

  /** Sends a signal to the process pidfd names (never to a process that reused its number). */
  public static void pidfdSignal(Fd pidfd, int signal) throws IOException {
    check((int) LIBC.syscall(SYS_PIDFD_SEND_SIGNAL, pidfd.intValue(), signal, 0, 0), "pidfd_send_signal",
        pidfd.label());
  }

  /** A close-on-exec copy of fd numbered at least 3 (a descriptor inherited from the service manager). */
  public static int dupCloseOnExec(int fd) throws IOException {
    return check(LIBC.fcntl(fd, 1030 /* F_DUPFD_CLOEXEC */, 3), "fcntl(F_DUPFD_CLOEXEC)", "fd " + fd);
  }

  /**
   * Ignores SIGIO in the whole process. The kernel sends it to whoever holds a lease when an open breaks it; its
   * default action ends the process, and nothing in lazydir uses SIGIO otherwise (the JVM does not either).
   */
  public static synchronized void ignoreLeaseBreakSignal() throws IOException {
    if (LIBC.signal(Abi.SIGIO, 1) == -1) {
      throw new IOException("cannot ignore SIGIO (needed to hold file leases)");
    }
  }

  public static void umount(String target, int flags) throws IOException {
    check(LIBC.umount2(target, flags), "umount2", target);
  }

  /** A raw libc result: negative means failed, and the errno says why (see {@link Errors}). */
  static int check(int result, String call, String subject) throws ErrnoException {
    if (result < 0) {
      throw Errors.last(call, subject, Errors.ERRNO);
    }
    return result;
  }

  static long check(long result, String call, String subject) throws ErrnoException {
    if (result < 0) {
      throw Errors.last(call, subject, Errors.ERRNO);
    }
    return result;
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
