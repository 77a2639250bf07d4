package dev.lazydir.origin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import okhttp3.mockwebserver.MockResponse;
import okhttp3.mockwebserver.MockWebServer;
import okhttp3.mockwebserver.RecordedRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A listing asked for again carries the validators it had; a 304 is "unchanged", with no body to read. */
class ConditionalListingRequestTest {
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

  @Test
  void theValidatorsAreSentAndA304IsUnchanged() throws Exception {
    server.enqueue(new MockResponse().setResponseCode(304).setHeader("ETag", "W/\"abc\""));
    try (OriginClient c = client()) {
      Optional<Page> page = c.fetchPageIfChanged(server.url("/pub/"), "W/\"abc\"", Instant.parse("2024-03-05T06:07:08Z"));
      assertTrue(page.isEmpty());
    }
    RecordedRequest r = server.takeRequest();
    assertEquals("W/\"abc\"", r.getHeader("If-None-Match"), "a weak ETag is sent back as it came");
    assertEquals("Tue, 05 Mar 2024 06:07:08 GMT", r.getHeader("If-Modified-Since"));
  }

  @Test
  void aChangedListingIsReadWithItsNewValidators() throws Exception {
    server.enqueue(new MockResponse().setHeader("Content-Type", "text/html").setHeader("ETag", "\"v2\"")
        .setHeader("Last-Modified", "Tue, 05 Mar 2024 06:08:00 GMT").setBody("<a href=\"x\">x</a>"));
    try (OriginClient c = client()) {
      Page page = c.fetchPageIfChanged(server.url("/pub/"), "\"v1\"", null).orElseThrow();
      assertEquals("\"v2\"", page.file().etag());
      assertEquals(Instant.parse("2024-03-05T06:08:00Z"), page.file().lastModified());
      assertTrue(page.html());
    }
    assertNull(server.takeRequest().getHeader("If-Modified-Since"), "nothing sent that was not known");
  }

  @Test
  void a304ToAPlainRequestIsAnError() throws Exception {
    server.enqueue(new MockResponse().setResponseCode(304));
    try (OriginClient c = client()) {
      OriginException e = assertThrows(OriginException.class, () -> c.fetchPage(server.url("/pub/")));
      assertEquals(304, e.status());
    }
  }
}
