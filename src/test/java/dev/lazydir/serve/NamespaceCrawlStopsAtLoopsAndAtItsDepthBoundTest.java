package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.crawl.Crawler;
import dev.lazydir.crawl.Progress;
import dev.lazydir.origin.OriginClient;
import dev.lazydir.origin.OriginConfig;
import dev.lazydir.testing.FakeOrigin;
import dev.lazydir.testing.LogCapture;
import dev.lazydir.tree.StubTree;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.logging.Level;
import okhttp3.HttpUrl;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * serve --crawl ends: it does not descend into a directory that lists what an ancestor listed (nginx
 * following a `self -> .` symlink made it list 662 levels and counting), and it lists at most --max-depth
 * levels. It lists through the daemon's ensureListed; here a Crawler's listOne stands in for the daemon.
 */
class NamespaceCrawlStopsAtLoopsAndAtItsDepthBoundTest {
  static final Instant T = Instant.parse("2024-03-05T06:07:00Z");
  @TempDir Path tmp;

  /** Crawls the top level of url into a tree, then runs the background crawl on it to its end. */
  NamespaceCrawl backgroundCrawl(HttpUrl url, int maxDepth) throws Exception {
    OriginConfig config = OriginConfig.builder().retries(1).retryWait(Duration.ZERO).timeout(Duration.ofSeconds(10))
        .maxConns(4).build();
    Path dir = tmp.resolve("tree");
    try (OriginClient client = new OriginClient(config, url, d -> {}, Clock.systemUTC());
        Crawler crawler = new Crawler(client, 1, 2, Progress.NONE, Clock.systemUTC())) {
      crawler.crawl(url, dir);
      try (StubTree tree = StubTree.open(dir, url.toString())) {
        NamespaceCrawl crawl = NamespaceCrawl.start(tree, path -> crawler.listOne(tree, path), 2, maxDepth);
        try {
          assertTrue(crawl.awaitDone(30_000), "the background crawl ends");
          return crawl;
        } finally {
          crawl.close();
        }
      }
    }
  }

  @Test
  void aDirectoryThatListsItselfIsNotDescendedIntoAndIsNamedInOneWarning() throws Exception {
    try (FakeOrigin origin = new FakeOrigin(); LogCapture log = new LogCapture()) {
      origin.file("/pub/x.txt", "hello", T).file("/pub/sub/deeper/y.txt", "y", T).selfLink("/pub/", "self");

      NamespaceCrawl crawl = backgroundCrawl(origin.url("/pub/"), NamespaceCrawl.DEFAULT_MAX_DEPTH);

      assertEquals(NamespaceCrawl.Outcome.INCOMPLETE, crawl.outcome(), "what wait and ready report");
      assertEquals("1 listing loop not descended into", crawl.incompleteBecause());
      assertEquals(1, origin.count("GET", "/pub/sub/deeper/"), "the rest of the tree is crawled");
      assertEquals(1, origin.count("GET", "/pub/self/"));
      assertEquals(0, origin.count("GET", "/pub/self/self/"), "the loop is not followed");
      assertEquals(List.of("./self/: lists the same entries as ./ above it (a loop on the server?);"
          + " the crawl does not descend into it"), log.warnings());
    }
  }

  @Test
  void itListsAtMostMaxDepthLevels() throws Exception {
    try (FakeOrigin origin = new FakeOrigin(); LogCapture log = new LogCapture()) {
      origin.file("/pub/a/b/c/d/e.txt", "e", T);

      NamespaceCrawl crawl = backgroundCrawl(origin.url("/pub/"), 3);

      assertEquals(NamespaceCrawl.Outcome.INCOMPLETE, crawl.outcome());
      assertEquals("it stopped at --max-depth 3", crawl.incompleteBecause());
      assertEquals(1, origin.count("GET", "/pub/a/b/"), "levels 0, 1 and 2 are listed");
      assertEquals(0, origin.count("GET", "/pub/a/b/c/"), "level 3 is not");
      assertTrue(log.messages(Level.INFO).stream().anyMatch(m -> m.contains("stopped at --max-depth 3")),
          log.all().toString());
      assertEquals(List.of(), log.warnings());
    }
  }

  @Test
  void aTreeListedToItsLeavesIsComplete() throws Exception {
    try (FakeOrigin origin = new FakeOrigin(); LogCapture log = new LogCapture()) {
      origin.file("/pub/a/b/c.txt", "c", T).file("/pub/d.txt", "d", T);

      NamespaceCrawl crawl = backgroundCrawl(origin.url("/pub/"), NamespaceCrawl.DEFAULT_MAX_DEPTH);

      assertEquals(NamespaceCrawl.Outcome.COMPLETE, crawl.outcome());
      assertEquals(3, crawl.directories(), "pub/, a/ and b/");
      assertEquals(List.of(), log.warnings());
    }
  }
}
