package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.testing.Commands.Result;
import dev.lazydir.testing.FakeOrigin;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** httpdirfs' --single-file-mode and --cache-clear, for real. */
class HttpdirfsModesTest {
  private static final Instant T = Instant.parse("2024-06-01T12:00:00Z");
  @TempDir Path tmp;

  @Test
  void singleFileModeServesTheOneFileTheUrlNamesAndRefusesADirectoryUrl() throws Exception {
    byte[] iso = new byte[3 << 20];
    new Random(5).nextBytes(iso);
    try (ServeBed bed = new ServeBed(tmp); FakeOrigin origin = new FakeOrigin()) {
      origin.file("/images/disk.iso", iso, T).file("/images/other.bin", "x", T);
      Process p = bed.serve(origin.url("/images/disk.iso").toString(), "--single-file-mode");
      try (var names = Files.list(bed.view)) {
        assertEquals(java.util.List.of("disk.iso"), names.map(f -> f.getFileName().toString()).toList());
      }
      assertArrayEquals(iso, ServeBed.run(60, "cat", bed.view.resolve("disk.iso").toString()).out());
      assertEquals(0, bed.stop(p));

      Result dir = ServeTest.lazydir("serve", "--single-file-mode", "--store", tmp.resolve("fs/s2").toString(),
          origin.url("/images/").toString(), tmp.resolve("fs/v2").toString());
      assertEquals(2, dir.exit(), dir.err());
      assertTrue(dir.err().contains("--single-file-mode") && dir.err().contains("names a directory"), dir.err());
      assertFalse(Files.exists(tmp.resolve("fs/s2")) || Files.exists(tmp.resolve("fs/v2")), "nothing left behind");
    }
  }

  @Test
  void cacheClearRemovesTheStoreButNeverOneInUse() throws Exception {
    try (ServeBed bed = new ServeBed(tmp); FakeOrigin origin = new FakeOrigin()) {
      origin.file("/a.txt", "hello", T);
      Process p = bed.serve(origin.url("/").toString());
      assertEquals("hello", ServeBed.run(30, "cat", bed.view.resolve("a.txt").toString()).text());
      Result busy = ServeTest.lazydir("serve", "--cache-clear", "--cache-location", bed.store.toString(),
          origin.url("/").toString(), bed.view.toString());
      assertEquals(1, busy.exit(), busy.err());
      assertTrue(busy.err().contains("is in use by lazydir serve") && busy.err().contains("lazydir stop"), busy.err());
      assertTrue(Files.isRegularFile(bed.store.resolve("tree/a.txt")), "the store in use is untouched");
      assertEquals("hello", ServeBed.run(30, "cat", bed.view.resolve("a.txt").toString()).text());
      assertEquals(0, bed.stop(p));

      Result cleared = ServeTest.lazydir("serve", "--cache-clear", "--cache-location", bed.store.toString(),
          origin.url("/").toString(), bed.view.toString());
      assertEquals(0, cleared.exit(), cleared.err());
      assertTrue(cleared.text().contains("cleared " + bed.store), cleared.text());
      assertFalse(Files.exists(bed.store), "the store is gone");
      assertTrue(Files.isDirectory(bed.view), "DIR itself stays");
    }
  }
}
