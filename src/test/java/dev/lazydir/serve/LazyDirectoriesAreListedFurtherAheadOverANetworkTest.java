package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.testing.FakeOrigin;
import dev.lazydir.testing.FakeOrigin.Fault;
import java.nio.file.Path;
import java.time.Instant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * With --lazy-dirs each directory is listed when opened, and a walker like ls -lR would wait a round trip per
 * directory. Over a network (the origin answers in 5 ms or more), opening a directory lists two levels below it
 * ahead, not one, so the walker finds the level below its next directory listed too; never further.
 */
class LazyDirectoriesAreListedFurtherAheadOverANetworkTest {
  static final Instant T = Instant.parse("2024-06-01T12:34:56Z");
  @TempDir Path tmp;
  FakeOrigin origin;
  ServeBed bed;

  @BeforeEach
  void setUp() throws Exception {
    origin = new FakeOrigin();
    origin.file("/top/mid/low/bottom/x.txt", "x\n", T).file("/top/y.txt", "y\n", T);
    bed = new ServeBed(tmp);
  }

  @AfterEach
  void tearDown() throws Exception {
    bed.close();
    origin.close();
  }

  @Test
  void openingADirectoryOverASlowLinkListsTwoLevelsBelowItAhead() throws Exception {
    origin.fault("/*", Fault.delay(30)); // every answer 30 ms away
    bed.serve(origin.url("/").toString(), "--lazy-dirs");

    assertEquals(0, ServeBed.run(30, "ls", bed.view.toString()).exit()); // opens the top directory only

    long deadline = System.nanoTime() + 15_000_000_000L;
    while (origin.count("GET", "/top/mid/") == 0 && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertEquals(1, origin.count("GET", "/top/"), "one level below: listed ahead");
    assertEquals(1, origin.count("GET", "/top/mid/"), "two levels below: listed ahead over a network");
    Thread.sleep(500);
    assertEquals(0, origin.count("GET", "/top/mid/low/"), "three levels below: not until something opens /top");
  }
}
