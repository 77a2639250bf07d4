package dev.lazydir.serve;

import dev.lazydir.testing.FakeOrigin.Fault;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.testing.Commands.Result;
import dev.lazydir.testing.FakeOrigin;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The origin down is not the cache down: what is listed and fetched keeps working while the origin fails. */
class OriginDownTest {
  static final Instant T = Instant.parse("2024-06-01T12:34:56Z");
  @TempDir Path tmp;
  FakeOrigin origin;
  ServeBed bed;

  @BeforeEach
  void setUp() throws Exception {
    origin = new FakeOrigin();
    origin.file("/docs/a.txt", "alpha\n", T).file("/docs/b.txt", "beta\n", T);
    bed = new ServeBed(tmp);
  }

  @AfterEach
  void tearDown() throws Exception {
    bed.close();
    origin.close();
  }

  @Test
  void aDirectoryDueForRefreshKeepsItsListingAndCachedFilesWhileTheOriginFails() throws Exception {
    bed.serve(origin.url("/").toString(), "--refresh-timeout", "1");
    assertEquals(0, ServeBed.run(30, "ls", bed.view.resolve("docs").toString()).exit());
    Result first = ServeBed.run(30, "cat", bed.view.resolve("docs/a.txt").toString());
    assertEquals(0, first.exit(), first.err() + "\n" + bed.daemonLog(0));
    assertArrayEquals("alpha\n".getBytes(StandardCharsets.UTF_8), first.out());

    origin.fault("/*", Fault.status(503));
    Thread.sleep(1500); // past the refresh timeout: the next open lists again, and that fails

    Result ls = ServeBed.run(30, "ls", bed.view.resolve("docs").toString());
    assertEquals(0, ls.exit(), ls.err());
    assertTrue(ls.text().contains("a.txt") && ls.text().contains("b.txt"), ls.text());
    assertArrayEquals("alpha\n".getBytes(StandardCharsets.UTF_8),
        ServeBed.run(30, "cat", bed.view.resolve("docs/a.txt").toString()).out(), "a fetched file still reads");
  }

  @Test
  void aMirrorServesTheFilesOfAnOriginThatWentDownAfterReady() throws Exception {
    try (FakeOrigin mirror = new FakeOrigin()) {
      mirror.file("/docs/a.txt", "alpha\n", T).file("/docs/b.txt", "beta\n", T);
      bed.serve(origin.url("/").toString(), "--prefetch-small", "0", "--mirror", mirror.url("/").toString());
      origin.close(); // gone: connections refused

      Result b = ServeBed.run(30, "cat", bed.view.resolve("docs/b.txt").toString());
      assertEquals(0, b.exit(), b.err() + "\n" + bed.daemonLog(0));
      assertArrayEquals("beta\n".getBytes(StandardCharsets.UTF_8), b.out());
      assertTrue(bed.daemonLog(0).contains("the origin failed"), bed.daemonLog(0));
    }
  }

  @Test
  void aRestartWhileTheOriginIsDownIsReadyFromTheStoredTree() throws Exception {
    Process first = bed.serve(origin.url("/").toString());
    assertArrayEquals("alpha\n".getBytes(StandardCharsets.UTF_8),
        ServeBed.run(30, "cat", bed.view.resolve("docs/a.txt").toString()).out());
    assertEquals(0, bed.stop(first));
    origin.close(); // gone: connections refused

    bed.serve(origin.url("/").toString());
    Result a = ServeBed.run(30, "cat", bed.view.resolve("docs/a.txt").toString());
    assertEquals(0, a.exit(), a.err() + "\n" + bed.daemonLog(1));
    assertArrayEquals("alpha\n".getBytes(StandardCharsets.UTF_8), a.out(), "a fetched file reads");
    Result ls = ServeBed.run(30, "ls", bed.view.resolve("docs").toString());
    assertTrue(ls.text().contains("b.txt"), "the stored namespace is there: " + ls.text() + ls.err());
    Result b = ServeBed.run(30, "cat", bed.view.resolve("docs/b.txt").toString());
    assertTrue(b.exit() != 0 || java.util.Arrays.equals("beta\n".getBytes(StandardCharsets.UTF_8), b.out()),
        "a file never fetched gives an error or its bytes (prefetched before), never zeros: " + b.err());
  }
}
