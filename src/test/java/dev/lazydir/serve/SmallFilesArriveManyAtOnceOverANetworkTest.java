package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.testing.Commands;
import dev.lazydir.testing.FakeOrigin;
import dev.lazydir.testing.FakeOrigin.Fault;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Over a network each small file costs a round trip, so a build waits on them unless they are on their way before
 * it reads them. When the origin answers in 5 ms or more, the small files of a directory are fetched many at once
 * (all of --max-conns but two, left to readers), also when a file of the directory is read without the directory
 * being opened (a compiler opens headers by name), and the next directory of its parent follows; never a file
 * above --prefetch-small. On the same machine prefetch stays at two at once (it competes with readers for CPU).
 */
class SmallFilesArriveManyAtOnceOverANetworkTest {
  static final Instant T = Instant.parse("2024-06-01T12:34:56Z");
  static final int SMALL = 12;
  @TempDir Path tmp;
  FakeOrigin origin;
  ServeBed bed;

  @BeforeEach
  void setUp() throws Exception {
    origin = new FakeOrigin();
    for (int i = 0; i < SMALL; i++) {
      origin.file(small(i), bytes(1024, i), T);
    }
    origin.file("/src/big.bin", bytes(256 * 1024, 99), T); // above the default --prefetch-small (64 KiB)
    for (String d : List.of("a", "b", "c")) {
      origin.file("/mods/" + d + "/1.c", bytes(512, d.charAt(0)), T).file("/mods/" + d + "/2.c", bytes(512, 2), T);
    }
    for (String d : List.of("g0/m0", "g0/m1", "g1/m2", "g1/m3")) {
      origin.file("/groups/" + d + "/1.c", bytes(512, d.charAt(4)), T);
    }
    bed = new ServeBed(tmp);
  }

  @AfterEach
  void tearDown() throws Exception {
    bed.close();
    origin.close();
  }

  @Test
  void smallFilesOfAnOpenedDirectoryAreFetchedAllButTwoConnectionsAtOnceOverANetworkNeverMore() throws Exception {
    origin.fault("/*", Fault.delay(30)); // every answer 30 ms away
    FakeOrigin.Hold held = origin.fault("/src/f*", Fault.hold().on("GET"));
    bed.serve(origin.url("/").toString(), "--max-conns", "6");

    assertEquals(0, ServeBed.run(30, "ls", bed.view.resolve("src").toString()).exit()); // opens the directory
    assertTrue(held.awaitHeld(4, Duration.ofSeconds(15)), "four small files asked for at once (6 connections - 2)");
    Thread.sleep(300);
    assertEquals(4, held.maxHeld(), "never more than --max-conns less the two left to readers");
    held.release();
    awaitFetched(IntStream.range(0, SMALL).mapToObj(SmallFilesArriveManyAtOnceOverANetworkTest::small).toList());
    assertEquals(4, held.maxHeld(), "never more, to the last file");
    assertEquals(0, origin.count("GET", "/src/big.bin"), "a file above --prefetch-small is never fetched ahead");
  }

  @Test
  void aFileReadOverANetworkBringsTheOtherSmallFilesOfItsDirectoryButNotTheLargeOnes() throws Exception {
    origin.fault("/*", Fault.delay(30));
    bed.serve(origin.url("/").toString());

    // cat opens the file by name: its directory is never opened
    Commands.Result r = ServeBed.run(30, "cat", bed.view.resolve("src/f00.c").toString());
    assertTrue(Arrays.equals(bytes(1024, 0), r.out()), "the origin's bytes");
    awaitFetched(IntStream.range(1, SMALL).mapToObj(SmallFilesArriveManyAtOnceOverANetworkTest::small).toList());
    assertEquals(0, origin.count("GET", "/src/big.bin"), "a file above --prefetch-small is never fetched ahead");
  }

  @Test
  void theNextDirectoryOfItsParentFollowsOverANetworkButNoFurther() throws Exception {
    origin.fault("/*", Fault.delay(30));
    bed.serve(origin.url("/").toString());

    ServeBed.run(30, "cat", bed.view.resolve("mods/a/1.c").toString());
    awaitFetched(List.of("/mods/a/2.c", "/mods/b/1.c", "/mods/b/2.c"));
    Thread.sleep(500);
    assertEquals(0, origin.count("GET", "/mods/c/1.c") + origin.count("GET", "/mods/c/2.c"),
        "the directory after the next one: not until something reads the next one");
  }

  @Test
  void afterTheLastDirectoryOfItsParentTheFirstOfTheParentsNextSiblingFollows() throws Exception {
    origin.fault("/*", Fault.delay(30));
    bed.serve(origin.url("/").toString());

    ServeBed.run(30, "cat", bed.view.resolve("groups/g0/m1/1.c").toString()); // the last module of g0
    awaitFetched(List.of("/groups/g1/m2/1.c")); // a build's next group of modules begins there
    Thread.sleep(500);
    assertEquals(0, origin.count("GET", "/groups/g1/m3/1.c"), "one directory ahead, not the whole next group");
    assertEquals(0, origin.count("GET", "/groups/g0/m0/1.c"), "never back");
  }

  @Test
  void fetchingAheadOverANetworkKeepsTheStoreWithinItsBound() throws Exception {
    int files = 24;
    for (int i = 0; i < files; i++) {
      origin.file(String.format("/many/%02d.h", i), bytes(48 * 1024, 100 + i), T); // 1.1 MiB in all
    }
    origin.fault("/*", Fault.delay(30));
    bed.serve(origin.url("/").toString(), "--cache-max-size", "512K");

    assertEquals(0, ServeBed.run(30, "ls", bed.view.resolve("many").toString()).exit());
    // Until prefetch is over (no new request for a second): a file that finds the others still being written,
    // none of them evictable yet, is left for its reader; the bound comes first.
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    for (long before = -1, now = fileGets("/many/"); now == 0 || now != before; now = fileGets("/many/")) {
      assertTrue(System.nanoTime() < deadline, "prefetch settled within 30 s");
      before = now;
      Thread.sleep(1000);
    }
    Thread.sleep(1500); // the state file is written every second
    String state = java.nio.file.Files.readString(bed.store.resolve("run/state"));
    assertTrue(value(state, "cache_bytes") <= 512 * 1024, "within --cache-max-size: " + state);
    String du = ServeBed.run(30, "du", "-s", "--block-size=1", bed.store.resolve("tree/many").toString()).text();
    long onDisk = Long.parseLong(du.split("\\s+")[0]);
    assertTrue(onDisk <= 512 * 1024 + 4096, "the files' blocks on disk within it too (the directory's own block"
        + " aside): " + onDisk);
    for (int i = files - 1; i >= 0; i--) {
      Commands.Result r = ServeBed.run(30, "cat", bed.view.resolve(String.format("many/%02d.h", i)).toString());
      assertTrue(Arrays.equals(bytes(48 * 1024, 100 + i), r.out()), "the origin's bytes, evicted or not");
    }
  }

  /** GETs of files below {@code dir} (its listing not counted). */
  private long fileGets(String dir) {
    return origin.requests().stream()
        .filter(r -> "GET".equals(r.getMethod()) && r.getPath() != null && r.getPath().startsWith(dir) && !r.getPath().equals(dir))
        .count();
  }

  private static long value(String state, String key) {
    return state.lines().filter(l -> l.startsWith(key + "=")).mapToLong(l -> Long.parseLong(l.substring(key.length() + 1)))
        .findFirst().orElse(-1);
  }

  @Test
  void onTheSameMachineSmallFilesAreFetchedTwoAtATime() throws Exception {
    FakeOrigin.Hold held = origin.fault("/src/f*", Fault.hold().on("GET"));
    bed.serve(origin.url("/").toString(), "--max-conns", "6");

    assertEquals(0, ServeBed.run(30, "ls", bed.view.resolve("src").toString()).exit());
    assertTrue(held.awaitHeld(2, Duration.ofSeconds(15)), "two at once");
    Thread.sleep(300);
    assertEquals(2, held.maxHeld(), "no more than two: on the same machine prefetch competes with readers for CPU");
    held.release();
    awaitFetched(IntStream.range(0, SMALL).mapToObj(SmallFilesArriveManyAtOnceOverANetworkTest::small).toList());
  }

  private void awaitFetched(List<String> paths) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    for (String p : paths) {
      while (origin.count("GET", p) == 0) {
        if (System.nanoTime() > deadline) {
          org.junit.jupiter.api.Assertions.fail(p + " not fetched ahead within 20 s; the daemon said:\n" + bed.daemonLog(0));
        }
        Thread.sleep(20);
      }
    }
  }

  static String small(int i) {
    return String.format("/src/f%02d.c", i);
  }

  static byte[] bytes(int n, int seed) {
    byte[] b = new byte[n];
    new java.util.Random(seed).nextBytes(b);
    return b;
  }
}
