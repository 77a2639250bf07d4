package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.testing.Commands.Result;
import dev.lazydir.testing.FakeOrigin;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A `umount DIR` by hand is noticed: serve stops as on SIGTERM (exit 0, saying why), its state is removed so
 * status no longer calls DIR served, and it leaves alone whatever DIR shows after the unmount.
 */
class UmountByHandStopsServeTest {
  @TempDir Path tmp;

  @Test
  void serveStopsCleanlyWithinSecondsWhenItsViewIsUnmountedByHand() throws Exception {
    try (FakeOrigin origin = new FakeOrigin(); ServeBed bed = new ServeBed(tmp, "64M")) {
      origin.file("/a.txt", "a", Instant.parse("2024-06-01T12:00:00Z"));
      Process daemon = bed.serve(origin.url("/").toString());
      assertEquals("a", Files.readString(bed.view.resolve("a.txt")));

      // The daemon closes the descriptor of the read's event just after answering it: till then the mount is busy.
      Result u = ServeBed.run(30, "umount", bed.view.toString());
      for (long deadline = System.nanoTime() + 5_000_000_000L; u.exit() != 0 && u.err().contains("busy")
          && System.nanoTime() < deadline; ) {
        Thread.sleep(50);
        u = ServeBed.run(30, "umount", bed.view.toString());
      }
      assertEquals(0, u.exit(), u.err());

      assertTrue(daemon.waitFor(10, TimeUnit.SECONDS), "serve noticed the unmount and stopped");
      assertEquals(0, daemon.exitValue());
      String log = bed.daemonLog(0);
      assertTrue(log.contains(bed.view + " was unmounted by hand; stopping"), log);
      assertFalse(log.contains("could not unmount"), log);
      assertFalse(bed.viewMounted());
      assertFalse(Files.exists(bed.store.resolve("run").resolve("state")), "status no longer calls it served");
    }
  }
}
