package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.testing.Commands.Result;
import dev.lazydir.testing.FakeOrigin;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * DIR's mount may be shared (a systemd host's / is): whatever is mounted below it is copied to its peers and
 * slaves, which here would be copies of the view without the daemon's mount mark, writable, and outliving a
 * container killed whole. serve mounts the view on a private shield instead, so a peer sees DIR empty, and nothing
 * is left in either place after a stop or after the daemon is killed.
 */
class TheViewIsNotCopiedToPeerMountsTest {
  @TempDir Path tmp;

  @Test
  void aPeerOfDirsMountSeesAnEmptyDirectoryAndNothingIsLeftAfterAKill() throws Exception {
    try (FakeOrigin origin = new FakeOrigin(); ServeBed bed = new ServeBed(tmp, "64M")) {
      origin.file("/docs/a.txt", "alpha\n", Instant.parse("2024-06-01T12:00:00Z"));
      Path peer = Files.createDirectories(tmp.resolve("peer"));
      assertEquals(0, ServeBed.run(30, "mount", "--make-shared", bed.fs.toString()).exit());
      assertEquals(0, ServeBed.run(30, "mount", "--bind", bed.fs.toString(), peer.toString()).exit());
      try {
        Process daemon = bed.serve(origin.url("/").toString());
        assertEquals("alpha\n", ServeBed.run(30, "cat", bed.view.resolve("docs/a.txt").toString()).text());
        Result ls = ServeBed.run(30, "ls", "-A", peer.resolve("view").toString());
        assertEquals(0, ls.exit(), ls.err());
        assertEquals("", ls.text(), "the peer of DIR's mount sees no view");

        daemon.destroyForcibly(); // the guard detaches the view and the shield under it
        assertTrue(daemon.waitFor(30, java.util.concurrent.TimeUnit.SECONDS));
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (mountedAt(bed.view) || mountedAt(peer.resolve("view"))) {
          assertTrue(System.nanoTime() < deadline, "no mount left at DIR or at its peer within 20 s:\n"
              + Files.readString(Path.of("/proc/self/mountinfo")));
          Thread.sleep(100);
        }
        assertFalse(mountedAt(peer.resolve("view")));
      } finally {
        ServeBed.run(30, "umount", "-l", peer.toString());
      }
    }
  }

  private static boolean mountedAt(Path p) throws Exception {
    String s = p.toString();
    return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream().anyMatch(l -> l.split(" ")[4].equals(s));
  }
}
