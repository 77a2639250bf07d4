package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.serve.ServeBed.Result;
import dev.lazydir.testing.FakeOrigin;
import dev.lazydir.testing.PrivateNamespace;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** serve checks its setup before it touches anything: one sentence naming the cause and the fix, nothing created. */
class ServeRefusesBadSetupsTest {
  @TempDir Path tmp;

  @Test
  void aDirThatIsAFileIsRefusedAndNoStoreIsMade() throws Exception {
    PrivateNamespace.require("serve refusals");
    Path file = Files.writeString(tmp.resolve("notadir"), "x");
    try (FakeOrigin origin = new FakeOrigin()) {
      origin.file("/a.txt", "a", Instant.parse("2024-06-01T12:00:00Z"));
      Result r = ServeTest.lazydir("serve", origin.url("/").toString(), file.toString());
      assertEquals(1, r.exit(), r.err());
      assertTrue(r.err().contains("is not a directory") && r.err().contains("give another path"), r.err());
      assertFalse(Files.exists(tmp.resolve(".notadir.lazydir")), "no store was made");
      assertEquals(0, origin.requestCount(), "the origin was not asked anything");
    }
  }

  @Test
  void aStoreOnTmpfsIsRefusedNamingTheFilesystemAndTheFix() throws Exception {
    PrivateNamespace.require("serve refusals (mounts a tmpfs in the test's own namespace)");
    Path mnt = Files.createDirectory(tmp.resolve("tmpfs"));
    assertEquals(0, ServeBed.run(30, "mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", mnt.toString()).exit());
    try (FakeOrigin origin = new FakeOrigin()) {
      origin.file("/a.txt", "a", Instant.parse("2024-06-01T12:00:00Z"));
      Result r = ServeTest.lazydir("serve", "--store", mnt.resolve("store").toString(), origin.url("/").toString(),
          mnt.resolve("view").toString());
      assertEquals(1, r.exit(), r.err());
      assertTrue(r.err().contains("tmpfs filesystem") && r.err().contains("--store"), r.err());
      try (var left = Files.list(mnt)) {
        assertEquals(0, left.count(), "nothing was created");
      }
    } finally {
      ServeBed.run(30, "umount", mnt.toString());
    }
  }
}
