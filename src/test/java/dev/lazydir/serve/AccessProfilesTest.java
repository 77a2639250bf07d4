package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.testing.Commands.Result;
import dev.lazydir.testing.FakeOrigin;
import dev.lazydir.tree.TreePath;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run recorded with --record-profile, then served again from an empty store with the profile (given, or
 * published beside the tree): the profile's bytes are fetched at start, before any read, and reads of them then
 * ask the origin nothing.
 */
class AccessProfilesTest {
  static final Instant T = Instant.parse("2024-06-01T12:34:56Z");
  static final byte[] A = new byte[6 << 20];
  static final byte[] B = new byte[300_000];
  static final byte[] C = new byte[2 << 20];

  static {
    Random r = new Random(8);
    r.nextBytes(A);
    r.nextBytes(B);
    r.nextBytes(C);
  }

  @TempDir Path tmp;
  FakeOrigin origin;

  @BeforeEach
  void setUp() throws Exception {
    origin = new FakeOrigin();
    origin.file("/lib/a.bin", A, T).file("/sub/b.bin", B, T).file("/c.bin", C, T);
  }

  @AfterEach
  void tearDown() throws Exception {
    origin.close();
  }

  /** Reads what the recorded run reads: 100,000 bytes of a.bin from 4 MiB on, then all of b.bin. */
  static void readThePrograms(Path view) throws Exception {
    Result a = ServeBed.sh(60, "dd if=" + view.resolve("lib/a.bin") + " bs=100000 skip=" + (4 << 20)
        + " iflag=skip_bytes count=1 status=none | sha256sum");
    assertEquals(0, a.exit(), a.err());
    assertEquals(ServeTest.sha256(Arrays.copyOfRange(A, 4 << 20, (4 << 20) + 100_000)), a.text().split(" ")[0]);
    Result b = ServeBed.run(60, "cat", view.resolve("sub/b.bin").toString());
    assertArrayEquals(B, b.out());
  }

  Path record() throws Exception {
    Path profile = tmp.resolve("run.profile");
    try (ServeBed bed = new ServeBed(tmp.resolve("first"))) {
      Process p = bed.serve(origin.url("/").toString(), "--record-profile", profile.toString(), "--prefetch-small", "0",
          "--dl-seg-size", "1", "--readahead", "0");
      readThePrograms(bed.view);
      assertEquals(0, bed.stop(p));
    }
    return profile;
  }

  /** GETs of file bytes (not listings, not the profile) so far. */
  int fileGets(String path) {
    return origin.count("GET", path);
  }

  void awaitFetched(String path, int n) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (fileGets(path) < n) {
      assertTrue(System.nanoTime() < deadline, path + " not fetched at start");
      Thread.sleep(20);
    }
  }

  @Test
  void aRecordedProfileNamesTheRangesReadInOrder() throws Exception {
    Path profile = record();
    String text = Files.readString(profile, StandardCharsets.UTF_8);
    AccessProfile parsed = AccessProfile.parse(text.getBytes(StandardCharsets.UTF_8), "run.profile");
    List<String> files = parsed.ranges().stream().map(r -> r.path().toString()).toList();
    assertEquals(List.of("lib/a.bin", "sub/b.bin"), files, text);
    AccessProfile.Range a = parsed.ranges().get(0);
    assertEquals(new AccessProfile.Range(TreePath.of(List.of("lib", "a.bin")), 4 << 20, 1 << 20), a,
        "the range dd read, widened to the 1 MiB segment it needs: " + text);
    assertEquals(new AccessProfile.Range(TreePath.of(List.of("sub", "b.bin")), 0, B.length), parsed.ranges().get(1), "all of b.bin");
  }

  @Test
  void aSecondServeWithTheProfileHasItsBytesBeforeAnyRead() throws Exception {
    Path profile = record();
    int aBefore = fileGets("/lib/a.bin");
    int bBefore = fileGets("/sub/b.bin");
    int listingsBefore = origin.count("GET", "/sub/");
    try (ServeBed bed = new ServeBed(tmp.resolve("second"))) {
      // --lazy-dirs: nothing lists lib/ and sub/ but the prefetch itself.
      bed.serve(origin.url("/").toString(), "--prefetch-profile", profile.toString(), "--prefetch-small", "0",
          "--dl-seg-size", "1", "--readahead", "0", "--lazy-dirs");
      // Nothing reads the view: the origin's log alone shows the profile's files fetched.
      awaitFetched("/lib/a.bin", aBefore + 1);
      awaitFetched("/sub/b.bin", bBefore + 1);
      Thread.sleep(300); // let the fetches finish writing (a read now would join them, not ask again)
      int aAfter = fileGets("/lib/a.bin");
      int bAfter = fileGets("/sub/b.bin");
      readThePrograms(bed.view);
      assertEquals(aAfter, fileGets("/lib/a.bin"), "the profile's range of a.bin was present before the read");
      assertEquals(bAfter, fileGets("/sub/b.bin"), "b.bin was present before the read");
      assertEquals(0, fileGets("/c.bin"), "what the profile does not name is not fetched");
      assertEquals(1, origin.count("GET", "/sub/") - listingsBefore, "sub/ listed once, for the profile");
    }
  }

  @Test
  void aProfilePublishedBesideTheTreeIsFetchedAtStartByDefault() throws Exception {
    Path profile = record();
    origin.file("/" + AccessProfile.DEFAULT_NAME, Files.readAllBytes(profile), T);
    int bBefore = fileGets("/sub/b.bin");
    int asked = origin.count("GET", "/" + AccessProfile.DEFAULT_NAME);
    try (ServeBed bed = new ServeBed(tmp.resolve("published"))) {
      bed.serve(origin.url("/").toString(), "--prefetch-small", "0", "--dl-seg-size", "1", "--readahead", "0");
      awaitFetched("/sub/b.bin", bBefore + 1);
      assertEquals(asked + 1, origin.count("GET", "/" + AccessProfile.DEFAULT_NAME), "one request for the profile");
    }
  }

  @Test
  void aProfileThatIsNotOneIsRefusedInOneSentenceAndNothingIsMade() throws Exception {
    Path bad = tmp.resolve("bad.profile");
    Files.writeString(bad, "lazydir-profile 1\n0\t10\t../etc/passwd\nend 1\n");
    try (ServeBed bed = new ServeBed(tmp.resolve("bad"))) {
      Result r = ServeBed.run(60, Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
          System.getProperty("java.class.path"), "dev.lazydir.cli.Main", "serve", "--store", bed.store.toString(),
          "--prefetch-profile", bad.toString(), origin.url("/").toString(), bed.view.toString());
      assertEquals(2, r.exit(), r.err());
      assertTrue(r.err().contains("line 2") && r.err().contains("cannot be in the tree"), r.err());
      assertTrue(!Files.exists(bed.store), "no store made");
      assertEquals(0, origin.requestCount(), "the origin was not asked");
    }
  }
}
