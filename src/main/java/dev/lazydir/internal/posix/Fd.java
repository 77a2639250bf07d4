package dev.lazydir.internal.posix;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import jnr.ffi.Pointer;

/**
 * An open file descriptor and the calls made through it. Names passed to the *At methods are single path
 * components resolved relative to this (directory) fd; with {@link Posix#O_NOFOLLOW} a planted symlink fails
 * with ELOOP instead of being followed out of the tree.
 *
 * <p>Every call holds a use of the descriptor, and {@link #close} closes the number only once no call is using it:
 * a descriptor closed by one thread while another writes through it could be reused by an unrelated open, and
 * the write would land in another file. A call made after close fails with EBADF instead.
 */
public final class Fd implements AutoCloseable {
  private static final int CLOSED = 1;
  private final int fd;
  private final String label;
  /** Calls in flight times two, plus {@link #CLOSED} once close was asked for. */
  private final java.util.concurrent.atomic.AtomicInteger state = new java.util.concurrent.atomic.AtomicInteger();

  Fd(int fd, String label) {
    this.fd = fd;
    this.label = label;
  }

  /**
   * The number, for what needs it as text or as an argument elsewhere (/proc/self/fd paths, pidfd calls). The
   * caller must know the Fd stays open meanwhile; calls through this class, and through {@link #use}, are protected
   * by themselves.
   */
  public int intValue() {
    return fd;
  }

  /** A call another package's native wrapper makes with the number (fanotify_mark on this descriptor). */
  @FunctionalInterface
  public interface Use<T, E extends Exception> {
    T on(int fd) throws E;
  }

  /**
   * Runs a call of another package on the number, holding a use of the descriptor as every call of this class
   * does: {@link #close} waits for it, and after close it fails with EBADF instead of reaching a reused number.
   */
  public <T, E extends Exception> T use(String call, Use<T, E> op) throws E, ErrnoException {
    acquire(call, label);
    try {
      return op.on(fd);
    } finally {
      release();
    }
  }

  @FunctionalInterface
  private interface Call {
    long on(int fd);
  }

  /** Runs one call on the descriptor, holding a use of it; a negative result becomes an ErrnoException. */
  private long call(String name, String subject, Call call) throws ErrnoException {
    acquire(name, subject);
    try {
      return Posix.check(call.on(fd), name, subject);
    } finally {
      release();
    }
  }

  private void acquire(String name, String subject) throws ErrnoException {
    for (int s = state.get(); ; s = state.get()) {
      if ((s & CLOSED) != 0) {
        throw new ErrnoException(name, subject + " (closed)", Errno.EBADF, "Bad file descriptor");
      }
      if (state.compareAndSet(s, s + 2)) {
        return;
      }
    }
  }

  private void release() {
    if (state.addAndGet(-2) == CLOSED) {
      Posix.libc().close(fd); // the last call of a descriptor that close() was waiting for
    }
  }

  public String label() {
    return label;
  }

  private String sub(String name) {
    return label + "/" + name;
  }

  /** A second descriptor for the same open file (closing one leaves the other open). */
  public Fd dup() throws IOException {
    return new Fd((int) call("dup", label, f -> Posix.libc().dup(f)), label);
  }

  public Fd openAt(String name, int flags, int mode) throws IOException {
    return new Fd((int) call("openat", sub(name), f -> Posix.libc().openat(f, name, flags | Posix.O_CLOEXEC, mode)),
        sub(name));
  }

  /** Opens a child directory without following a symlink. */
  public Fd openDirAt(String name) throws IOException {
    return openAt(name, Posix.O_RDONLY | Posix.O_DIRECTORY | Posix.O_NOFOLLOW, 0);
  }

  public void mkdirAt(String name, int mode) throws IOException {
    call("mkdirat", sub(name), f -> Posix.libc().mkdirat(f, name, mode));
  }

  public void unlinkAt(String name, boolean directory) throws IOException {
    call("unlinkat", sub(name), f -> Posix.libc().unlinkat(f, name, directory ? Posix.AT_REMOVEDIR : 0));
  }

  /** Renames within this directory, failing with EEXIST instead of replacing an existing entry. */
  public void renameNoReplaceAt(String from, String to) throws IOException {
    call("renameat2", sub(from) + " -> " + to, f -> Posix.libc().renameat2(f, from, f, to, Abi.RENAME_NOREPLACE));
  }

  /** Moves {@code from} of this directory to {@code to} in {@code toDir}, failing with EEXIST instead of replacing. */
  public void moveNoReplace(String from, Fd toDir, String to) throws IOException {
    toDir.use("renameat2", t -> call("renameat2", sub(from) + " -> " + toDir.sub(to),
        f -> Posix.libc().renameat2(f, from, t, to, Abi.RENAME_NOREPLACE)));
  }

  /** Renames within this directory, atomically replacing whatever has the new name. */
  public void replaceAt(String from, String to) throws IOException {
    call("renameat2", sub(from) + " -> " + to, f -> Posix.libc().renameat2(f, from, f, to, 0));
  }

  public void fchmod(int mode) throws IOException {
    call("fchmod", label, f -> Posix.libc().fchmod(f, mode));
  }

  /** Changes owner and group (-1 leaves one as it is). */
  public void fchown(int uid, int gid) throws IOException {
    call("fchown", label, f -> Posix.libc().fchown(f, uid, gid));
  }

  public void truncate(long length) throws IOException {
    call("ftruncate", label, f -> Posix.libc().ftruncate(f, length));
  }

  /** Allocates blocks for [offset, offset + length) without changing the size (unwritten extents). */
  public void allocate(long offset, long length) throws IOException {
    call("fallocate", label, f -> Posix.libc().fallocate(f, 0, offset, length));
  }

  /** Frees the blocks of [offset, offset + length), which then read as a hole; the size stays. */
  public void punchHole(long offset, long length) throws IOException {
    call("fallocate", label, f -> Posix.libc().fallocate(f, Abi.FALLOC_FL_PUNCH_HOLE | Abi.FALLOC_FL_KEEP_SIZE,
        offset, length));
  }

  /** Lease types for {@link #setLease}: F_RDLCK, F_WRLCK, F_UNLCK. */
  public static final int LEASE_READ = 0;
  public static final int LEASE_WRITE = 1;
  public static final int LEASE_NONE = 2;

  /**
   * Takes (LEASE_WRITE: succeeds only while no other descriptor of the file is open anywhere, EAGAIN otherwise) or
   * drops (LEASE_NONE) a lease on the file. While a write lease is held, an open of the file elsewhere waits until it
   * is dropped (an O_NONBLOCK open fails with EWOULDBLOCK instead). The kernel signals the holder with SIGIO when an
   * open breaks the lease: call {@link Posix#ignoreLeaseBreakSignal} first, or the signal ends the process.
   */
  public void setLease(int type) throws IOException {
    call("fcntl(F_SETLEASE)", label, f -> Posix.libc().fcntl(f, Abi.F_SETLEASE, type));
  }

  /** The lease held on this open file: LEASE_READ, LEASE_WRITE or LEASE_NONE. */
  public int lease() throws IOException {
    return (int) call("fcntl(F_GETLEASE)", label, f -> Posix.libc().fcntl(f, Abi.F_GETLEASE, 0));
  }

  /** Makes written data durable before anything records it as present. */
  public void dataSync() throws IOException {
    call("fdatasync", label, f -> Posix.libc().fdatasync(f));
  }

  /** Writes back everything dirty on this fd's filesystem: one sync for many files. */
  public void syncFilesystem() throws IOException {
    call("syncfs", label, f -> Posix.libc().syncfs(f));
  }

  /** Sets mtime (and atime to the same value); nanosecond precision. */
  public void setMtime(Instant mtime) throws IOException {
    long[] times = {mtime.getEpochSecond(), mtime.getNano(), mtime.getEpochSecond(), mtime.getNano()};
    call("futimens", label, f -> Posix.libc().futimens(f, times));
  }

  /** Creates a symbolic link {@code name} in this directory pointing at {@code target} (never resolved here). */
  public void symlinkAt(String target, String name) throws IOException {
    call("symlinkat", sub(name) + " -> " + target, f -> Posix.libc().symlinkat(target, f, name));
  }

  /** The target of the symbolic link {@code name} in this directory. */
  public String readlinkAt(String name) throws IOException {
    byte[] buf = new byte[8192];
    long n = call("readlinkat", sub(name), f -> Posix.libc().readlinkat(f, name, buf, buf.length));
    return new String(buf, 0, (int) n, StandardCharsets.UTF_8);
  }

  /** Changes owner and group of {@code name} itself, never of what a symlink there points at. */
  public void chownAtNoFollow(String name, int uid, int gid) throws IOException {
    call("fchownat", sub(name), f -> Posix.libc().fchownat(f, name, uid, gid, Posix.AT_SYMLINK_NOFOLLOW));
  }

  /** Sets mtime (and atime) of {@code name} itself, never of what a symlink there points at. */
  public void setMtimeAtNoFollow(String name, Instant mtime) throws IOException {
    long[] times = {mtime.getEpochSecond(), mtime.getNano(), mtime.getEpochSecond(), mtime.getNano()};
    call("utimensat", sub(name), f -> Posix.libc().utimensat(f, name, times, Posix.AT_SYMLINK_NOFOLLOW));
  }

  public Optional<byte[]> getXattr(String name) throws IOException {
    for (int size = 4096; ; size *= 4) {
      byte[] buf = new byte[size];
      try {
        long n = call("fgetxattr", label + " " + name, f -> Posix.libc().fgetxattr(f, name, buf, buf.length));
        return Optional.of(java.util.Arrays.copyOf(buf, (int) n));
      } catch (ErrnoException e) {
        if (e.errno() == Errno.ENODATA) {
          return Optional.empty();
        }
        if (e.errno() != Errno.ERANGE || size >= 1 << 20) {
          throw e;
        }
      }
    }
  }

  public Optional<String> getXattrString(String name) throws IOException {
    return getXattr(name).map(v -> new String(v, StandardCharsets.UTF_8));
  }

  public void setXattr(String name, byte[] value) throws IOException {
    call("fsetxattr", label + " " + name, f -> Posix.libc().fsetxattr(f, name, value, value.length, 0));
  }

  public void setXattr(String name, String value) throws IOException {
    setXattr(name, value.getBytes(StandardCharsets.UTF_8));
  }

  public void removeXattr(String name) throws IOException {
    try {
      call("fremovexattr", label + " " + name, f -> Posix.libc().fremovexattr(f, name));
    } catch (ErrnoException e) {
      if (e.errno() != Errno.ENODATA) {
        throw e;
      }
    }
  }

  public Stat stat() throws IOException {
    return statx("", Posix.AT_EMPTY_PATH);
  }

  /** How many names the file has: 0 once it was removed or replaced while open. */
  public int linkCount() throws IOException {
    byte[] buf = Stat.newBuffer();
    call("statx", label, f -> Posix.libc().statx(f, "", Posix.AT_EMPTY_PATH, Posix.STATX_BASIC_STATS, buf));
    return java.nio.ByteBuffer.wrap(buf).order(java.nio.ByteOrder.nativeOrder()).getInt(Abi.STATX_NLINK);
  }

  /** A descriptor of its own for an open file this code does not own (an event's fd): close it when done. */
  public static Fd dupOf(int fd) throws IOException {
    return new Fd(fd, "fd " + fd).dup();
  }

  /** Stats a descriptor this code does not own (an event's fd): no Fd is made, nothing is closed. */
  public static Stat statOf(int fd) throws IOException {
    return new Fd(fd, "fd " + fd).stat();
  }

  /** Stats a child without following a symlink; empty if it does not exist. */
  public Optional<Stat> statAt(String name) throws IOException {
    try {
      return Optional.of(statx(name, Posix.AT_SYMLINK_NOFOLLOW));
    } catch (ErrnoException e) {
      if (e.errno() == Errno.ENOENT) {
        return Optional.empty(); // cheap: an ENOENT exception carries no stack trace
      }
      throw e;
    }
  }

  private Stat statx(String name, int flags) throws IOException {
    byte[] buf = Stat.newBuffer();
    call("statx", name.isEmpty() ? label : sub(name), f -> Posix.libc().statx(f, name, flags, Posix.STATX_BASIC_STATS, buf));
    return Stat.decode(buf);
  }

  /** Writes the remaining bytes of a direct buffer at offset, looping over short writes (no copy in Java). */
  public void pwriteFully(java.nio.ByteBuffer buf, long offset) throws IOException {
    if (!buf.isDirect()) {
      throw new IllegalArgumentException("pwriteFully needs a direct buffer");
    }
    long at = offset;
    while (buf.hasRemaining()) {
      java.nio.ByteBuffer slice = buf.slice();
      long from = at;
      long n = call("pwrite", label, f -> Posix.libc().pwrite(f, slice, slice.remaining(), from));
      buf.position(buf.position() + (int) n);
      at += n;
    }
  }

  /** Names in this directory, without "." and "..". */
  public List<String> list() throws IOException {
    int copy = (int) call("dup", label, f -> Posix.libc().dup(f));
    Pointer dir = Posix.libc().fdopendir(copy);
    if (dir == null) {
      ErrnoException e = Errors.last("fdopendir", label, Errors.ERRNO);
      Posix.libc().close(copy);
      throw e;
    }
    try {
      Posix.libc().rewinddir(dir); // the dup shares its offset with this fd: start from the top every time
      List<String> names = new ArrayList<>();
      Pointer ent;
      while ((ent = Posix.libc().readdir(dir)) != null) {
        String name = ent.getString(Abi.DIRENT_NAME, 256, StandardCharsets.UTF_8);
        if (!name.equals(".") && !name.equals("..")) {
          names.add(name);
        }
      }
      return names;
    } finally {
      Posix.libc().closedir(dir);
    }
  }

  /** Closes the descriptor now, or when the last call still using it returns. Idempotent. */
  @Override
  public void close() throws IOException {
    for (int s = state.get(); (s & CLOSED) == 0; s = state.get()) {
      if (state.compareAndSet(s, s | CLOSED)) {
        if (s == 0) {
          Posix.check(Posix.libc().close(fd), "close", label);
        }
        return;
      }
    }
  }

  @Override
  public String toString() {
    return "Fd(" + fd + ", " + label + ")";
  }
}
