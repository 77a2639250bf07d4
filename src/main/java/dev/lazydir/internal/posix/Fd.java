package dev.lazydir.internal.posix;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
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
 */
public final class Fd implements AutoCloseable {
  private final int fd;
  private final String label;
  private boolean closed;

  Fd(int fd, String label) {
    this.fd = fd;
    this.label = label;
  }

  public int intValue() {
    return fd;
  }

  public String label() {
    return label;
  }

  private String sub(String name) {
    return label + "/" + name;
  }

  /** A second descriptor for the same open file (closing one leaves the other open). */
  public Fd dup() throws IOException {
    return new Fd(Posix.check(Posix.libc().dup(fd), "dup", label), label);
  }

  public Fd openAt(String name, int flags, int mode) throws IOException {
    return new Fd(Posix.check(Posix.libc().openat(fd, name, flags | Posix.O_CLOEXEC, mode), "openat", sub(name)), sub(name));
  }

  /** Opens a child directory without following a symlink. */
  public Fd openDirAt(String name) throws IOException {
    return openAt(name, Posix.O_RDONLY | Posix.O_DIRECTORY | Posix.O_NOFOLLOW, 0);
  }

  public void mkdirAt(String name, int mode) throws IOException {
    Posix.check(Posix.libc().mkdirat(fd, name, mode), "mkdirat", sub(name));
  }

  public void unlinkAt(String name, boolean directory) throws IOException {
    Posix.check(Posix.libc().unlinkat(fd, name, directory ? Posix.AT_REMOVEDIR : 0), "unlinkat", sub(name));
  }

  /** Renames within this directory, failing with EEXIST instead of replacing an existing entry. */
  public void renameNoReplaceAt(String from, String to) throws IOException {
    Posix.check(Posix.libc().renameat2(fd, from, fd, to, Abi.RENAME_NOREPLACE), "renameat2", sub(from) + " -> " + to);
  }

  /** Renames within this directory, atomically replacing whatever has the new name. */
  public void replaceAt(String from, String to) throws IOException {
    Posix.check(Posix.libc().renameat2(fd, from, fd, to, 0), "renameat2", sub(from) + " -> " + to);
  }

  public void fchmod(int mode) throws IOException {
    Posix.check(Posix.libc().fchmod(fd, mode), "fchmod", label);
  }

  public void truncate(long length) throws IOException {
    Posix.check(Posix.libc().ftruncate(fd, length), "ftruncate", label);
  }

  /** Allocates blocks for [offset, offset + length) without changing the size (unwritten extents). */
  public void allocate(long offset, long length) throws IOException {
    Posix.check(Posix.libc().fallocate(fd, 0, offset, length), "fallocate", label);
  }

  /** Makes written data durable before anything records it as present. */
  public void dataSync() throws IOException {
    Posix.check(Posix.libc().fdatasync(fd), "fdatasync", label);
  }

  /** Writes back everything dirty on this fd's filesystem: one sync for many files. */
  public void syncFilesystem() throws IOException {
    Posix.check(Posix.libc().syncfs(fd), "syncfs", label);
  }

  /** Sets mtime (and atime to the same value); nanosecond precision. */
  public void setMtime(Instant mtime) throws IOException {
    long[] times = {mtime.getEpochSecond(), mtime.getNano(), mtime.getEpochSecond(), mtime.getNano()};
    Posix.check(Posix.libc().futimens(fd, times), "futimens", label);
  }

  public Optional<byte[]> getXattr(String name) throws IOException {
    byte[] buf = new byte[4096];
    while (true) {
      long n = Posix.libc().fgetxattr(fd, name, buf, buf.length);
      if (n >= 0) {
        byte[] value = new byte[(int) n];
        System.arraycopy(buf, 0, value, 0, (int) n);
        return Optional.of(value);
      }
      ErrnoException e = Posix.error("fgetxattr", label + " " + name);
      if (e.errno() == Errno.ENODATA) {
        return Optional.empty();
      }
      if (e.errno() != 34 /* ERANGE */ || buf.length >= 1 << 20) {
        throw e;
      }
      buf = new byte[buf.length * 4];
    }
  }

  public Optional<String> getXattrString(String name) throws IOException {
    return getXattr(name).map(v -> new String(v, StandardCharsets.UTF_8));
  }

  public void setXattr(String name, byte[] value) throws IOException {
    Posix.check(Posix.libc().fsetxattr(fd, name, value, value.length, 0), "fsetxattr", label + " " + name);
  }

  public void setXattr(String name, String value) throws IOException {
    setXattr(name, value.getBytes(StandardCharsets.UTF_8));
  }

  public void removeXattr(String name) throws IOException {
    int r = Posix.libc().fremovexattr(fd, name);
    if (r < 0) {
      ErrnoException e = Posix.error("fremovexattr", label + " " + name);
      if (e.errno() != Errno.ENODATA) {
        throw e;
      }
    }
  }

  public Stat stat() throws IOException {
    return statx("", Posix.AT_EMPTY_PATH);
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
    byte[] buf = new byte[Abi.STATX_SIZE];
    Posix.check(Posix.libc().statx(fd, name, flags, Posix.STATX_BASIC_STATS, buf), "statx", name.isEmpty() ? label : sub(name));
    ByteBuffer b = ByteBuffer.wrap(buf).order(ByteOrder.nativeOrder());
    int mode = b.getShort(Abi.STATX_MODE) & 0xffff;
    long ino = b.getLong(Abi.STATX_INO);
    long size = b.getLong(Abi.STATX_SIZE_FIELD);
    long blocks = b.getLong(Abi.STATX_BLOCKS);
    Instant mtime = Instant.ofEpochSecond(b.getLong(Abi.STATX_MTIME), b.getInt(Abi.STATX_MTIME + 8));
    long dev = ((long) b.getInt(Abi.STATX_DEV_MAJOR) << 32) | (b.getInt(Abi.STATX_DEV_MINOR) & 0xffffffffL);
    return new Stat(dev, ino, mode, size, blocks, mtime);
  }

  /** Writes the remaining bytes of a direct buffer at offset, looping over short writes (no copy in Java). */
  public void pwriteFully(java.nio.ByteBuffer buf, long offset) throws IOException {
    if (!buf.isDirect()) {
      throw new IllegalArgumentException("pwriteFully needs a direct buffer");
    }
    long at = offset;
    while (buf.hasRemaining()) {
      java.nio.ByteBuffer slice = buf.slice();
      long n = Posix.check(Posix.libc().pwrite(fd, slice, slice.remaining(), at), "pwrite", label);
      buf.position(buf.position() + (int) n);
      at += n;
    }
  }

  /** Names in this directory, without "." and "..". */
  public List<String> list() throws IOException {
    int copy = Posix.check(Posix.libc().dup(fd), "dup", label);
    Pointer dir = Posix.libc().fdopendir(copy);
    if (dir == null) {
      ErrnoException e = Posix.error("fdopendir", label);
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

  @Override
  public void close() throws IOException {
    if (!closed) {
      closed = true;
      Posix.check(Posix.libc().close(fd), "close", label);
    }
  }

  @Override
  public String toString() {
    return "Fd(" + fd + ", " + label + ")";
  }
}
