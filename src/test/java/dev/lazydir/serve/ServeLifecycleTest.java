package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.testing.Commands.Result;
import dev.lazydir.testing.FakeOrigin;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How a serve ends when the user (not lazydir) decides: a view unmounted by hand is noticed and the daemon stops
 * cleanly; serve --daemon returns at ready and lazydir stop ends that daemon, waiting until it has.
 */
class ServeLifecycleTest {
  private static final Instant T = Instant.parse("2024-06-01T12:00:00Z");
  @TempDir Path tmp;

  @Test
  void aViewUnmountedByHandStopsTheDaemonCleanlyWithOneLogLineAndStatusSaysNotServed() throws Exception {
    try (ServeBed bed = new ServeBed(tmp); FakeOrigin origin = new FakeOrigin()) {
      origin.file("/a.txt", "hello", T);
      Process daemon = bed.serve(origin.url("/").toString());
      assertEquals("hello", ServeBed.run(30, "cat", bed.view.resolve("a.txt").toString()).text());

      assertEquals(0, ServeBed.run(30, "umount", bed.view.toString()).exit());

      assertTrue(daemon.waitFor(15, TimeUnit.SECONDS), "the daemon noticed the unmount and stopped");
      assertEquals(0, daemon.exitValue(), bed.daemonLog(0));
      String log = bed.daemonLog(0);
      assertEquals(1, log.lines().filter(l -> l.contains("unmounted by hand")).count(), log);
      assertFalse(log.contains("EINVAL") || log.contains("Invalid argument") || log.contains("could not unmount"), log);
      Result status = ServeTest.lazydir("status", "--store", bed.store.toString(), bed.view.toString());
      assertTrue(status.text().contains("(not served)"), status.text() + status.err());
      // and it starts again on the same store
      Process again = bed.serve(origin.url("/").toString());
      assertEquals("hello", ServeBed.run(30, "cat", bed.view.resolve("a.txt").toString()).text());
      assertEquals(0, bed.stop(again));
    }
  }

  @Test
  void serveDaemonReturnsOnceReadyKeepsServingAndStopEndsItCleanly() throws Exception {
    try (ServeBed bed = new ServeBed(tmp); FakeOrigin origin = new FakeOrigin()) {
      origin.file("/dir/b.txt", "from the daemon", T);
      Result started = ServeTest.lazydir("serve", "--daemon", "-v", "--store", bed.store.toString(), "--retries", "2",
          origin.url("/").toString(), bed.view.toString());
      assertEquals(0, started.exit(), started.text() + started.err());
      String out = started.text();
      assertTrue(out.startsWith("ready " + bed.view), out);
      long pid = Long.parseLong(out.replaceAll("(?s).*in the background as pid (\\d+).*", "$1"));
      ProcessHandle daemon = ProcessHandle.of(pid).orElseThrow();
      try {
        assertTrue(daemon.isAlive(), "the daemon outlives the command that started it");
        assertTrue(bed.viewMounted());
        assertEquals("from the daemon", ServeBed.run(30, "cat", bed.view.resolve("dir/b.txt").toString()).text());

        Result stop = ServeTest.lazydir("stop", "--store", bed.store.toString(), bed.view.toString());
        assertEquals(0, stop.exit(), stop.err());
        assertTrue(stop.text().contains("stopped " + bed.view), stop.text());
        assertFalse(daemon.isAlive(), "stop returns once the daemon has exited");
        assertFalse(bed.viewMounted(), "DIR is unmounted");
      } finally {
        daemon.destroyForcibly();
      }
      String log = Files.readString(bed.store.resolve("run/serve.log"), StandardCharsets.UTF_8);
      assertTrue(log.contains("fetched dir/b.txt") || log.contains("fetched /dir/b.txt") || log.contains("b.txt bytes 0-"),
          "-v: one line per fetch, in the daemon's log:\n" + log);
      assertTrue(log.contains("stopping: answering pending readers"), log);
      Result again = ServeTest.lazydir("stop", "--store", bed.store.toString(), bed.view.toString());
      assertEquals(1, again.exit(), "nothing to stop");
      assertTrue(again.err().contains("is not served"), again.err());
    }
  }

  @Test
  void theGuardsLogIsKeptInTheStoreNotInRunLazydir() throws Exception {
    try (ServeBed bed = new ServeBed(tmp); FakeOrigin origin = new FakeOrigin()) {
      origin.file("/a.txt", "hello", T);
      Process daemon = bed.serve(origin.url("/").toString());
      daemon.destroyForcibly();
      assertTrue(daemon.waitFor(10, TimeUnit.SECONDS));
      long deadline = System.nanoTime() + 10_000_000_000L;
      while (bed.viewMounted() && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertFalse(bed.viewMounted(), "the guard detached the view");
      String logs = "";
      for (int i = 0; i < 50 && !logs.contains("detached"); i++) {
        Thread.sleep(100);
        try (var files = Files.list(bed.store.resolve("run"))) {
          logs = files.filter(f -> f.getFileName().toString().startsWith("guard-" + daemon.pid() + "-"))
              .map(f -> {
                try {
                  return Files.readString(f);
                } catch (java.io.IOException e) {
                  return "";
                }
              }).reduce("", String::concat);
        }
      }
      assertTrue(logs.contains("detached " + bed.view), "the guard's line is in STORE/run: " + logs);
      Path run = Path.of("/run/lazydir");
      if (Files.isDirectory(run)) {
        try (var files = Files.list(run)) {
          assertFalse(files.anyMatch(f -> f.getFileName().toString().startsWith("guard-" + daemon.pid() + "-")),
              "nothing of this daemon's guard in /run/lazydir");
        }
      }
    }
  }

  @Test
  void serveDaemonThatCannotStartSaysWhyAndLeavesNoProcess() throws Exception {
    try (ServeBed bed = new ServeBed(tmp); FakeOrigin origin = new FakeOrigin()) {
      origin.file("/a.txt", "hello", T);
      Files.createDirectories(bed.view);
      Files.writeString(bed.view.resolve("mine"), "x");
      Result r = ServeTest.lazydir("serve", "--daemon", "--store", bed.store.toString(), origin.url("/").toString(),
          bed.view.toString());
      assertEquals(1, r.exit(), r.text() + r.err());
      assertTrue(r.err().contains(bed.view + " is not empty"), "the daemon's refusal is passed on: " + r.err());
      assertFalse(r.text().contains("ready"), r.text());
      assertFalse(Files.exists(bed.store), "nothing was made");
      assertFalse(ProcessHandle.allProcesses().anyMatch(p -> p.info().commandLine().orElse("")
          .contains(bed.store.toString())), "no daemon left running");
    }
  }
}
