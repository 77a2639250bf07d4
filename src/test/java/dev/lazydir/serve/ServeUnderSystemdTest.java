package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.testing.FakeSystemd;
import dev.lazydir.testing.FakeOrigin;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * serve as a systemd Type=notify service (dist/lazydir@.service), against a fake manager (PID 1 here is not
 * systemd): READY=1 arrives once the view is live, the fanotify group is put in the unit's descriptor store, and
 * when the daemon and its guard are killed together (what systemd does to a cgroup) a reader holding a file waits
 * (never zeros) until the restarted daemon takes the group back from LISTEN_FDS and serves it; a stop says
 * STOPPING=1.
 */
class ServeUnderSystemdTest {
  static final int MIB = 1 << 20;
  static final byte[] RANDOM = DaemonDeathTest.bytes(20 * MIB, 21);

  @TempDir Path tmp;
  FakeOrigin origin;
  ServeBed bed;

  @BeforeEach
  void setUp() throws Exception {
    origin = new FakeOrigin();
    origin.file("/data/random.bin", RANDOM, Instant.parse("2024-06-01T12:34:56Z"));
    bed = new ServeBed(tmp);
  }

  @AfterEach
  void tearDown() throws Exception {
    for (long pid : started) { // a failed test leaves no daemon behind (it is not the bed's own child)
      ProcessHandle.of(pid).ifPresent(p -> {
        p.destroy();
        p.onExit().completeOnTimeout(null, 30, TimeUnit.SECONDS).join();
      });
    }
    bed.close();
    origin.close();
  }

  @Test
  void readyIsSentWhenTheViewIsLiveAndARestartAfterTheWholeServiceWasKilledServesAHeldFileFromTheStoredGroupAndLeavesNoMountBehind()
      throws Exception {
    Path held = bed.view.resolve("data/random.bin");
    try (FakeSystemd systemd = new FakeSystemd(bed.root.resolve("notify"), bed.root.resolve("daemon.log"),
        bed.serveCommand(origin.url("/").toString(), "--readahead", "0", "--dl-seg-size", "1"))) {
      systemd.command("start");
      long first = pid(systemd.await("STARTED", 10));
      assertEquals("FD lazydir-group anon_inode:[fanotify]", systemd.await("FD", 60));
      String ready = systemd.await("MSG READY=1", 60);
      assertTrue(ready.contains("STATUS=ready " + bed.view), ready);
      assertTrue(Files.isDirectory(bed.view.resolve("data")), "the view is live when READY=1 arrives");

      try (FileChannel ch = FileChannel.open(held)) {
        assertArrayEquals(Arrays.copyOf(RANDOM, 4096), DaemonDeathTest.read(ch, 0));
        // systemd ending the whole cgroup (KillMode=control-group, or the OOM killer): guard and daemon die.
        ProcessHandle guard = bed.guard().orElseThrow();
        guard.destroyForcibly();
        guard.onExit().get(10, TimeUnit.SECONDS);
        ProcessHandle.of(first).orElseThrow().destroyForcibly();
        systemd.await("EXITED " + first, 10);

        CompletableFuture<byte[]> pending = CompletableFuture.supplyAsync(() -> {
          try {
            return DaemonDeathTest.read(ch, 10 * MIB);
          } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        });
        Thread.sleep(1500);
        assertFalse(pending.isDone(), "with the group in systemd's store, nobody lets the read through to the hole");

        assertTrue(bed.viewMounted(), "nobody detached the view");
        systemd.command("start");
        long second = pid(systemd.await("STARTED", 10));
        systemd.await("MSG READY=1", 60); // it detached the old view (its own check of DIR would have waited on it)
        assertArrayEquals(Arrays.copyOfRange(RANDOM, 10 * MIB, 10 * MIB + 4096), pending.get(30, TimeUnit.SECONDS),
            "the restarted daemon took the group from LISTEN_FDS and served the waiting reader");
        assertArrayEquals(Arrays.copyOfRange(RANDOM, 15 * MIB, 15 * MIB + 4096), DaemonDeathTest.read(ch, 15 * MIB));

        ProcessHandle.of(second).orElseThrow().destroy(); // systemctl stop: SIGTERM to the main process
        systemd.await("MSG STOPPING=1", 30);
        assertEquals("EXITED " + second + " 0", systemd.await("EXITED", 30));
        assertEquals(java.util.List.of(), dev.lazydir.testing.LoopFilesystem.mountIdsAt(bed.view),
            "no mount of either daemon is left on DIR (the killed one's shield was not left under the restart's)");
      }
      systemd.command("flush"); // the unit is inactive: systemd closes what it kept
      systemd.await("FLUSHED", 10);
    }
  }

  /** The daemons the fake manager started. */
  final java.util.List<Long> started = new java.util.ArrayList<>();

  long pid(String line) {
    long pid = Long.parseLong(line.split(" ")[1]);
    started.add(pid);
    return pid;
  }
}
