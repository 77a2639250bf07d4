package dev.lazydir.serve;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Fail-closed protection for the user-visible view: a small native process ({@code native-shim/guard.c}) that
 * lazily unmounts the view (umount2 MNT_DETACH) the moment the daemon process dies, so that new opens under it get
 * ENOENT from the empty directory underneath instead of zeros from unpopulated stubs that no one fills any more.
 *
 * <p>Given the daemon's fanotify group, it also holds a copy of it from start-up, so that the group and its marks
 * outlive the daemon: when the daemon dies, or stops cleanly and says so, the guard answers EIO to every event the
 * daemon read and did not answer and to every event queued after it, for as long as any process still uses the
 * view (an open file, a working directory). A reader blocked at a kill, or holding a file across a stop, gets EIO,
 * never zeros (the kernel would allow every pending read once the group's last holder closed it). A new daemon on
 * the same store takes the group over ({@link GroupHandOver}). To know every event number the daemon can have
 * read, the guard caps the daemon's descriptors at 65,536 (RLIMIT_NOFILE).
 *
 * <p>It has to be a separate process: nothing inside a SIGKILLed or OOM-killed JVM runs. It runs in its own session
 * and ignores SIGINT/SIGHUP, so a Ctrl-C at the daemon's terminal does not take it down too. It cannot survive a kill
 * of the whole cgroup (systemd {@code KillMode=control-group} with SIGKILL, {@code memory.oom.group}): run the daemon
 * so that it is not killed together with the guard.
 *
 * <p>Lifecycle: mount the view, then {@link #start}; on clean shutdown unmount the view first, then {@link #release}.
 * In that order there is no moment when the view is mounted and unguarded. The guard never detaches a mount other
 * than the one it armed on, so a release that comes late is harmless.
 *
 * <p>Keep the {@code Guard} referenced for as long as the view is mounted: the guard also treats the end of its stdin
 * (this object's pipe) without a goodbye as the daemon's death, and an unreachable {@link Process} may have its pipes
 * closed by the garbage collector, which would detach a working view.
 *
 * <p>This class is the guard's protocol (arguments, the ready line, release); where its binary is installed and
 * how it is started is {@link GuardBinary}'s.
 */
final class Guard implements AutoCloseable {
  private static final String READY = "guard ready";
  /** How long a clean release waits for a guard that holds the group: it stays while the view is in use. */
  private static final long HOLD_EXIT_WAIT_MS = 2_000;
  /** Enough for a fork, an exec, a few syscalls and a line of output on a loaded machine, short enough to fail fast. */
  private static final long READY_TIMEOUT_MS = 5_000;
  private static final long EXIT_TIMEOUT_MS = 5_000;

  private final Process process;
  private final OutputStream stdin;
  private final Path log;
  private int heldGroupFd = -1;
  private boolean released;

  private Guard(Process process, Path log) {
    this.process = process;
    this.stdin = process.getOutputStream();
    this.log = log;
  }

  /**
   * Arms a guard on {@code mountpoint} for the process {@code daemonPid} (usually {@code
   * ProcessHandle.current().pid()}). Returns once the guard has said it is ready: from then on the death of that
   * process detaches the mount.
   *
   * @throws IOException if the binary cannot be installed or started, or the guard refuses (no such process, not a
   *     mount point, no CAP_SYS_ADMIN); the message carries the guard's own explanation
   */
  public static Guard start(long daemonPid, Path mountpoint) throws IOException {
    return start(daemonPid, mountpoint, -1, java.time.Duration.ZERO);
  }

  /**
   * Arms a guard that also holds a copy of the daemon's fanotify group {@code groupFd} (a descriptor number of the
   * process {@code daemonPid}), or none if it is negative; and that ends the daemon if it stays stopped (SIGSTOP,
   * a debugger) longer than {@code stoppedLimit} (zero: never), so its readers get EIO instead of waiting.
   */
  public static Guard start(long daemonPid, Path mountpoint, int groupFd, java.time.Duration stoppedLimit)
      throws IOException {
    return start(daemonPid, mountpoint, groupFd, stoppedLimit, null);
  }

  /**
   * As above, with the guard's log in {@code logDir} (the store's run directory: it belongs with the view it
   * guards, and goes with the store), or beside the binary if null.
   */
  public static Guard start(long daemonPid, Path mountpoint, int groupFd, java.time.Duration stoppedLimit, Path logDir)
      throws IOException {
    return start(daemonPid, mountpoint, groupFd, stoppedLimit, logDir, 0);
  }

  /**
   * As above; {@code shield}: the unique id of the daemon's shield mount under the view (see Daemon), which the
   * guard detaches after the view when it is what MOUNTPOINT shows then; 0 for none.
   */
  public static Guard start(long daemonPid, Path mountpoint, int groupFd, java.time.Duration stoppedLimit, Path logDir,
      long shield) throws IOException {
    if (daemonPid <= 0 || daemonPid > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("not a process id: " + daemonPid);
    }
    Path dir = GuardBinary.privateDir();
    Path exe = GuardBinary.install(dir);
    // Stderr goes to a file, not to a pipe: the one line that matters ("detached ...") is written when the daemon,
    // the pipe's reader, is already dead. The file also gives start() the guard's message if it refuses to arm.
    Path log = Files.createTempFile(logDir == null ? dir : logDir, "guard-" + daemonPid + "-", ".log");
    List<String> cmd = new ArrayList<>(List.of(exe.toString(), Long.toString(daemonPid),
        mountpoint.toAbsolutePath().toString()));
    if (groupFd >= 0 || !stoppedLimit.isZero() || shield != 0) {
      cmd.add(Integer.toString(Math.max(-1, groupFd)));
      cmd.add(Long.toString(Math.max(1, stoppedLimit.toSeconds())));
    }
    if (shield != 0) {
      cmd.add(Long.toUnsignedString(shield));
    }
    ProcessBuilder pb = new ProcessBuilder(cmd)
        .redirectInput(ProcessBuilder.Redirect.PIPE)
        .redirectOutput(ProcessBuilder.Redirect.PIPE)
        .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()));
    Process p;
    try {
      p = GuardBinary.startRetryingBusyText(pb);
    } catch (IOException e) {
      Files.deleteIfExists(log);
      throw e;
    }
    Guard guard = new Guard(p, log);
    guard.awaitReady(daemonPid, mountpoint);
    return guard;
  }

  /** The guard's process id (for diagnostics and tests). */
  public long pid() {
    return process.pid();
  }

  /** The guard's own descriptor number of the group it holds, or -1 (what a successor takes over). */
  public int heldGroupFd() {
    return heldGroupFd;
  }

  /**
   * Whether the guard is still armed. A daemon may check this: a guard that someone killed no longer protects the
   * view.
   */
  public boolean isAlive() {
    return process.isAlive();
  }

  /**
   * Clean shutdown: tells the guard that the daemon unmounted the view and answered every event it read (the byte
   * 'q' on its stdin), then waits a bounded time for it. A guard without a group exits at once. A guard holding the
   * group stays, answering EIO, while any process still uses the view, and exits by itself afterwards; it is left
   * running. Call after the daemon has unmounted the view and its handlers have answered what they read.
   * Idempotent; never throws, because it runs on shutdown paths where the guard may already be gone.
   */
  public synchronized void release() {
    if (released) {
      return;
    }
    released = true;
    try {
      stdin.write('q');
      stdin.flush();
    } catch (IOException alreadyGone) {
      // EPIPE: the guard has exited (it may have been killed); there is nothing left to tell it.
    }
    try {
      stdin.close();
    } catch (IOException ignored) {
      // same as above
    }
    boolean interrupted = false;
    try {
      if (heldGroupFd >= 0) {
        // Holding the group for readers still in the view: it ends by itself when they are done.
        process.waitFor(HOLD_EXIT_WAIT_MS, TimeUnit.MILLISECONDS);
      } else if (!process.waitFor(EXIT_TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
        // It got 'q' and should be gone; killing it now cannot unmount anything.
        process.destroyForcibly();
        process.waitFor(EXIT_TIMEOUT_MS, TimeUnit.MILLISECONDS);
      }
    } catch (InterruptedException e) {
      interrupted = true;
    }
    if (!process.isAlive() && process.exitValue() == 0) {
      // Nothing worth keeping: a clean release writes no log line.
      try {
        if (Files.size(log) == 0) {
          Files.deleteIfExists(log);
        }
      } catch (IOException ignored) {
        // best effort
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  /** Same as {@link #release()}. */
  @Override
  public void close() {
    release();
  }

  /** Where the guard's stderr goes (its one line when it detaches; kept after a crash, for diagnosis). */
  Path log() {
    return log;
  }

  @Override
  public String toString() {
    return "Guard[pid=" + process.pid() + (process.isAlive() ? "" : ", exited") + "]";
  }

  /** Reads the guard's first stdout line within a bounded time; anything else is a refusal or a hang. */
  private void awaitReady(long daemonPid, Path mountpoint) throws IOException {
    InputStream out = process.getInputStream();
    FutureTask<String> firstLine = new FutureTask<>(() -> {
      BufferedReader r = new BufferedReader(new InputStreamReader(out, StandardCharsets.UTF_8));
      return r.readLine(); // null at EOF: the guard exited without saying ready
    });
    Thread reader = new Thread(firstLine, "lazydir-guard-ready-" + daemonPid);
    reader.setDaemon(true);
    reader.start();
    String line = null;
    boolean timedOut = false;
    try {
      line = firstLine.get(READY_TIMEOUT_MS, TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      timedOut = true;
    } catch (ExecutionException e) {
      // a read error counts as no line
    } catch (InterruptedException e) {
      kill();
      out.close();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while starting lazydir-guard", e);
    }
    if (line != null && line.startsWith(READY + " ")) {
      try {
        heldGroupFd = Integer.parseInt(line.substring(READY.length() + 1).strip());
        // The guard writes nothing after its ready line (and would ignore the SIGPIPE if it did).
        out.close();
        return;
      } catch (NumberFormatException e) {
        // reported below as an unexpected line
      }
    }
    if (!timedOut) {
      // EOF on its stdout: it is exiting; let it finish so its status and message are there to report.
      try {
        process.waitFor(EXIT_TIMEOUT_MS, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    String why;
    if (process.isAlive()) {
      kill();
      why = timedOut
          ? "did not report ready within " + READY_TIMEOUT_MS + " ms"
          : line == null ? "closed its stdout without reporting ready"
          : "said '" + line + "' instead of '" + READY + "'";
    } else {
      why = "exited with status " + process.exitValue();
    }
    out.close();
    String message = readLog().strip();
    Files.deleteIfExists(log);
    throw new IOException("lazydir-guard for pid " + daemonPid + " on " + mountpoint + " " + why
        + (message.isEmpty() ? "" : ": " + message));
  }

  /**
   * Kills a guard that failed to start. SIGKILL before closing its stdin: a guard that armed at the last moment would
   * take a closed stdin for the daemon's death and detach the view; a killed one detaches nothing.
   */
  private void kill() {
    process.destroyForcibly();
    try {
      process.waitFor(EXIT_TIMEOUT_MS, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try {
      stdin.close();
    } catch (IOException ignored) {
      // closing
    }
  }

  private String readLog() {
    try {
      return Files.readString(log, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }
}
