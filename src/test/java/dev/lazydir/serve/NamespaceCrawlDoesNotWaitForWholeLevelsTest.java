package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.crawl.Crawler;
import dev.lazydir.crawl.Progress;
import dev.lazydir.origin.OriginClient;
import dev.lazydir.origin.OriginConfig;
import dev.lazydir.testing.FakeOrigin;
import dev.lazydir.tree.StubTree;
import dev.lazydir.tree.TreePath;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import okhttp3.HttpUrl;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Over a network each listing costs a round trip, and the slowest listing of a level would hold up every branch
 * below it: the namespace crawl asks for a directory's subdirectories as soon as that directory is listed. Here one
 * directory of the first level is held (a latch) while its sibling's subtree is listed all the way down.
 */
class NamespaceCrawlDoesNotWaitForWholeLevelsTest {
  static final Instant T = Instant.parse("2024-03-05T06:07:00Z");
  @TempDir Path tmp;

  @Test
  void aBranchIsListedToItsEndWhileADirectoryOfTheLevelAboveIsStillListing() throws Exception {
    try (FakeOrigin origin = new FakeOrigin()) {
      origin.file("/pub/slow/s.txt", "s", T).file("/pub/fast/a/b/c.txt", "c", T);
      HttpUrl url = origin.url("/pub/");
      OriginConfig config = OriginConfig.builder().retries(1).retryWait(Duration.ZERO).maxConns(4).build();
      Path dir = tmp.resolve("tree");
      CountDownLatch release = new CountDownLatch(1);
      List<String> listed = new CopyOnWriteArrayList<>();
      try (OriginClient client = new OriginClient(config, url, d -> {}, Clock.systemUTC());
          Crawler crawler = new Crawler(client, 1, 2, Progress.NONE, Clock.systemUTC())) {
        crawler.crawl(url, dir);
        try (StubTree tree = StubTree.open(dir, url.toString())) {
          NamespaceCrawl crawl = NamespaceCrawl.start(tree, path -> {
            if (path.equals(TreePath.parse("slow"))) {
              try {
                release.await(20, TimeUnit.SECONDS);
              } catch (InterruptedException e) {
                throw new java.io.InterruptedIOException();
              }
            }
            boolean ok = crawler.listOne(tree, path);
            listed.add(path.toString());
            return ok;
          }, 2, NamespaceCrawl.DEFAULT_MAX_DEPTH);
          try {
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (!listed.contains("fast/a/b") && System.nanoTime() < deadline) {
              Thread.sleep(10);
            }
            assertTrue(listed.contains("fast/a/b"), "fast/a/b is listed while slow/ is still held: " + listed);
            assertTrue(!listed.contains("slow"), "slow/ is still held");
            release.countDown();
            assertTrue(crawl.awaitDone(30_000), "the crawl ends");
            assertEquals(NamespaceCrawl.Outcome.COMPLETE, crawl.outcome());
            assertEquals(List.of("fast", "fast/a", "fast/a/b", "slow"), listed.stream().sorted().toList());
          } finally {
            release.countDown();
            crawl.close();
          }
        }
      }
    }
  }
}
