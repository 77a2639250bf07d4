package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.testing.Commands.Result;
import dev.lazydir.testing.FakeOrigin;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Random;
import okhttp3.mockwebserver.RecordedRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code lazydir refresh} on a served view (privileged, as ServeTest): the daemon lists again now, ahead of
 * --refresh-timeout, with the listing's validators (a 304 changes nothing), and asks each file with bytes on
 * disk for its version; a file rewritten at the origin within the listing's minute at the same size (which no
 * listing shows) is replaced by a new inode, an unchanged one keeps its inode and bytes.
 */
class RefreshTest {
  static final Instant T = Instant.parse("2024-06-01T12:34:10Z");
  @TempDir Path tmp;
  FakeOrigin origin;
  ServeBed bed;
  final byte[] keep = bytes(1, 200_000);
  final byte[] before = bytes(2, 300_000);
  final byte[] after = bytes(3, 300_000);

  static byte[] bytes(int seed, int n) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  @BeforeEach
  void setUp() throws Exception {
    origin = new FakeOrigin().listingValidators(true, true);
    origin.file("/data/keep.bin", keep, T).file("/data/change.bin", before, T).file("/other/x.txt", "x", T);
    bed = new ServeBed(tmp);
  }

  @AfterEach
  void tearDown() throws Exception {
    bed.close();
    origin.close();
  }

  Path v(String originPath) {
    return bed.view.resolve(originPath.substring(1));
  }

  Result refresh(String... paths) throws Exception {
    String[] args = new String[3 + paths.length];
    args[0] = "refresh";
    args[1] = "--store=" + bed.store;
    args[2] = bed.view.toString();
    System.arraycopy(paths, 0, args, 3, paths.length);
    return ServeTest.lazydir(args);
  }

  long inode(String originPath) throws Exception {
    return Long.parseLong(ServeBed.run(30, "stat", "-c", "%i", v(originPath).toString()).text().trim());
  }

  @Test
  void refreshReplacesAFileChangedAtTheOriginAndLeavesAnUnchangedOneAsItIs() throws Exception {
    bed.serve(origin.url("/").toString(), "--prefetch-small", "0");
    assertArrayEquals(keep, ServeBed.run(30, "cat", v("/data/keep.bin").toString()).out());
    assertArrayEquals(before, ServeBed.run(30, "cat", v("/data/change.bin").toString()).out());
    awaitRecordedComplete("/data/keep.bin"); // refresh checks files with bytes on disk, as recorded
    awaitRecordedComplete("/data/change.bin");
    long keepIno = inode("/data/keep.bin");
    long changeIno = inode("/data/change.bin");
    int requests = origin.requestCount();

    // Same size, same minute: the listing is byte for byte the same (its ETag too); only the file's own ETag
    // and Last-Modified tell.
    origin.file("/data/change.bin", after, T.plusSeconds(40));
    Result r = refresh();

    assertEquals(0, r.exit(), r.err());
    assertTrue(r.text().contains("2 local files checked, 1 replaced"), r.text());
    assertTrue(r.text().matches("(?s)refreshed (\\d+) directories: \\1 unchanged, 0 read again.*"), r.text());
    for (RecordedRequest q : origin.requests().subList(requests, origin.requestCount())) {
      if (q.getMethod().equals("GET")) {
        assertTrue(q.getHeader("If-None-Match") != null, "every listing asked for with its ETag: " + q.getPath());
      }
    }
    assertEquals(keepIno, inode("/data/keep.bin"), "the unchanged file keeps its inode");
    assertArrayEquals(keep, ServeBed.run(30, "cat", v("/data/keep.bin").toString()).out());
    assertEquals(0, origin.count("GET", "/data/keep.bin") - 1, "and its bytes: not fetched again");
    assertNotEquals(changeIno, inode("/data/change.bin"), "the changed file is a new inode");
    assertArrayEquals(after, ServeBed.run(30, "cat", v("/data/change.bin").toString()).out(),
        "whoever opens it reads the new version, never the old bytes or zeros");
  }

  @Test
  void aDirectoryDueForARefreshIsAskedWithItsETagAndA304LeavesEveryEntryAsItWas() throws Exception {
    bed.serve(origin.url("/").toString(), "--refresh-timeout", "1", "--prefetch-small", "0");
    assertArrayEquals(keep, ServeBed.run(30, "cat", v("/data/keep.bin").toString()).out());
    awaitRecordedComplete("/data/keep.bin"); // the record is an xattr: it moves the ctime; compare after it
    String before = ServeBed.run(30, "stat", "-c", "%n %i %Z %Y %s", v("/data/keep.bin").toString(),
        v("/data/change.bin").toString()).text();
    int listings = origin.count("GET", "/data/");

    Thread.sleep(1500);
    ServeBed.run(30, "ls", v("/data").toString()); // due: listed again

    assertEquals(listings + 1, origin.count("GET", "/data/"));
    RecordedRequest last = origin.requests().stream()
        .filter(q -> q.getMethod().equals("GET") && FakeOrigin.decodedPath(q).equals("/data/")).reduce((a, b) -> b).orElseThrow();
    assertTrue(last.getHeader("If-None-Match") != null, "asked with the listing's ETag");
    assertEquals(before, ServeBed.run(30, "stat", "-c", "%n %i %Z %Y %s", v("/data/keep.bin").toString(),
        v("/data/change.bin").toString()).text(), "inodes, ctimes, mtimes and sizes as they were");
    assertArrayEquals(keep, ServeBed.run(30, "cat", v("/data/keep.bin").toString()).out());
  }

  @Test
  void refreshOfOnePathListsItAgainNowAndNothingElse() throws Exception {
    bed.serve(origin.url("/").toString());
    assertFalse(ServeBed.run(30, "ls", v("/data").toString()).text().contains("new.txt"));
    origin.file("/data/new.txt", "new", T);
    int otherListings = origin.count("GET", "/other/");

    Result r = refresh(v("/data").toString());

    assertEquals(0, r.exit(), r.err());
    assertTrue(r.text().contains("refreshed 1 directory: 0 unchanged, 1 read again (1 entries created"), r.text());
    assertTrue(ServeBed.run(30, "ls", v("/data").toString()).text().contains("new.txt"), "ahead of --refresh-timeout");
    assertEquals(otherListings, origin.count("GET", "/other/"), "other directories are not asked for");
  }

  @Test
  void refreshOfOneFileChecksThatFileAndListsItsDirectory() throws Exception {
    bed.serve(origin.url("/").toString(), "--prefetch-small", "0");
    assertArrayEquals(keep, ServeBed.run(30, "cat", v("/data/keep.bin").toString()).out());
    assertArrayEquals(before, ServeBed.run(30, "cat", v("/data/change.bin").toString()).out());
    awaitRecordedComplete("/data/change.bin"); // refresh checks files with bytes on disk, as recorded
    origin.file("/data/change.bin", after, T.plusSeconds(40));
    int keepHeads = origin.count("HEAD", "/data/keep.bin");

    Result r = refresh(v("/data/change.bin").toString());

    assertEquals(0, r.exit(), r.err());
    assertTrue(r.text().contains("refreshed 1 directory: 1 unchanged") && r.text().contains("1 local files checked, 1 replaced"),
        r.text());
    assertEquals(keepHeads, origin.count("HEAD", "/data/keep.bin"), "only the file asked for");
    assertArrayEquals(after, ServeBed.run(30, "cat", v("/data/change.bin").toString()).out());
  }

  @Test
  void aListingOrAVersionTheOriginFailsToGiveKeepsWhatTheViewHasAndIsReported() throws Exception {
    bed.serve(origin.url("/").toString(), "--prefetch-small", "0");
    assertArrayEquals(keep, ServeBed.run(30, "cat", v("/data/keep.bin").toString()).out());
    awaitRecordedComplete("/data/keep.bin"); // refresh checks files with bytes on disk, as recorded
    long keepIno = inode("/data/keep.bin");
    origin.fault("/other/", FakeOrigin.Fault.status(500));
    origin.fault("/data/keep.bin", FakeOrigin.Fault.status(500).on("HEAD", "GET"));

    Result r = refresh();

    assertEquals(3, r.exit(), "done with warnings: " + r.text() + r.err());
    assertTrue(r.text().contains("1 could not be listed (their previous listing stays"), r.text());
    assertTrue(r.text().contains("1 files could not be checked"), r.text());
    assertEquals("x", ServeBed.run(30, "cat", v("/other/x.txt").toString()).text(), "the previous listing stays");
    assertEquals(keepIno, inode("/data/keep.bin"));
    assertArrayEquals(keep, ServeBed.run(30, "cat", v("/data/keep.bin").toString()).out(), "and the local bytes");
  }

  @Test
  void refreshRefusesAPathOutsideTheViewOrNotInItAndChangesNothing() throws Exception {
    bed.serve(origin.url("/").toString());
    int requests = origin.requestCount();

    Result outside = refresh(tmp.toString());
    assertEquals(2, outside.exit(), outside.err());
    assertTrue(outside.err().contains("is not inside the view"), outside.err());

    Result missing = refresh(v("/data/nothing-here").toString());
    assertEquals(1, missing.exit(), missing.err());
    assertTrue(missing.err().contains("data/nothing-here is not in the view"), missing.err());
    assertEquals(requests, origin.requestCount(), "the origin was not asked");
  }

  /** The daemon records a file it completed within a second (its metadata says c=1); waits for that. */
  private void awaitRecordedComplete(String path) throws Exception {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (!dev.lazydir.testing.LocalTree.xattr(bed.store.resolve("tree" + path), "user.lazydir").orElse("")
        .contains("\nc=1")) {
      assertTrue(System.nanoTime() < deadline, path + " recorded complete within 10 s");
      Thread.sleep(20);
    }
  }
}
