package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.testing.Commands.Result;
import dev.lazydir.testing.FakeOrigin;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * serve --cache-max-size / --min-free-space / --cache-max-age and evict, pin, unpin, end to end: real readers through
 * the view, a store on its own ext4 image whose used space is sampled while they read.
 */
class BoundedCacheTest {
  static final Instant T = Instant.parse("2024-06-01T12:34:56Z");
  static final int FILES = 24;
  static final int MIB = 1 << 20;
  @TempDir Path tmp;
  FakeOrigin origin;
  ServeBed bed;
  final List<byte[]> content = new ArrayList<>();

  @BeforeEach
  void setUp() throws Exception {
    origin = new FakeOrigin();
    Random r = new Random(11);
    for (int i = 0; i < FILES; i++) {
      byte[] b = new byte[MIB];
      r.nextBytes(b);
      content.add(b);
      origin.file("/f" + i + ".bin", b, T);
    }
    bed = new ServeBed(tmp, "256M");
  }

  @AfterEach
  void tearDown() throws Exception {
    bed.close();
    origin.close();
  }

  private Process serve(String... extra) throws Exception {
    List<String> args = new ArrayList<>(List.of("--prefetch-small", "0", "--dl-seg-size", "1", "--max-conns", "2"));
    args.addAll(List.of(extra));
    return bed.serve(origin.url("/").toString(), args.toArray(String[]::new));
  }

  private Path file(int i) {
    return bed.view.resolve("f" + i + ".bin");
  }

  private void readsRight(int i) throws Exception {
    Result r = ServeBed.run(60, "cat", file(i).toString());
    assertEquals(0, r.exit(), "f" + i + ": " + r.err());
    assertArrayEquals(content.get(i), r.out(), "f" + i + " reads the origin's bytes");
  }

  private long used() throws Exception {
    FileStore fs = Files.getFileStore(bed.fs);
    return fs.getTotalSpace() - fs.getUnallocatedSpace();
  }

  private long blocksOf(int i) throws Exception {
    return Long.parseLong(ServeBed.run(10, "stat", "-c", "%b", bed.store.resolve("tree/f" + i + ".bin").toString())
        .text().trim()) * 512;
  }

  /** Its data gone, and its map with it: the file takes no disk. */
  private boolean evicted(int i) throws Exception {
    return blocksOf(i) == 0;
  }

  private String state() throws Exception {
    return Files.readString(bed.store.resolve("run/state"));
  }

  private static long stateValue(String state, String key) {
    return state.lines().filter(l -> l.startsWith(key + "=")).mapToLong(l -> Long.parseLong(l.substring(key.length() + 1)))
        .findFirst().orElse(-1);
  }

  private Result lazydir(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), "dev.lazydir.cli.Main"));
    cmd.addAll(List.of(args));
    return ServeBed.run(60, cmd.toArray(String[]::new));
  }

  @Test
  void readingThreeTimesTheCapKeepsTheStoreWithinItByAtMostMaxConnsSegmentsAndEveryReadVerifies() throws Exception {
    serve("--cache-max-size", "8M");
    long base = used();
    AtomicLong peak = new AtomicLong();
    AtomicBoolean done = new AtomicBoolean();
    Thread sampler = new Thread(() -> {
      while (!done.get()) {
        try {
          peak.accumulateAndGet(used() - base, Math::max);
          Thread.sleep(2);
        } catch (Exception e) {
          return;
        }
      }
    });
    sampler.start();
    try {
      List<Thread> readers = new ArrayList<>();
      List<Throwable> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
      for (int t = 0; t < 2; t++) {
        int first = t;
        Thread reader = new Thread(() -> {
          try {
            for (int i = first; i < FILES; i += 2) {
              readsRight(i);
            }
          } catch (Throwable e) {
            failures.add(e);
          }
        });
        readers.add(reader);
        reader.start();
      }
      for (Thread reader : readers) {
        reader.join(120_000);
      }
      assertEquals(List.of(), failures);
    } finally {
      done.set(true);
      sampler.join();
    }
    long allowed = (8L << 20) + 2L * MIB; // the cap plus --max-conns segments
    assertTrue(peak.get() <= allowed, "store use peaked at " + peak.get() + " bytes over its start, allowed " + allowed);
    Thread.sleep(1500);
    String state = state();
    assertTrue(stateValue(state, "evictions") >= FILES - 8, state);
    assertTrue(stateValue(state, "cache_bytes") <= 8L << 20, state);
    assertEquals(FILES, stateValue(state, "opens_fetching"), state);
    for (int i = 0; i < 4; i++) {
      readsRight(FILES - 1 - i); // the most recent ones are still local: no fetch
    }
    assertEquals(1, origin.count("GET", "/f" + (FILES - 1) + ".bin"), "a recent file was not evicted");
  }

  @Test
  void aFileHeldOpenIsNeverEvictedAndWhenEverythingIsOpenTheFetchFailsWithEnospc() throws Exception {
    serve("--cache-max-size", "2M");
    readsRight(0);
    readsRight(1);
    Process h0 = new ProcessBuilder("sh", "-c", "exec 3<\"$1\"; echo open; exec sleep 60", "sh", file(0).toString()).start();
    Process h1 = new ProcessBuilder("sh", "-c", "exec 3<\"$1\"; echo open; exec sleep 60", "sh", file(1).toString()).start();
    try {
      new java.io.BufferedReader(new java.io.InputStreamReader(h0.getInputStream())).readLine();
      new java.io.BufferedReader(new java.io.InputStreamReader(h1.getInputStream())).readLine();
      Result evict = lazydir("evict", file(0).toString());
      assertEquals(0, evict.exit(), evict.err());
      assertTrue(evict.text().contains("1 kept: open or pinned"), evict.text());
      assertTrue(blocksOf(0) >= MIB, "a file held open keeps its bytes");

      Result third = ServeBed.run(60, "cat", file(2).toString());
      assertNotEquals(0, third.exit(), "no room without evicting an open file");
      assertTrue(third.err().contains("No space left on device"), third.err());
      assertEquals(0, origin.count("GET", "/f2.bin"), "nothing fetched beyond the cap");
      assertTrue(blocksOf(0) >= MIB && blocksOf(1) >= MIB, "neither open file was evicted");
    } finally {
      h0.destroyForcibly().waitFor();
      h1.destroyForcibly().waitFor();
    }
    readsRight(2); // the holders gone, the least recently used file makes room
    assertTrue(evicted(0) || evicted(1), "one of the released files was evicted");
  }

  @Test
  void opensDuringRepeatedEvictionsWaitAndReadTheBytesNeverZeros() throws Exception {
    serve();
    readsRight(3);
    AtomicBoolean done = new AtomicBoolean();
    List<Throwable> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
    Thread reader = new Thread(() -> {
      try {
        while (!done.get()) {
          readsRight(3);
        }
      } catch (Throwable e) {
        failures.add(e);
      }
    });
    reader.start();
    int evicted = 0;
    for (int i = 0; i < 15; i++) {
      Result r = lazydir("evict", file(3).toString());
      assertEquals(0, r.exit(), r.err());
      if (r.text().contains("evicted 1 files")) {
        evicted++;
      }
    }
    done.set(true);
    reader.join(60_000);
    assertEquals(List.of(), failures);
    assertTrue(evicted > 0, "some evictions found the file closed between reads");
    assertTrue(origin.count("GET", "/f3.bin") > 1, "evicted bytes were fetched again");
  }

  @Test
  void afterARestartTheStoreIsCountedFromDiskAndTheOldestFilesGoFirst() throws Exception {
    Process first = serve();
    for (int i = 0; i < 6; i++) {
      readsRight(i);
    }
    Thread.sleep(1500); // maps recorded
    assertEquals(0, bed.stop(first));
    serve("--cache-max-size", "4M");
    long base = used();
    for (int i = 6; i < 10; i++) {
      readsRight(i);
    }
    long left = 0;
    for (int i = 0; i < 10; i++) {
      left += blocksOf(i);
    }
    assertTrue(left <= (4L << 20) + 64 * 1024, "the store is within its cap after the restart: " + left + " bytes");
    for (int i = 6; i < 10; i++) {
      assertTrue(blocksOf(i) >= MIB, "f" + i + ", read last, stayed");
    }
    assertTrue(used() <= base, "the restart's reads freed what they took");
    readsRight(0);
  }

  @Test
  void whenEachFileWasLastUsedSurvivesARestartAndOrdersEvictionAfterIt() throws Exception {
    Process first = serve("--cache-max-size", "4M");
    for (int i = 0; i < 4; i++) {
      readsRight(i); // the cache is full
    }
    // The most recently used file is the one with the lowest inode: a restart that forgot recency would take
    // every file as used at its start and evict by inode, this one first.
    int recent = 0;
    long lowest = Long.MAX_VALUE;
    for (int i = 0; i < 4; i++) {
      long ino = Long.parseLong(ServeBed.run(10, "stat", "-c", "%i", bed.store.resolve("tree/f" + i + ".bin")
          .toString()).text().trim());
      if (ino < lowest) {
        lowest = ino;
        recent = i;
      }
    }
    Thread.sleep(50);
    readsRight(recent);
    int oldest = recent == 0 ? 1 : 0;
    assertEquals(0, bed.stop(first));

    serve("--cache-max-size", "4M");
    readsRight(4); // room for one more: the least recently used before the restart goes
    assertTrue(evicted(oldest), "f" + oldest + ", used least recently before the restart, was evicted");
    assertFalse(evicted(recent), "f" + recent + ", used last before the restart, stayed");
  }

  @Test
  void aPinnedFileStaysUnderPressureAndUnpinnedItGoes() throws Exception {
    serve("--cache-max-size", "4M");
    readsRight(0);
    Result pin = lazydir("pin", file(0).toString());
    assertEquals(0, pin.exit(), pin.err());
    for (int i = 1; i < 12; i++) {
      readsRight(i);
    }
    assertTrue(blocksOf(0) >= MIB, "the pinned file kept its bytes");
    readsRight(0);
    assertEquals(1, origin.count("GET", "/f0.bin"), "the pinned file was never fetched again");
    Result unpin = lazydir("unpin", file(0).toString());
    assertEquals(0, unpin.exit(), unpin.err());
    for (int i = 12; i < 18; i++) {
      readsRight(i);
    }
    assertTrue(evicted(0), "unpinned, it was evicted like any other");
  }

  @Test
  void minFreeSpaceIsKeptWhenAnotherProcessFillsTheDisk() throws Exception {
    serve("--min-free-space", "64M");
    for (int i = 0; i < 8; i++) {
      readsRight(i);
    }
    FileStore fs = Files.getFileStore(bed.fs);
    long fill = fs.getUsableSpace() - (64L << 20) + 3L * MIB; // leaves 3 MiB less than the bound
    assertEquals(0, ServeBed.run(30, "fallocate", "-l", Long.toString(fill), bed.fs.resolve("filler").toString()).exit());
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (fs.getUsableSpace() < 64L << 20 && System.nanoTime() < deadline) {
      Thread.sleep(100);
    }
    assertTrue(fs.getUsableSpace() >= 64L << 20, "the least recently used files were evicted: free "
        + fs.getUsableSpace());
    assertTrue(evicted(0), "the oldest file went first");
    assertTrue(blocksOf(7) >= MIB, "the newest stayed");
    readsRight(8); // a new read makes room first
    assertTrue(fs.getUsableSpace() >= (64L << 20) - MIB, "free " + fs.getUsableSpace());
    readsRight(0);
  }

  @Test
  void aFileLargerThanTheCapIsRefusedWithEnospcNamingTheOption() throws Exception {
    serve("--cache-max-size", "512K");
    Result r = ServeBed.run(60, "cat", file(0).toString());
    assertNotEquals(0, r.exit());
    assertTrue(r.err().contains("No space left on device"), r.err());
    assertEquals(0, origin.count("GET", "/f0.bin"), "nothing fetched");
    Thread.sleep(1500);
    assertTrue(state().lines().anyMatch(l -> l.startsWith("denial.") && l.contains("larger than the whole cache")
        && l.contains("--cache-max-size")), state());
  }

  @Test
  void filesUnusedForTheMaxAgeAreEvictedAndStatusShowsTheCache() throws Exception {
    serve("--cache-max-age", "3s");
    readsRight(0);
    readsRight(1);
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (!evicted(0) && System.nanoTime() < deadline) {
      readsRight(1); // kept in use
      Thread.sleep(500);
    }
    assertTrue(evicted(0), "unused for longer than the max age: evicted");
    assertTrue(blocksOf(1) >= MIB, "used all along: kept");
    Thread.sleep(1500);
    Result status = lazydir("status", "--store", bed.store.toString(), bed.view.toString());
    assertEquals(0, status.exit(), status.err());
    assertTrue(status.text().matches("(?s).*cache: .*; [1-9]\\d* evictions.*"), status.text()); // f1 too, once idle
    assertTrue(status.text().matches("(?s).*opens: +\\d+ through DIR: [1-9]\\d* hits \\(complete\\), 2 fetched.*"),
        status.text());
  }

  @Test
  void anOpenDuringAnEvictionWaitsForItThenReadsTheBytesThroughANewFetch() throws Exception {
    bed.daemonJvmOptions.add("-Dlazydir.test.evictionHoldMillis=2000"); // the lease is kept 2 s after the punch
    serve();
    readsRight(5);
    long ino = Long.parseLong(ServeBed.run(10, "stat", "-c", "%i", bed.store.resolve("tree/f5.bin").toString())
        .text().trim());
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), "dev.lazydir.cli.Main", "evict", file(5).toString()));
    Process evict = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    try {
      long deadline = System.nanoTime() + 30_000_000_000L;
      while (!Files.readString(Path.of("/proc/locks")).lines()
          .anyMatch(l -> l.contains("LEASE") && l.matches(".*:" + ino + " .*"))) {
        assertTrue(System.nanoTime() < deadline, "the eviction's lease never appeared in /proc/locks");
        Thread.sleep(5);
      }
      long t0 = System.nanoTime();
      readsRight(5); // opened while the data is punched out and the lease held
      long waited = (System.nanoTime() - t0) / 1_000_000;
      assertTrue(waited >= 500, "the open waited for the eviction (" + waited + " ms)");
      assertEquals(2, origin.count("GET", "/f5.bin"), "its bytes were fetched again, never read as holes");
      assertTrue(evict.waitFor(30, java.util.concurrent.TimeUnit.SECONDS));
      String said = new String(evict.getInputStream().readAllBytes());
      assertTrue(said.contains("evicted 1 files"), said);
    } finally {
      evict.destroyForcibly().waitFor();
    }
  }

  @Test
  void evictOfADirectoryDropsEveryFileBelowItExceptPinnedOnes() throws Exception {
    serve();
    for (int i = 0; i < 3; i++) {
      readsRight(i);
    }
    assertEquals(0, lazydir("pin", file(1).toString()).exit());
    Result r = lazydir("evict", bed.view.toString());
    assertEquals(0, r.exit(), r.err());
    assertTrue(r.text().contains("evicted 2 files") && r.text().contains("1 kept: open or pinned"), r.text());
    assertTrue(evicted(0) && evicted(2), "every file below the directory");
    assertTrue(blocksOf(1) >= MIB, "but the pinned one");
    readsRight(0);
    assertEquals(2, origin.count("GET", "/f0.bin"));
    Result outside = lazydir("evict", tmp.toString());
    assertEquals(2, outside.exit());
    assertTrue(outside.err().contains("is not inside a view served by lazydir serve"), outside.err());
  }
}
