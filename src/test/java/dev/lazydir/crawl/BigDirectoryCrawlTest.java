package dev.lazydir.crawl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.origin.OriginClient;
import dev.lazydir.origin.OriginConfig;
import dev.lazydir.testing.FakeOrigin;
import dev.lazydir.testing.FakeOrigin.Fault;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A 10,000-entry directory: with exact sizes in the listing the crawl costs one listing request (plus one
 * probe to learn the listing's clock), not one request per file; without them, the probes run --max-conns at a
 * time, no fewer and no more. Timing lives in bench/crawl-bigdir, not here.
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
  void listingWithoutSizesIsProbedWithExactlyMaxConnsRequestsInFlight() throws Exception {
    int maxConns = 3;
    try (FakeOrigin origin = big(new FakeOrigin()).style(FakeOrigin.Style.PYTHON)) {
      FakeOrigin.Hold probes = origin.fault("/big/*", Fault.hold().on("HEAD"));
      Path dir = tmp.resolve("m");
      OriginConfig config = OriginConfig.builder().retries(1).retryWait(Duration.ZERO).maxConns(maxConns).build();
      ExecutorService background = Executors.newSingleThreadExecutor();
      // The crawler's own pool is wider than --max-conns: only the client's bound can keep the probes to it.
      try (OriginClient client = new OriginClient(config, origin.url("/big/"), d -> {}, Clock.systemUTC());
          Crawler crawler = new Crawler(client, Integer.MAX_VALUE, 4 * maxConns, Progress.NONE, Clock.systemUTC())) {
        Future<CrawlReport> crawl = background.submit(() -> crawler.crawl(origin.url("/big/"), dir));
        assertTrue(probes.awaitHeld(maxConns), "probes held at once: " + probes.maxHeld());
        // Every connection is taken and none is given back: a probe beyond the bound would arrive now.
        assertFalse(probes.awaitHeld(maxConns + 1, Duration.ofMillis(300)), "more than --max-conns in flight");
        probes.release();
        assertEquals(FILES, crawl.get(60, TimeUnit.SECONDS).files());
      } finally {
        probes.release();
        background.shutdownNow();
      }
      assertEquals(FILES, origin.count("HEAD"));
      assertEquals(maxConns, probes.maxHeld(), "requests in flight at once, at most");
    }
  }
}
