package dev.lazydir.crawl;

import dev.lazydir.origin.OriginClient;
import dev.lazydir.origin.OriginConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import okhttp3.HttpUrl;

/** Runs a crawl with test-friendly settings (no real retry waits). */
final class CrawlFixture {
  private CrawlFixture() {}

  static OriginConfig config() {
    return OriginConfig.builder().retries(2).retryWait(Duration.ZERO).timeout(Duration.ofSeconds(10)).maxConns(4).build();
  }

  static CrawlReport crawl(HttpUrl url, Path dir) throws IOException {
    return crawl(url, dir, Integer.MAX_VALUE);
  }

  static CrawlReport crawl(HttpUrl url, Path dir, int depth) throws IOException {
    try (OriginClient client = new OriginClient(config(), url, d -> {}, Clock.systemUTC());
        Crawler crawler = new Crawler(client, depth, 4, Progress.NONE, Clock.systemUTC())) {
      return crawler.crawl(url, dir);
    }
  }
}
