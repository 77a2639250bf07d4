package dev.lazydir.hsm;

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
class BackgroundCrawlStopsAtLoopsAndAtItsDepthBoundTest {
  static final Instant T = Instant.parse("2024-03-05T06:07:00Z");
  @TempDir Path tmp;

  /** Crawls the top level of url into a tree, then runs the background crawl on it to its end. */
  void backgroundCrawl(HttpUrl url, int maxDepth) throws Exception {
    OriginConfig config = OriginConfig.builder().retries(1).retryWait(Duration.ZERO).timeout(Duration.ofSeconds(10))
        .maxConns(4).build();
    Path dir = tmp.resolve("tree");
    try (OriginClient client = new OriginClient(config, url, d -> {}, Clock.systemUTC());
        Crawler crawler = new Crawler(client, 1, 2, Progress.NONE, Clock.systemUTC())) {
      crawler.crawl(url, dir);
      try (StubTree tree = StubTree.open(dir, url.toString())) {
        BackgroundCrawl crawl = BackgroundCrawl.start(tree, path -> crawler.listOne(tree, path), 2, maxDepth);
        try {
          assertTrue(crawl.awaitDone(30_000), "the background crawl ends");
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

      backgroundCrawl(origin.url("/pub/"), BackgroundCrawl.DEFAULT_MAX_DEPTH);

      assertEquals(1, origin.count("GET", "/pub/sub/deeper/"), "the rest of the tree is crawled");
      assertEquals(1, origin.count("GET", "/pub/self/"));
      assertEquals(0, origin.count("GET", "/pub/self/self/"), "the loop is not followed");
      assertEquals(List.of("./self/: lists the same entries as ./ above it (a loop on the server?);"
          + " the background crawl does not descend into it"), log.warnings());
    }
  }

  @Test
  void itListsAtMostMaxDepthLevels() throws Exception {
    try (FakeOrigin origin = new FakeOrigin(); LogCapture log = new LogCapture()) {
      origin.file("/pub/a/b/c/d/e.txt", "e", T);

      backgroundCrawl(origin.url("/pub/"), 3);

      assertEquals(1, origin.count("GET", "/pub/a/b/"), "levels 0, 1 and 2 are listed");
      assertEquals(0, origin.count("GET", "/pub/a/b/c/"), "level 3 is not");
      assertTrue(log.messages(Level.INFO).stream().anyMatch(m -> m.contains("stopped at --max-depth 3")),
          log.all().toString());
      assertEquals(List.of(), log.warnings());
    }
  }
}
