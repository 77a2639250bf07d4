package dev.lazydir.serve;

import dev.lazydir.fanotify.Fan;
import dev.lazydir.fanotify.FanotifyException;
import dev.lazydir.fanotify.FanotifyGroup;
import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Posix;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import java.util.Set;
import java.util.logging.Logger;

/**
 * Passes a store's fanotify group from one daemon to the next. The guard holds a copy of the group after its
 * daemon stops or dies, answering EIO to readers still in the view ({@link Guard}); a new daemon on the same
 * store takes that copy (pidfd_getfd), tells the guard to step down (SIGUSR1) and waits for it to exit, so that
 * from then on the readers that still hold files of the old view are served again, not failed: a restart looks
 * like a pause. Waiting for the exit matters: the guard answers by number every event the dead daemon read, and
 * its last answers must be written before this daemon reads events that could reuse those numbers.
 *
 * <p>The guard is found through {@code STORE/run/guard} ("PID STARTTIME GROUPFD"); the process must still be that
 * guard (same start time, a lazydir-guard binary, a fanotify group at that number) or nothing is taken.
 */
final class GroupHandOver {
  private static final Logger LOG = Logger.getLogger(GroupHandOver.class.getName());
  static final String RECORD = "guard";
  private static final int SIGUSR1 = 10;
  private static final int SIGKILL = 9;
  private static final long STEP_DOWN_MS = 5_000;
  /** The guard caps its daemon's descriptors at this many (see guard.c); a killed guard's numbers lie below. */
  private static final int EVENT_NUMBER_BOUND = 65_536;

  private GroupHandOver() {}

  /** Records which guard holds the group, for the next daemon on this store. */
  static void record(Path run, Guard guard) throws IOException {
    if (guard.heldGroupFd() < 0) {
      return;
    }
    RunRecord.write(run, RECORD, guard.pid() + " " + startTime(guard.pid()) + " " + guard.heldGroupFd());
  }

  /**
   * Takes the group a previous daemon's guard still holds, or empty if there is none (no record, the guard has
   * exited, or the process is not that guard any more).
   */
  static Optional<FanotifyGroup> adopt(Path run) throws IOException {
    Optional<long[]> recorded = readRecord(run);
    if (recorded.isEmpty()) {
      return Optional.empty();
    }
    long pid = recorded.get()[0];
    long started = recorded.get()[1];
    int groupFd = (int) recorded.get()[2];
    Fd pidfd;
    try {
      pidfd = Posix.pidfdOpen(pid);
    } catch (IOException gone) {
      return Optional.empty();
    }
    try (pidfd) {
      // Checked after pidfd_open: the pidfd now names one process for good, and this is that guard.
      if (!isGuard(pid, started, groupFd)) {
        return Optional.empty();
      }
      FanotifyGroup group = FanotifyGroup.adopt(Posix.pidfdGetfd(pidfd, groupFd));
      Posix.pidfdSignal(pidfd, SIGUSR1);
      if (!exited(pid, started, STEP_DOWN_MS)) {
        // It does not step down: end it and answer whatever it had read, before reading anything ourselves.
        LOG.warning("the previous guard (pid " + pid + ") did not hand over its fanotify group; ending it");
        Posix.pidfdSignal(pidfd, SIGKILL);
        exited(pid, started, STEP_DOWN_MS);
        denyNumbersBelow(group, EVENT_NUMBER_BOUND);
      }
      LOG.info("took over the fanotify group of the previous daemon (its guard was pid " + pid + ")");
      return Optional.of(group);
    }
  }

  /**
   * Takes the group systemd kept in the service's descriptor store ({@link SystemdNotify#store}), passed back in
   * LISTEN_FDS/LISTEN_FDNAMES on a restart: the way back when the previous daemon and its guard were both killed
   * (then nobody answered what they had read: those numbers are answered EIO first, as for a killed guard). Only
   * a descriptor named {@link SystemdNotify#GROUP_FD_NAME}, passed to this very process, that is a fanotify group
   * is taken; every other passed descriptor is left alone. Empty when there is none.
   */
  static Optional<FanotifyGroup> fromServiceManager(java.util.Map<String, String> env, long pid) throws IOException {
    java.util.OptionalInt fd = passedFd(env, pid, SystemdNotify.GROUP_FD_NAME);
    if (fd.isEmpty()) {
      return Optional.empty();
    }
    String what;
    try {
      what = Posix.readlink("/proc/self/fd/" + fd.getAsInt());
    } catch (IOException e) {
      return Optional.empty();
    }
    if (!what.equals("anon_inode:[fanotify]")) {
      LOG.warning("the descriptor systemd passed as " + SystemdNotify.GROUP_FD_NAME + " is " + what
          + ", not a fanotify group; not taken");
      return Optional.empty();
    }
    int copy = Posix.dupCloseOnExec(fd.getAsInt());
    Posix.libc().close(fd.getAsInt()); // the inherited number is not close-on-exec: the guard must not get it
    FanotifyGroup group = FanotifyGroup.adopt(copy);
    denyNumbersBelow(group, EVENT_NUMBER_BOUND);
    LOG.info("took over the fanotify group kept by systemd (the previous daemon and its guard are gone)");
    return Optional.of(group);
  }

  /** Closes the descriptor systemd passed as the group, when the group came from the guard instead. */
  static void dropPassed(java.util.Map<String, String> env, long pid) {
    passedFd(env, pid, SystemdNotify.GROUP_FD_NAME).ifPresent(fd -> Posix.libc().close(fd));
  }

  /** sd_listen_fds(3): descriptors from 3 on, LISTEN_FDS of them, for LISTEN_PID only, named by LISTEN_FDNAMES. */
  static java.util.OptionalInt passedFd(java.util.Map<String, String> env, long pid, String name) {
    try {
      if (env.get("LISTEN_PID") == null || Long.parseLong(env.get("LISTEN_PID")) != pid) {
        return java.util.OptionalInt.empty();
      }
      int count = Integer.parseInt(env.getOrDefault("LISTEN_FDS", "0"));
      String[] names = env.getOrDefault("LISTEN_FDNAMES", "").split(":", -1);
      for (int i = 0; i < count && i < names.length; i++) {
        if (names[i].equals(name)) {
          return java.util.OptionalInt.of(3 + i);
        }
      }
    } catch (NumberFormatException e) {
      LOG.warning("LISTEN_PID/LISTEN_FDS are not numbers; no descriptor taken from the service manager");
    }
    return java.util.OptionalInt.empty();
  }

  private static Optional<long[]> readRecord(Path run) throws IOException {
    String text;
    try {
      Optional<String> line = RunRecord.read(run, RECORD);
      if (line.isEmpty()) {
        return Optional.empty();
      }
      text = line.get();
    } catch (IOException e) {
      LOG.warning(run.resolve(RECORD) + " is unreadable (" + e.getMessage() + "); not taking over a previous guard");
      return Optional.empty();
    }
    String[] parts = text.split(" ");
    try {
      return parts.length == 3 ? Optional.of(new long[] {Long.parseLong(parts[0]), Long.parseLong(parts[1]),
          Integer.parseInt(parts[2])}) : Optional.empty();
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }

  private static boolean isGuard(long pid, long started, int groupFd) {
    try {
      return startTime(pid) == started
          && Path.of(Posix.readlink("/proc/" + pid + "/exe")).getFileName().toString().startsWith("lazydir-guard")
          && Posix.readlink("/proc/" + pid + "/fd/" + groupFd).equals("anon_inode:[fanotify]");
    } catch (IOException e) {
      return false;
    }
  }

  /** Field 22 of /proc/PID/stat: with the pid, it names one process for the machine's uptime. */
  static long startTime(long pid) throws IOException {
    return Long.parseLong(statFields(pid)[19]);
  }

  /** The fields of /proc/PID/stat after the command name (state first, start time at index 19). */
  private static String[] statFields(long pid) throws IOException {
    String stat = Files.readString(Path.of("/proc/" + pid + "/stat"), StandardCharsets.US_ASCII);
    return stat.substring(stat.lastIndexOf(')') + 2).split(" ");
  }

  private static boolean exited(long pid, long started, long withinMs) {
    long deadline = System.nanoTime() + withinMs * 1_000_000;
    while (System.nanoTime() < deadline) {
      try {
        String[] fields = statFields(pid); // one read: another process, or this one a zombie, is gone
        if (Long.parseLong(fields[19]) != started || fields[0].equals("Z") || fields[0].equals("X")) {
          return true;
        }
        Thread.sleep(5);
      } catch (IOException e) {
        return true; // no /proc entry: gone
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return false;
  }

  /** Answers EIO to every event number a killed holder may have read; numbers no event has are refused. */
  private static void denyNumbersBelow(FanotifyGroup group, int bound) throws IOException {
    for (int n = 0; n < bound; n++) {
      try {
        group.respond(n, Fan.denyErrno(Fan.EIO));
      } catch (FanotifyException noSuchEvent) {
        // ENOENT: nothing pending under that number
      }
    }
  }
}
