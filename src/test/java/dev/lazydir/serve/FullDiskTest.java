package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.testing.Commands.Result;
import dev.lazydir.testing.FakeOrigin;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A full disk fails the read that needs the space, and only that one: later, smaller files still work. */
class FullDiskTest {
  static final Instant T = Instant.parse("2024-06-01T12:34:56Z");
  @TempDir Path tmp;
  FakeOrigin origin;
  ServeBed bed;
  final byte[] small = new byte[100_000];

  @BeforeEach
  void setUp() throws Exception {
    new Random(4).nextBytes(small);
    byte[] big = new byte[96 << 20]; // larger than the whole 64 MiB filesystem
    Arrays.fill(big, (byte) 'x');
    origin = new FakeOrigin();
    origin.file("/big.bin", big, T).file("/small.bin", small, T);
    bed = new ServeBed(tmp, "64M");
  }

  @AfterEach
  void tearDown() throws Exception {
    bed.close();
    origin.close();
  }

  @Test
  void aFileLargerThanTheFreeSpaceFailsWithEnospcAndGivesItsBlocksBack() throws Exception {
    bed.serve(origin.url("/").toString(), "--prefetch-small", "0");
    long freeBefore = Files.getFileStore(bed.store).getUsableSpace();

    Result big = ServeBed.run(30, "cat", bed.view.resolve("big.bin").toString());

    assertNotEquals(0, big.exit());
    assertTrue(big.err().contains("No space left on device"), big.err());
    assertEquals(0, big.out().length, "no byte handed out");
    long freeAfter = Files.getFileStore(bed.store).getUsableSpace();
    assertTrue(freeAfter > freeBefore - (1 << 20), "the failed preallocation gave its blocks back: free "
        + freeBefore + " -> " + freeAfter + " bytes");
    assertArrayEquals(small, ServeBed.run(30, "cat", bed.view.resolve("small.bin").toString()).out(),
        "a smaller file still reads");
    assertEquals(0, origin.count("GET", "/big.bin"), "nothing fetched for the refused file");
    assertNotEquals(0, ServeBed.run(30, "cat", bed.view.resolve("big.bin").toString()).exit(), "refused again");
    long said = bed.daemonLog(0).lines().filter(l -> l.contains("filesystem is full")).count();
    assertEquals(1, said, "the cause is named once in the log, not at every refusal:\n" + bed.daemonLog(0));
  }
}
