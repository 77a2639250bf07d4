package dev.lazydir.crawl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.origin.OriginClient;
import dev.lazydir.testing.FakeOrigin;
import dev.lazydir.testing.LocalTree;
import dev.lazydir.tree.StubTree;
import dev.lazydir.tree.TreePath;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The daemon's path: one unlisted directory listed on demand, at its own URL, keeping its time. */
class ListOneDirectoryTest {
  static final Instant T = Instant.parse("2024-03-05T06:07:08Z");
  @TempDir Path tmp;

  @Test
  void unlistedDirectoryIsListedAtItsOwnUrlAndKeepsItsTime() throws Exception {
    try (FakeOrigin origin = new FakeOrigin()) {
      origin.file("/pub/a b/c&d/deep.txt", "deep", T).file("/pub/a b/x.txt", "x", T);
      origin.rawListing("/pub/", "<pre><a href=\"a%20b/\">a b/</a> 01-Feb-2024 10:00 -\n</pre>");
      origin.rawListing("/pub/a b/", "<pre><a href=\"c%26d/\">c&amp;d/</a> 02-Feb-2024 11:00 -\n"
          + "<a href=\"x.txt\">x.txt</a> 02-Feb-2024 11:00 1\n</pre>");
      Path dir = tmp.resolve("m");
      CrawlFixture.crawl(origin.url("/pub/"), dir, 1);
      assertEquals(Set.of("a b/"), LocalTree.entries(dir).keySet());
      Instant before = Files.getLastModifiedTime(dir.resolve("a b")).toInstant();

      try (OriginClient client = new OriginClient(CrawlFixture.config(), origin.url("/"), d -> {}, Clock.systemUTC());
          Crawler crawler = new Crawler(client, 1, 2, Progress.NONE, Clock.systemUTC());
          StubTree tree = StubTree.open(dir, origin.url("/pub/").toString())) {
        assertTrue(crawler.listOne(tree, TreePath.parse("a b")));
        assertEquals(Set.of("a b/", "a b/c&d/", "a b/x.txt"), LocalTree.entries(dir).keySet());
        assertEquals(before, Files.getLastModifiedTime(dir.resolve("a b")).toInstant(), "listing keeps the dir time");
        assertTrue(crawler.listOne(tree, TreePath.parse("a b/c&d")), "reached through the listed spelling c%26d");
        assertEquals(4L, Files.size(dir.resolve("a b/c&d/deep.txt")));
        assertEquals(origin.url("/pub/a b/c&d/").newBuilder().build().toString().replace("c&d", "c%26d"),
            TreeUrls.dirUrl(tree, dev.lazydir.tree.TreePath.of(List.of("a b", "c&d"))).toString());
      }
    }
  }

  @Test
  void directoryGoneAtTheOriginIsNotListed() throws Exception {
    try (FakeOrigin origin = new FakeOrigin()) {
      origin.file("/pub/sub/x.txt", "x", T);
      Path dir = tmp.resolve("m");
      CrawlFixture.crawl(origin.url("/pub/"), dir, 1);
      origin.remove("/pub/sub/");
      try (OriginClient client = new OriginClient(CrawlFixture.config(), origin.url("/"), d -> {}, Clock.systemUTC());
          Crawler crawler = new Crawler(client, 1, 2, Progress.NONE, Clock.systemUTC());
          StubTree tree = StubTree.open(dir, origin.url("/pub/").toString())) {
        assertFalse(crawler.listOne(tree, TreePath.parse("sub")));
      }
    }
  }
}
