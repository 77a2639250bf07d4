package dev.lazydir.crawl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.origin.OriginClient;
import dev.lazydir.origin.OriginConfig;
import dev.lazydir.testing.FakeOrigin;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;
import okhttp3.mockwebserver.MockResponse;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A 10,000-entry directory: with exact sizes in the listing the crawl costs one listing request (plus one
 * probe to learn the listing's clock), not one request per file; without them, probes stay within
 * --max-conns. Timing lives in bench/crawl-bigdir, not here.
 */
class BigDirectoryCrawlTest {
  static final int FILES = 10_000;
  static final Instant T = Instant.parse("2024-03-05T06:07:08Z");
  @TempDir Path tmp;

  private static FakeOrigin big(FakeOrigin o) {
    for (int i = 0; i < FILES; i++) {
      o.file(String.format("/big/file-%05d.dat", i), "x".repeat(i % 97), T);
    }
    return o;
  }

  @Test
  void listingWithExactSizesNeedsNoPerFileRequest() throws Exception {
    try (FakeOrigin origin = big(new FakeOrigin())) {
      Path dir = tmp.resolve("m");
      CrawlReport report = CrawlFixture.crawl(origin.url("/big/"), dir);
      assertEquals(FILES, report.files());
      assertEquals(FILES, Files.list(dir).count());
      assertEquals(1, origin.count("GET"));
      assertEquals(1, origin.count("HEAD"), "only the one probe that learns the listing's clock");
      assertEquals(96, Files.size(dir.resolve("file-09699.dat")));
    }
  }

  @Test
  void listingWithoutSizesIsProbedInParallelWithinMaxConns() throws Exception {
    AtomicInteger inFlight = new AtomicInteger();
    AtomicInteger maxInFlight = new AtomicInteger();
    try (FakeOrigin origin = big(new FakeOrigin()).style(FakeOrigin.Style.PYTHON)) {
      origin.override(r -> {
        int now = inFlight.incrementAndGet();
        maxInFlight.accumulateAndGet(now, Math::max);
        inFlight.decrementAndGet();
        return (MockResponse) null;
      });
      Path dir = tmp.resolve("m");
      OriginConfig config = OriginConfig.builder().retries(1).retryWait(Duration.ZERO).maxConns(3).build();
      try (OriginClient client = new OriginClient(config, origin.url("/big/"), d -> {}, Clock.systemUTC());
          Crawler crawler = new Crawler(client, Integer.MAX_VALUE, 3, Progress.NONE, Clock.systemUTC())) {
        CrawlReport report = crawler.crawl(origin.url("/big/"), dir);
        assertEquals(FILES, report.files());
      }
      assertEquals(FILES, origin.count("HEAD"));
      assertTrue(maxInFlight.get() <= 3, "in flight at once: " + maxInFlight.get());
    }
  }
}
