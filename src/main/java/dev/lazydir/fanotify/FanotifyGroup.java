package dev.lazydir.fanotify;

import dev.lazydir.internal.posix.Errno;
import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Posix;
import dev.lazydir.internal.posix.Stat;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A fanotify group (the fd returned by fanotify_init) with its marks, event loop primitives and answers.
 *
 * <p>Threading: several handler threads may call {@link #poll} and {@link #respond} concurrently (one of them waits
 * in poll(2) at a time, the others for their turn, so an event wakes one thread); the kernel hands
 * each event to exactly one read(). The group is always non-blocking (FAN_NONBLOCK is forced): poll(2) waits, then
 * read(2) either gets events or EAGAIN (another thread got them), so a handler never blocks in read and can check a
 * stop flag between polls. {@link #close} wakes every poller at once (an eventfd is polled alongside the group) and
 * waits for in-flight poll/respond calls before closing the fd, so a recycled fd number is never read or written.
 *
 * <p>Closing the group (or the process dying) makes the kernel allow every pending permission event: after that,
 * nothing stops reads through the marked paths (see ClosedGroupLetsReadsThroughTest).
 */
public final class FanotifyGroup implements Closeable {
  /**
   * Pre-content class, close-on-exec, non-blocking, fd errors reported in the event, and no queue limit: a
   * permission event that finds a bounded queue full is dropped and its reader allowed, i.e. shown holes.
   */
  public static final int DEFAULT_INIT_FLAGS = Fan.FAN_CLASS_PRE_CONTENT | Fan.FAN_CLOEXEC | Fan.FAN_NONBLOCK
      | Fan.FAN_REPORT_FD_ERROR | Fan.FAN_UNLIMITED_QUEUE;
  /**
   * O_RDONLY | O_CLOEXEC: event fds must be read-only (O_RDWR breaks running binaries). The kernel adds O_LARGEFILE
   * itself on 64-bit (its value differs between x86_64 and aarch64, so it is not passed).
   */
  public static final int DEFAULT_EVENT_FILE_FLAGS = Posix.O_RDONLY | Posix.O_CLOEXEC;
  /** Bytes read per poll: about 80 plain events or 60 with range info. */
  static final int DEFAULT_READ_BUFFER = 4096;
  static final int AT_FDCWD = Posix.AT_FDCWD;

  private final int fd;
  private final int wakeFd;
  private final int readBufferSize;
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  private final java.util.concurrent.locks.ReentrantLock pollLock = new java.util.concurrent.locks.ReentrantLock();
  private final AtomicBoolean closing = new AtomicBoolean();
  private volatile boolean closed;
  private final ThreadLocal<ByteBuffer> readBuffers;
  private final ThreadLocal<ByteBuffer> pollBuffers =
      ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(2 * FanotifyNative.POLLFD_SIZE));

  private FanotifyGroup(int fd, int wakeFd, int readBufferSize) {
    this.fd = fd;
    this.wakeFd = wakeFd;
    this.readBufferSize = readBufferSize;
    this.readBuffers = ThreadLocal.withInitial(
        () -> ByteBuffer.allocateDirect(readBufferSize).order(ByteOrder.nativeOrder()));
  }

  /**
   * fanotify_init(flags | FAN_NONBLOCK | FAN_CLOEXEC, eventFileFlags). FAN_NONBLOCK is required by {@link #poll};
   * FAN_CLOEXEC keeps a child process from holding the group (and its readers' fate) after the daemon is gone.
   */
  public static FanotifyGroup open(int flags, int eventFileFlags) throws IOException {
    return open(flags, eventFileFlags, DEFAULT_READ_BUFFER);
  }

  private static FanotifyGroup open(int flags, int eventFileFlags, int readBufferSize) throws IOException {
    if (readBufferSize < Fan.FAN_EVENT_METADATA_LEN + 64) {
      throw new IllegalArgumentException("read buffer of " + readBufferSize + " bytes is too small for one event");
    }
    int all = flags | Fan.FAN_NONBLOCK | Fan.FAN_CLOEXEC;
    int fd = FanotifyNative.check(FanotifyNative.fanotifyInit(all, eventFileFlags), "fanotify_init",
        "flags=0x" + Integer.toHexString(all) + ", event_f_flags=0" + Integer.toOctalString(eventFileFlags));
    int wake = FanotifyNative.eventfd(0, FanotifyNative.EFD_CLOEXEC | FanotifyNative.EFD_NONBLOCK);
    if (wake < 0) {
      FanotifyNative.close(fd);
    }
    FanotifyNative.check(wake, "eventfd", "wakeup");
    return new FanotifyGroup(fd, wake, readBufferSize);
  }

  /**
   * Takes ownership of a group descriptor opened elsewhere (taken over from another process with pidfd_getfd):
   * it must be non-blocking, as {@link #open} makes every group (the flag belongs to the open file, so a copy
   * shares it).
   */
  public static FanotifyGroup adopt(int groupFd) throws IOException {
    int wake = FanotifyNative.check(FanotifyNative.eventfd(0, FanotifyNative.EFD_CLOEXEC | FanotifyNative.EFD_NONBLOCK),
        "eventfd", "wakeup");
    return new FanotifyGroup(groupFd, wake, DEFAULT_READ_BUFFER);
  }

  /** A pre-content group with {@link #DEFAULT_INIT_FLAGS} and {@link #DEFAULT_EVENT_FILE_FLAGS}. */
  static FanotifyGroup openPreContent() throws IOException {
    return open(DEFAULT_INIT_FLAGS, DEFAULT_EVENT_FILE_FLAGS);
  }

  /** The group fd (for diagnostics; do not read or close it yourself). */
  public int fd() {
    return fd;
  }

  /** fanotify_mark(2). path may be null: then dirfd itself is marked. */
  void mark(int flags, long mask, int dirfd, String path) throws IOException {
    lock.readLock().lock();
    try {
      ensureOpen();
      FanotifyNative.check(FanotifyNative.fanotifyMark(fd, flags, mask, dirfd, path), "fanotify_mark",
          describeMark(flags, mask, dirfd, path));
    } finally {
      lock.readLock().unlock();
    }
  }

  /** fanotify_mark(2) relative to (or, path null, on) dir, holding a use of it so it cannot close meanwhile. */
  private void mark(int flags, long mask, Fd dir, String path) throws IOException {
    dir.use("fanotify_mark", d -> {
      mark(flags, mask, d, path);
      return null;
    });
  }

  /** Adds mask to the mark of the mount that holds path (FAN_MARK_ADD | FAN_MARK_MOUNT). */
  public void markMount(String path, long mask) throws IOException {
    mark(Fan.FAN_MARK_ADD | Fan.FAN_MARK_MOUNT, mask, AT_FDCWD, path);
  }

  /**
   * Silences events in mask for one inode (e.g. a fully populated file), whatever mount it is reached through.
   *
   * <p>Files: FAN_MARK_ADD | FAN_MARK_IGNORE | FAN_MARK_EVICTABLE; such an ignore mark is cleared by the next
   * modification of the file (so populate first, then ignore). Directories: the kernel refuses a directory ignore
   * mark without FAN_MARK_IGNORED_SURV_MODIFY (EISDIR), so FAN_MARK_IGNORE | FAN_MARK_IGNORED_SURV_MODIFY |
   * FAN_MARK_EVICTABLE is used and FAN_ONDIR is added to the mask (with FAN_MARK_IGNORE the ignore mask only
   * applies to events on the directory itself when FAN_ONDIR is in it). Evictable marks vanish when the inode is
   * evicted from the cache: the truth about what is populated must live on disk. Fails with EEXIST if this group
   * already has a non-evictable mark on the inode (an evictable mark cannot downgrade it), or a mark whose ignore
   * mask survives modification while this call's does not.
   *
   * @param path null to mark dir itself, else a path relative to dir
   */
  public void ignoreInode(Fd dir, String path, long mask, boolean directory) throws IOException {
    mark(ignoreFlags(Fan.FAN_MARK_ADD, directory), ignoreMask(mask, directory), dir, path);
  }

  /** {@link #ignoreInode(Fd, String, long, boolean)} by number: dirfd may be {@link #AT_FDCWD} (absolute paths). */
  void ignoreInode(int dirfd, String path, long mask, boolean directory) throws IOException {
    mark(ignoreFlags(Fan.FAN_MARK_ADD, directory), ignoreMask(mask, directory), dirfd, path);
  }

  /**
   * Removes mask from the ignore mark made by {@link #ignoreInode}. Returns false if there was no such mark
   * (ENOENT: never made, or evicted with its inode).
   */
  public boolean removeIgnore(Fd dir, String path, long mask, boolean directory) throws IOException {
    return dir.use("fanotify_mark", d -> removeIgnore(d, path, mask, directory));
  }

  /** {@link #removeIgnore(Fd, String, long, boolean)} by number: dirfd may be {@link #AT_FDCWD}. */
  boolean removeIgnore(int dirfd, String path, long mask, boolean directory) throws IOException {
    try {
      mark(ignoreFlags(Fan.FAN_MARK_REMOVE, directory) & ~Fan.FAN_MARK_EVICTABLE, ignoreMask(mask, directory),
          dirfd, path);
      return true;
    } catch (FanotifyException e) {
      if (e.errno() == Errno.ENOENT) {
        return false;
      }
      throw e;
    }
  }

  /**
   * Watches one inode, the one file is open on, for mask (an inode mark, FAN_MARK_ADD). Only files opened
   * after the mark raise pre-content events: the kernel decides at open whether a file is watched.
   */
  public void markInode(Fd file, long mask) throws IOException {
    mark(Fan.FAN_MARK_ADD, mask, file, null);
  }

  /**
   * Watches the inode of {@code dir/name} without opening it (an inode mark, FAN_MARK_ADD | FAN_MARK_DONT_FOLLOW:
   * a symlink there is marked itself, never followed). One call instead of an open, a mark and a close.
   */
  public void markInodeAt(Fd dir, String name, long mask) throws IOException {
    mark(Fan.FAN_MARK_ADD | Fan.FAN_MARK_DONT_FOLLOW, mask, dir, name);
  }

  /** Removes mask from the inode mark of file's inode; false if the group had no such mark (ENOENT). */
  public boolean unmarkInode(Fd file, long mask) throws IOException {
    try {
      mark(Fan.FAN_MARK_REMOVE, mask, file, null);
      return true;
    } catch (FanotifyException e) {
      if (e.errno() == Errno.ENOENT) {
        return false;
      }
      throw e;
    }
  }

  /**
   * Silences mask for every file reached through the mount that holds dir/path, whatever marks its inodes
   * carry (FAN_MARK_MOUNT | FAN_MARK_IGNORE | FAN_MARK_IGNORED_SURV_MODIFY; the kernel requires the latter for
   * a mount ignore mark). dir may be an O_PATH fd, e.g. of a detached mount, with path ".".
   */
  public void ignoreMount(Fd dir, String path, long mask) throws IOException {
    mark(Fan.FAN_MARK_ADD | Fan.FAN_MARK_MOUNT | Fan.FAN_MARK_IGNORE | Fan.FAN_MARK_IGNORED_SURV_MODIFY, mask,
        dir, path);
  }

  static int ignoreFlags(int command, boolean directory) {
    int flags = command | Fan.FAN_MARK_IGNORE | Fan.FAN_MARK_EVICTABLE;
    return directory ? flags | Fan.FAN_MARK_IGNORED_SURV_MODIFY : flags;
  }

  static long ignoreMask(long mask, boolean directory) {
    return directory ? mask | Fan.FAN_ONDIR : mask;
  }

  /**
   * Waits up to timeout for events, then reads and parses one buffer. Returns an empty list on timeout, EINTR, or
   * when another thread took the events (EAGAIN). Every returned event with {@link FanotifyEvent#needsResponse()}
   * must be answered with {@link #respond} and its fd closed with {@link #closeEventFd}.
   *
   * <p>If the buffer does not parse, the well-formed events before the fault are denied with EIO and their fds
   * closed, then the {@link MalformedEventException} is thrown (events after the fault cannot be located; closing
   * the group releases them).
   *
   * @param timeout null or negative waits without limit; zero does not wait
   * @throws ClosedChannelException if the group is closed (before or during the wait)
   */
  public List<FanotifyEvent> poll(Duration timeout) throws IOException {
    int millis = toMillis(timeout);
    // One poller at a time: every thread blocked in poll(2) on the group wakes for each event (and all but one
    // then read EAGAIN); with 16 handler threads that herd cost more CPU than the event. The others wait here.
    long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(Math.max(0, millis));
    try {
      if (millis < 0) {
        pollLock.lockInterruptibly();
      } else if (!pollLock.tryLock(millis, java.util.concurrent.TimeUnit.MILLISECONDS)) {
        return List.of();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return List.of();
    }
    try {
      // The wait for the turn counts against the timeout.
      return pollAlone(millis < 0 ? millis
          : (int) Math.max(0, java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
    } finally {
      pollLock.unlock();
    }
  }

  private List<FanotifyEvent> pollAlone(int millis) throws IOException {
    lock.readLock().lock();
    try {
      ensureOpen();
      ByteBuffer pollfds = pollBuffers.get();
      int ready = FanotifyNative.pollIn(pollfds, new int[] {fd, wakeFd}, millis);
      if (ready == -Errno.EINTR) {
        return List.of();
      }
      FanotifyNative.check(ready, "poll", "fanotify group " + fd);
      if (closed) {
        throw new ClosedChannelException();
      }
      int revents = FanotifyNative.revents(pollfds, 0);
      if ((revents & FanotifyNative.POLLNVAL) != 0) {
        throw new IOException("poll(fanotify group " + fd + "): POLLNVAL, the fd is not open");
      }
      if (ready == 0 || (revents & (FanotifyNative.POLLIN | FanotifyNative.POLLERR)) == 0) {
        return List.of();
      }
      ByteBuffer buf = readBuffers.get();
      buf.clear();
      long n = FanotifyNative.read(fd, buf, readBufferSize);
      if (n == -Errno.EAGAIN || n == -Errno.EINTR) {
        return List.of();
      }
      FanotifyNative.check(n, "read", "fanotify group " + fd);
      buf.limit((int) n);
      try {
        return EventParser.parse(buf);
      } catch (MalformedEventException e) {
        for (FanotifyEvent ev : e.parsedBefore()) {
          if (ev.needsResponse()) {
            FanotifyNative.write(fd, response(ev.fd(), Fan.denyErrno(Fan.EIO)), Fan.FAN_RESPONSE_LEN);
          }
          if (ev.fd() >= 0) {
            FanotifyNative.close(ev.fd());
          }
        }
        throw e;
      }
    } finally {
      lock.readLock().unlock();
    }
  }

  /**
   * Answers a permission event: writes struct fanotify_response {s32 fd; u32 response}. response is
   * {@link Fan#FAN_ALLOW}, {@link Fan#FAN_DENY} or {@link Fan#denyErrno} (optionally | {@link Fan#FAN_AUDIT}); any
   * other value is refused here with IllegalArgumentException, because the kernel would refuse it too and keep the
   * reader blocked. The event fd stays open: close it with {@link #closeEventFd} afterwards. If the kernel refuses
   * the answer (ENOENT: no such pending event, e.g. answered already) a FanotifyException is thrown.
   */
  public void respond(int eventFd, int response) throws IOException {
    if (!Fan.isValidResponse(response)) {
      throw new IllegalArgumentException("invalid fanotify response 0x" + Integer.toHexString(response)
          + ": the kernel would refuse it and leave the event pending; answer FAN_ALLOW, FAN_DENY or Fan.denyErrno");
    }
    respondUnchecked(eventFd, response);
  }

  /** {@link #respond} without the validity check: only for tests that pin what the kernel does with bad answers. */
  void respondUnchecked(int eventFd, int response) throws IOException {
    if (eventFd < 0) {
      throw new IllegalArgumentException("event fd " + eventFd + " cannot be answered (the kernel already denied"
          + " a permission event whose fd could not be opened)");
    }
    lock.readLock().lock();
    try {
      ensureOpen();
      long n = FanotifyNative.write(fd, response(eventFd, response), Fan.FAN_RESPONSE_LEN);
      FanotifyNative.check(n, "write", "fanotify_response{fd=" + eventFd + ", response=0x"
          + Integer.toHexString(response) + "}");
      if (n != Fan.FAN_RESPONSE_LEN) {
        throw new IOException("short write of fanotify_response: " + n + " bytes");
      }
    } finally {
      lock.readLock().unlock();
    }
  }

  /**
   * Whether an event fd refers to a directory. Needed because FAN_ONDIR is never reported in the mask of an fd-mode
   * group (all pre-content groups: FID reporting is refused with FAN_CLASS_PRE_CONTENT), even when the mark asked for
   * it; see DirectoryOpenPermLetsTheHandlerAddEntriesTest. statx on the fd itself: no lookup, no open, no event.
   */
  public static boolean isDirectory(int eventFd) throws IOException {
    byte[] statx = Stat.newBuffer();
    FanotifyNative.check(FanotifyNative.statxType(eventFd, statx), "statx", "event fd " + eventFd);
    return Stat.decode(statx).isDirectory();
  }

  /** Closes an event fd; negative values (FAN_NOFD, -errno) are ignored. */
  public static void closeEventFd(int eventFd) throws IOException {
    if (eventFd >= 0) {
      FanotifyNative.check(FanotifyNative.close(eventFd), "close", "event fd " + eventFd);
    }
  }

  static byte[] response(int eventFd, int response) {
    return ByteBuffer.allocate(Fan.FAN_RESPONSE_LEN).order(ByteOrder.nativeOrder()).putInt(eventFd).putInt(response)
        .array();
  }

  /**
   * Closes the group: wakes every thread blocked in {@link #poll} (they throw ClosedChannelException), waits for
   * in-flight calls, then closes the fd. The kernel then allows every event still pending. Idempotent.
   */
  @Override
  public void close() throws IOException {
    if (!closing.compareAndSet(false, true)) {
      return;
    }
    closed = true;
    byte[] one = ByteBuffer.allocate(8).order(ByteOrder.nativeOrder()).putLong(1).array();
    FanotifyNative.write(wakeFd, one, 8); // wake pollers; a failure only delays them until their timeout
    lock.writeLock().lock();
    try {
      int r1 = FanotifyNative.close(fd);
      int r2 = FanotifyNative.close(wakeFd);
      FanotifyNative.check(r1, "close", "fanotify group " + fd);
      FanotifyNative.check(r2, "close", "eventfd " + wakeFd);
    } finally {
      lock.writeLock().unlock();
    }
  }

  private void ensureOpen() throws ClosedChannelException {
    if (closed) {
      throw new ClosedChannelException();
    }
  }

  static int toMillis(Duration timeout) {
    if (timeout == null || timeout.isNegative()) {
      return -1;
    }
    if (timeout.compareTo(Duration.ofMillis(Integer.MAX_VALUE)) >= 0) {
      return Integer.MAX_VALUE;
    }
    long ms = timeout.toMillis();
    if (Duration.ofMillis(ms).compareTo(timeout) < 0) {
      ms++; // round a sub-millisecond remainder up: a tiny positive timeout still waits
    }
    return (int) ms;
  }

  private static String describeMark(int flags, long mask, int dirfd, String path) {
    return "flags=0x" + Integer.toHexString(flags) + ", mask=0x" + Long.toHexString(mask) + ", "
        + (path == null ? "fd " + dirfd : (dirfd == AT_FDCWD || path.startsWith("/") ? path : "fd " + dirfd + "/" + path));
  }

  @Override
  public String toString() {
    return "FanotifyGroup(fd " + fd + (closed ? ", closed" : "") + ")";
  }
}
