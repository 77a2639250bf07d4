package dev.lazydir.crawl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.origin.OriginClient;
import dev.lazydir.testing.FakeOrigin;
import dev.lazydir.testing.LocalTree;
import dev.lazydir.tree.EntryMeta;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import okhttp3.mockwebserver.RecordedRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Listings are asked for again with the validators of the listing applied last, and one that has not changed
 * costs no parsing and no look at the tree: a 304 (origins that send an ETag or a Last-Modified with their
 * listings), or a full answer with the same bytes (nginx, Apache and python send no validators). A changed
 * listing is read and applied as before: a changed file becomes a new inode, the others keep theirs.
 */
class ListingsAreRevalidatedTest {
  static final Instant T = Instant.parse("2024-03-05T06:07:08Z");
  static final Instant LATER = Instant.parse("2024-04-01T10:00:00Z");
  @TempDir Path tmp;

  /** A crawl with its own crawler, so that a test can count the listings it parsed. */
  private record Run(CrawlReport report, long parsed) {}

  private static Run crawl(FakeOrigin origin, Path dir) throws IOException {
    try (OriginClient client = new OriginClient(CrawlFixture.config(), origin.url("/"), d -> {}, Clock.systemUTC());
        Crawler crawler = new Crawler(client, Integer.MAX_VALUE, 4, Progress.NONE, Clock.systemUTC())) {
      CrawlReport report = crawler.crawl(origin.url("/"), dir);
      return new Run(report, crawler.listingsParsed());
    }
  }

  /**
   * Every entry below dir as the tree has it: inode, ctime (any change of data, xattr, mode or name moves it),
   * mtime, size and lazydir's xattrs. Directories without their own ctime and metadata, which record when they
   * were listed last.
   */
  static Map<String, String> everyEntry(Path dir) throws IOException {
    Map<String, String> out = new TreeMap<>();
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) walk::iterator) {
        Map<String, Object> a = Files.readAttributes(p, "unix:ino,ctime,lastModifiedTime,size", LinkOption.NOFOLLOW_LINKS);
        boolean file = Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS);
        out.put(dir.relativize(p).toString(), a.get("ino") + " " + a.get("lastModifiedTime")
            + (file ? " " + a.get("ctime") + " " + a.get("size") + " "
                + LocalTree.xattr(p, EntryMeta.XATTR).orElse("") + " " + LocalTree.xattr(p, EntryMeta.MAP_XATTR).orElse("")
                : ""));
      }
    }
    return out;
  }

  private static long inode(Path p) throws IOException {
    return (Long) Files.getAttribute(p, "unix:ino", LinkOption.NOFOLLOW_LINKS);
  }

  private static FakeOrigin tree(FakeOrigin origin) {
    return origin.file("/keep.txt", "keep", T).file("/change.txt", "old!", T).file("/sub/deep.txt", "deep", T)
        .file("/sub/two/x.bin", "x", T);
  }

  @Test
  void aSecondListingWithTheOriginsETagIsA304ThatParsesNothingAndLeavesTheTreeUntouched() throws Exception {
    try (FakeOrigin origin = tree(new FakeOrigin()).listingValidators(true, false)) {
      Path dir = tmp.resolve("m");
      Run first = crawl(origin, dir);
      assertEquals(3, first.parsed());
      Map<String, String> before = everyEntry(dir);
      int requests = origin.requestCount();

      Run again = crawl(origin, dir);

      assertEquals(0, again.parsed(), "no listing parsed");
      assertEquals(3, again.report().listingsUnchanged());
      assertEquals(before, everyEntry(dir), "no entry touched");
      for (RecordedRequest r : origin.requests().subList(requests, origin.requestCount())) {
        if (r.getMethod().equals("GET") && FakeOrigin.decodedPath(r).endsWith("/")) {
          assertTrue(r.getHeader("If-None-Match") != null, "asked with the listing's ETag: " + r.getPath());
        }
      }
      assertTrue(LocalTree.xattr(dir, EntryMeta.XATTR).orElseThrow().contains("\ne=\""), "the ETag is kept");
    }
  }

  @Test
  void withOnlyALastModifiedTheListingIsAskedForIfModifiedSince() throws Exception {
    try (FakeOrigin origin = tree(new FakeOrigin()).listingValidators(false, true)) {
      Path dir = tmp.resolve("m");
      crawl(origin, dir);
      Map<String, String> before = everyEntry(dir);

      Run again = crawl(origin, dir);

      assertEquals(0, again.parsed());
      assertEquals(before, everyEntry(dir));
      assertTrue(origin.lastRequest().getHeader("If-Modified-Since") != null);
    }
  }

  @Test
  void aListingWithoutValidatorsThatComesBackTheSameIsNotParsedAndTouchesNothing() throws Exception {
    try (FakeOrigin origin = tree(new FakeOrigin())) { // like nginx: no ETag, no Last-Modified on listings
      Path dir = tmp.resolve("m");
      crawl(origin, dir);
      Map<String, String> before = everyEntry(dir);

      Run again = crawl(origin, dir);

      assertEquals(0, again.parsed(), "the same bytes are not parsed again");
      assertEquals(3, again.report().listingsUnchanged());
      assertEquals(before, everyEntry(dir));
      assertNull(origin.lastRequest().getHeader("If-None-Match"), "nothing to ask with");
    }
  }

  @Test
  void aChangedETagReplacesTheChangedFileAndKeepsTheOthersAsTheyAre() throws Exception {
    try (FakeOrigin origin = tree(new FakeOrigin()).listingValidators(true, true)) {
      Path dir = tmp.resolve("m");
      crawl(origin, dir);
      fill(dir.resolve("keep.txt"), "keep");
      fill(dir.resolve("change.txt"), "old!");
      long keepIno = inode(dir.resolve("keep.txt"));
      long changeIno = inode(dir.resolve("change.txt"));
      Map<String, String> sub = everyEntry(dir.resolve("sub"));

      origin.file("/change.txt", "new content", LATER);
      Run again = crawl(origin, dir);

      assertEquals(1, again.parsed(), "only the changed listing is read");
      assertEquals(2, again.report().listingsUnchanged());
      assertEquals(1, again.report().reset());
      assertEquals(keepIno, inode(dir.resolve("keep.txt")));
      assertEquals("keep", Files.readString(dir.resolve("keep.txt")), "an unchanged file keeps its bytes");
      assertNotEquals(changeIno, inode(dir.resolve("change.txt")), "a changed file is a new inode");
      assertEquals(11, Files.size(dir.resolve("change.txt")));
      assertEquals(0, LocalTree.allocatedBytes(dir.resolve("change.txt")), "an empty stub of the new version");
      assertEquals(sub, everyEntry(dir.resolve("sub")), "a directory whose listing is unchanged is not touched");
    }
  }

  @Test
  void anEntryRemovedByHandFromACrawledDirectoryComesBackThoughTheListingIsUnchanged() throws Exception {
    try (FakeOrigin origin = tree(new FakeOrigin()).listingValidators(true, true)) {
      Path dir = tmp.resolve("m");
      crawl(origin, dir);
      Thread.sleep(1100); // a change within the second of the listing is taken as changed anyway
      Files.delete(dir.resolve("sub/deep.txt"));

      Run again = crawl(origin, dir);

      assertTrue(Files.exists(dir.resolve("sub/deep.txt")), "made again");
      assertEquals(1, again.parsed(), "the directory changed here is listed in full");
    }
  }

  @Test
  void aListingOfBareLinksIsReadAndItsFilesProbedEveryTimeForItSaysNothingOfTheirVersions() throws Exception {
    try (FakeOrigin origin = new FakeOrigin().listingValidators(true, false)) {
      origin.style(FakeOrigin.Style.PYTHON).file("/a.txt", "a", T).file("/b.txt", "b", T);
      Path dir = tmp.resolve("m");
      crawl(origin, dir);
      fill(dir.resolve("b.txt"), "b");

      origin.file("/b.txt", "b, longer", LATER); // the page of links stays byte for byte the same
      Run again = crawl(origin, dir);

      assertEquals(1, again.parsed());
      assertEquals(1, again.report().reset());
      assertEquals(9, Files.size(dir.resolve("b.txt")));
      RecordedRequest lastListing = origin.requests().stream()
          .filter(r -> r.getMethod().equals("GET") && FakeOrigin.decodedPath(r).equals("/")).reduce((x, y) -> y).orElseThrow();
      assertNull(lastListing.getHeader("If-None-Match"), "no ETag was kept for such a listing");
    }
  }

  /** What the daemon leaves in a file it filled: every byte, and c=1 in its metadata. */
  private static void fill(Path file, String content) throws Exception {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap(content.getBytes()), 0);
    }
    String meta = LocalTree.xattr(file, EntryMeta.XATTR).orElseThrow();
    LocalTree.setXattr(file, EntryMeta.XATTR, meta + "\nc=1");
  }
}
