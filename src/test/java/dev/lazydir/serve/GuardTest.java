package dev.lazydir.serve;

import static dev.lazydir.testing.LoopFilesystem.isMountPoint;
import static dev.lazydir.testing.LoopFilesystem.mountIdAt;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.lazydir.testing.Commands;
import dev.lazydir.testing.LoopFilesystem;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The guard really unmounts things, so these tests are privileged and must only ever run in the test JVM's private
 * mount namespace (.ci/test-jvm/bin/java runs it under {@code unshare --mount --propagation private} when root).
 * Every mount they make is a loop-mounted ext4 image and bind mounts of it inside a @TempDir; they unmount only
 * those. A guard or stand-in daemon they start is killed by pid in finally.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class GuardTest {
  private static final Duration DETACH_WITHIN = Duration.ofSeconds(3);

  @TempDir Path tmp;

  @BeforeEach
  void onlyInAPrivateMountNamespace() throws IOException {
    dev.lazydir.testing.PrivateNamespace.require("GuardTest (it mounts and unmounts)");
  }

  @Test
  void guardDetachesTheViewWhenTheDaemonIsKilled() throws Exception {
    try (Fixture f = new Fixture(tmp)) {
      Process daemon = f.standIn("sleep", "300");
      Guard guard = f.guard(Guard.start(daemon.pid(), f.view));
      assertTrue(isMountPoint(f.view));
      assertEquals("hello\n", Files.readString(f.view.resolve("file")));

      daemon.destroyForcibly(); // SIGKILL

      waitUntil(() -> !isMountPoint(f.view), DETACH_WITHIN, "view still mounted after the daemon was killed");
      assertThrows(NoSuchFileException.class, () -> Files.newInputStream(f.view.resolve("file")).close());
      waitUntil(() -> !guard.isAlive(), DETACH_WITHIN, "guard still running after detaching");
      assertEquals("lazydir-guard: daemon " + daemon.pid() + " died; detached " + f.view.toRealPath() + "\n",
          Files.readString(guard.log()));
      assertTrue(isMountPoint(f.fs), "the filesystem itself is left mounted");
    }
  }

  @Test
  void guardDetachesTheViewWhenTheDaemonExitsWithoutReleasing() throws Exception {
    try (Fixture f = new Fixture(tmp)) {
      // A daemon that ends "normally" without unmounting its view still leaves stubs no one fills.
      Process daemon = f.standIn("sh", "-c", "read line; exit 0"); // runs until told, however slow the handshake
      Guard guard = f.guard(Guard.start(daemon.pid(), f.view));
      daemon.getOutputStream().close(); // EOF: the stand-in ends normally
      assertTrue(daemon.waitFor(10, TimeUnit.SECONDS));
      assertEquals(0, daemon.exitValue());
      waitUntil(() -> !isMountPoint(f.view), DETACH_WITHIN, "view still mounted after the daemon exited");
      assertThrows(NoSuchFileException.class, () -> Files.newInputStream(f.view.resolve("file")).close());
      waitUntil(() -> !guard.isAlive(), DETACH_WITHIN, "guard still running after detaching");
    }
  }

  @Test
  void cleanReleaseLeavesTheMountAlone() throws Exception {
    try (Fixture f = new Fixture(tmp)) {
      Process daemon = f.standIn("sleep", "300");
      Guard guard = f.guard(Guard.start(daemon.pid(), f.view));
      Path log = guard.log();

      guard.release();

      assertFalse(guard.isAlive(), "release waits for the guard to exit");
      assertTrue(isMountPoint(f.view));
      // The daemon going away afterwards changes nothing: no one is watching any more.
      daemon.destroyForcibly();
      daemon.waitFor(10, TimeUnit.SECONDS);
      Thread.sleep(300);
      assertTrue(isMountPoint(f.view));
      assertEquals("hello\n", Files.readString(f.view.resolve("file")));
      assertFalse(Files.exists(log), "a clean release leaves no log behind");
      guard.release(); // idempotent
    }
  }

  @Test
  void guardNeverDetachesAMountThatReplacedTheView() throws Exception {
    try (Fixture f = new Fixture(tmp)) {
      Process daemon = f.standIn("sleep", "300");
      Guard guard = f.guard(Guard.start(daemon.pid(), f.view));

      // The daemon's view goes away and something else is mounted at the same path.
      Commands.check("umount", f.view.toString());
      Path other = f.fs.resolve("other");
      Files.createDirectory(other);
      Files.writeString(other.resolve("newfile"), "new\n");
      Commands.check("mount", "--bind", other.toString(), f.view.toString());
      long replacement = mountIdAt(f.view).orElseThrow();

      daemon.destroyForcibly();

      waitUntil(() -> !guard.isAlive(), DETACH_WITHIN, "guard still running after the daemon died");
      assertEquals(Optional.of(replacement), mountIdAt(f.view), "the replacement mount must stay");
      assertEquals("new\n", Files.readString(f.view.resolve("newfile")));
      assertTrue(Files.readString(guard.log()).contains("is no longer the guarded mount; left it alone"),
          Files.readString(guard.log()));
    }
  }

  @Test
  void guardRefusesAPathThatIsNotAMountPoint() throws Exception {
    Process daemon = new ProcessBuilder("sleep", "300").start();
    try {
      Path plain = Files.createDirectory(tmp.resolve("plain"));
      IOException e = assertThrows(IOException.class, () -> Guard.start(daemon.pid(), plain));
      assertTrue(e.getMessage().contains("is not a mount point"), e.getMessage());
      assertTrue(e.getMessage().contains("exited with status 1"), e.getMessage());
    } finally {
      daemon.destroyForcibly().waitFor();
    }
  }

  @Test
  void guardRefusesADaemonThatIsNotRunning() throws Exception {
    try (Fixture f = new Fixture(tmp)) {
      long pid = -1;
      for (int i = 0; i < 20 && pid < 0; i++) {
        Process gone = new ProcessBuilder("true").start();
        assertTrue(gone.waitFor(10, TimeUnit.SECONDS)); // exited and reaped: the pid names no process
        pid = ProcessHandle.of(gone.pid()).isEmpty() ? gone.pid() : -1; // unless already reused: try another
      }
      assertTrue(pid > 0, "could not find a pid that names no process in 20 tries");
      long dead = pid;

      IOException e = assertThrows(IOException.class, () -> Guard.start(dead, f.view));

      assertTrue(e.getMessage().contains("no process with pid " + dead), e.getMessage());
      assertTrue(isMountPoint(f.view), "a refusing guard touches nothing");
    }
  }

  @Test
  void guardDetachesTheViewWhenItsStdinClosesWithoutGoodbye() throws Exception {
    // The daemon's end of the pipe closing without 'q' (its parent gone, or a Guard lost to the GC) fails closed.
    try (Fixture f = new Fixture(tmp)) {
      Process daemon = f.standIn("sleep", "300");
      Path exe = Path.of(Guard.class.getResource(GuardBinary.RESOURCE).toURI());
      Process guard = f.process(new ProcessBuilder(exe.toString(), Long.toString(daemon.pid()), f.view.toString())
          .redirectErrorStream(false).start());
      BufferedReader out = new BufferedReader(new InputStreamReader(guard.getInputStream(), StandardCharsets.UTF_8));
      assertEquals("guard ready -1", out.readLine(), "without a group the guard holds none");
      assertTrue(isMountPoint(f.view));

      guard.getOutputStream().close();

      assertTrue(guard.waitFor(DETACH_WITHIN.toMillis(), TimeUnit.MILLISECONDS), "guard still running");
      assertEquals(0, guard.exitValue());
      assertFalse(isMountPoint(f.view));
      String err = new String(guard.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(err.contains("stdin closed without 'q'") && err.contains("detached " + f.view.toRealPath()), err);
      assertTrue(daemon.isAlive(), "the guard never touches the daemon");
    }
  }

  @Test
  void guardIgnoresCtrlCAndHangupInItsOwnSession() throws Exception {
    try (Fixture f = new Fixture(tmp)) {
      Process daemon = f.standIn("sleep", "300");
      Guard guard = f.guard(Guard.start(daemon.pid(), f.view));
      // Field 6 of /proc/PID/stat is the session id: setsid() made the guard a session leader.
      String stat = Files.readString(Path.of("/proc/" + guard.pid() + "/stat"));
      String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      assertEquals(Long.toString(guard.pid()), fields[3], "session id of the guard: " + stat);

      Commands.check("kill", "-INT", Long.toString(guard.pid()));
      Commands.check("kill", "-HUP", Long.toString(guard.pid()));
      Commands.check("kill", "-PIPE", Long.toString(guard.pid()));
      Thread.sleep(300);

      assertTrue(guard.isAlive(), "guard died of SIGINT/SIGHUP/SIGPIPE");
      assertTrue(isMountPoint(f.view));
      guard.release();
      assertTrue(isMountPoint(f.view));
    }
  }

  // ---------------------------------------------------------------------------------------------------------------

  /**
   * tmp/img (32 MiB ext4) loop-mounted at tmp/m, with m/store/file; an empty tmp/view with m/store bind-mounted on it.
   * close() kills what the test started and unmounts only these paths.
   */
  private static final class Fixture implements AutoCloseable {
    final Path fs;
    final Path view;
    private final LoopFilesystem loop;
    private final List<Process> processes = new ArrayList<>();
    private final List<Guard> guards = new ArrayList<>();

    Fixture(Path tmp) throws Exception {
      view = Files.createDirectory(tmp.resolve("view")).toRealPath();
      loop = LoopFilesystem.mount(tmp.resolve("img"), tmp.resolve("m"), 32L << 20, "GuardTest (it mounts and unmounts)");
      fs = loop.dir;
      // Everything mounted at view was mounted by this test (the view, or a replacement); there may be none.
      loop.alsoUnmount(view);
      try {
        Path store = Files.createDirectory(fs.resolve("store"));
        Files.writeString(store.resolve("file"), "hello\n");
        loop.bind(store, view);
      } catch (Exception | AssertionError e) {
        close();
        throw e;
      }
    }

    Process standIn(String... cmd) throws IOException {
      return process(new ProcessBuilder(cmd).start());
    }

    Process process(Process p) {
      processes.add(p);
      return p;
    }

    Guard guard(Guard g) {
      guards.add(g);
      return g;
    }

    @Override
    public void close() throws Exception {
      // Guards first, and by release (it never unmounts; it kills a guard that does not exit), so that killing
      // the stand-ins below cannot make a guard detach anything.
      for (Guard g : guards) {
        g.release();
        Files.deleteIfExists(g.log()); // a crash log is kept on purpose in real use; not for tests
      }
      for (Process p : processes) {
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
      }
      loop.close(); // the view and whatever the test stacked on it, then the image; the loop device goes too
    }
  }

  private static void waitUntil(BooleanSupplier condition, Duration within, String message)
      throws InterruptedException {
    long deadline = System.nanoTime() + within.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        fail(message + " (waited " + within.toMillis() + " ms)");
      }
      Thread.sleep(20);
    }
  }
}
