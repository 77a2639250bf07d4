package dev.lazydir.origin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import okhttp3.HttpUrl;
import okhttp3.mockwebserver.MockResponse;
import okhttp3.mockwebserver.MockWebServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * serve's first start asks for the top level's listing before it needs it (OriginClient.expectPage), while it checks
 * the machine: the crawl that then lists the top level takes that answer instead of asking again, a failed answer
 * ahead is asked for again (never handed on as the listing), and an answer not taken is dropped.
 */
class AListingAskedAheadIsFetchedOnceTest {
  MockWebServer server;

  @BeforeEach
  void start() throws Exception {
    server = new MockWebServer();
    server.start();
  }

  @AfterEach
  void stop() throws Exception {
    server.shutdown();
  }

  OriginClient client() throws Exception {
    OriginConfig config = OriginConfig.builder().retries(1).retryWait(Duration.ZERO).timeout(Duration.ofSeconds(5))
        .maxConns(2).build();
    return new OriginClient(config, server.url("/"), d -> {}, Clock.systemUTC());
  }

  static MockResponse listing(String name) {
    return new MockResponse().setHeader("Content-Type", "text/html")
        .setBody("<html><body><a href=\"" + name + "\">" + name + "</a></body></html>");
  }

  @Test
  void theCrawlTakesTheAnswerAskedForAheadWithoutAskingAgain() throws Exception {
    server.enqueue(listing("ahead.txt"));
    server.enqueue(listing("asked-again.txt"));
    HttpUrl top = server.url("/pub/");
    try (OriginClient c = client()) {
      c.expectPage(top);
      assertTrue(server.takeRequest(5, TimeUnit.SECONDS) != null, "the listing is asked for at once");
      Page page = c.fetchPage(top);
      assertTrue(new String(page.body(), java.nio.charset.StandardCharsets.UTF_8).contains("ahead.txt"));
      assertEquals(1, server.getRequestCount(), "one request for the top level, not two");
    }
  }

  @Test
  void aFailedAnswerAheadIsAskedForAgain() throws Exception {
    server.enqueue(new MockResponse().setResponseCode(503));
    server.enqueue(listing("second.txt"));
    HttpUrl top = server.url("/pub/");
    try (OriginClient c = client()) {
      c.expectPage(top);
      server.takeRequest(5, TimeUnit.SECONDS);
      Page page = c.fetchPage(top);
      assertTrue(new String(page.body(), java.nio.charset.StandardCharsets.UTF_8).contains("second.txt"));
      assertEquals(2, server.getRequestCount());
    }
  }

  @Test
  void anAnswerNotTakenIsDroppedAndAConditionalRequestNeverTakesIt() throws Exception {
    server.enqueue(listing("old.txt"));
    server.enqueue(new MockResponse().setResponseCode(304));
    server.enqueue(listing("new.txt"));
    HttpUrl top = server.url("/pub/");
    try (OriginClient c = client()) {
      c.expectPage(top);
      server.takeRequest(5, TimeUnit.SECONDS);
      assertTrue(c.fetchPageIfChanged(top, "\"e\"", Instant.EPOCH).isEmpty(), "a revalidation asks the origin");
      c.forgetExpectedPages();
      Page page = c.fetchPage(top);
      assertTrue(new String(page.body(), java.nio.charset.StandardCharsets.UTF_8).contains("new.txt"));
      assertEquals(3, server.getRequestCount());
    }
  }

  @Test
  void aListingAskedAheadOnceTheStartForgotThemIsNotAskedForAndALaterFetchGetsTheOriginsCurrentPage() throws Exception {
    server.enqueue(listing("current.txt"));
    HttpUrl top = server.url("/pub/");
    try (OriginClient c = client()) {
      c.forgetExpectedPages(); // the start is past its first listings
      c.expectPage(top); // a start thread late to ask: nothing is asked, nothing kept for a much later fetch
      Thread.sleep(300);
      assertEquals(0, server.getRequestCount(), "nothing asked ahead after the start forgot its pages");
      Page page = c.fetchPage(top);
      assertTrue(new String(page.body(), java.nio.charset.StandardCharsets.UTF_8).contains("current.txt"));
      assertEquals(1, server.getRequestCount());
    }
  }
}
