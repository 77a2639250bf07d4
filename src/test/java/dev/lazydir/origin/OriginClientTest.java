package dev.lazydir.origin;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;
import okhttp3.HttpUrl;
import okhttp3.mockwebserver.Dispatcher;
import okhttp3.mockwebserver.MockResponse;
import okhttp3.mockwebserver.MockWebServer;
import okhttp3.mockwebserver.RecordedRequest;
import okhttp3.mockwebserver.SocketPolicy;
import okio.Buffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class OriginClientTest {
  /** A Tuesday; the injected clock stands still here. */
  private static final Instant NOW = Instant.parse("2024-03-05T10:00:00Z");
  private static final String LISTING = "<html><body><pre><a href=\"a.txt\">a.txt</a></pre></body></html>";

  private static final String USER = "alice";
  private static final String PASSWORD = "hunter2-Pa55w0rd";
  private static final String BASIC = "Basic "
      + Base64.getEncoder().encodeToString((USER + ":" + PASSWORD).getBytes(StandardCharsets.UTF_8));

  private final List<Duration> sleeps = new CopyOnWriteArrayList<>();
  private final Sleeper sleeper = sleeps::add;
  private final Clock clock = Clock.fixed(NOW, ZoneOffset.UTC);
  private final List<OriginClient> clients = new ArrayList<>();
  private final List<MockWebServer> servers = new ArrayList<>();
  private MockWebServer server;

  @BeforeEach
  void startServer() throws IOException {
    server = newServer();
  }

  @AfterEach
  void stop() throws IOException {
    for (OriginClient c : clients) {
      c.close();
    }
    for (MockWebServer s : servers) {
      s.shutdown();
    }
  }

  private MockWebServer newServer() throws IOException {
    MockWebServer s = new MockWebServer();
    s.start();
    servers.add(s);
    return s;
  }

  private static OriginConfig.Builder config() {
    return OriginConfig.builder()
        .userAgent("lazydir/test")
        .retries(3)
        .retryWait(Duration.ofMillis(100))
        .maxRetryWait(Duration.ofSeconds(10))
        .timeout(Duration.ofSeconds(5));
  }

  private OriginClient client(OriginConfig config) throws IOException {
    OriginClient c = new OriginClient(config, server.url("/"), sleeper, clock);
    clients.add(c);
    return c;
  }

  private OriginClient client() throws IOException {
    return client(config().build());
  }

  private static MockResponse html(String body) {
    return new MockResponse().setHeader("Content-Type", "text/html; charset=utf-8").setBody(body);
  }

  private static MockResponse status(int code) {
    return new MockResponse().setResponseCode(code);
  }

  private RecordedRequest take(MockWebServer s) throws InterruptedException {
    RecordedRequest r = s.takeRequest(2, TimeUnit.SECONDS);
    assertNotNull(r, "expected one more request");
    return r;
  }

  private static List<Duration> millis(long... ms) {
    return Arrays.stream(ms).mapToObj(Duration::ofMillis).toList();
  }

  // ------------------------------------------------------------------ retries

  @Test
  void serviceUnavailableThenOkSucceedsAfterOneWait() throws Exception {
    server.enqueue(status(503));
    server.enqueue(html(LISTING));
    Page page = client().fetchPage(server.url("/pub/"));
    assertTrue(page.html());
    assertEquals(LISTING, new String(page.body(), StandardCharsets.UTF_8));
    assertEquals(millis(100), sleeps);
    assertEquals(2, server.getRequestCount());
  }

  @Test
  void retryWaitsGrowExponentiallyFromRetryWait() throws Exception {
    for (int i = 0; i < 4; i++) {
      server.enqueue(status(503));
    }
    server.enqueue(html(LISTING));
    OriginClient c = client(config().retries(5).build());
    assertTrue(c.fetchPage(server.url("/pub/")).html());
    assertEquals(millis(100, 200, 400, 800), sleeps);
    assertEquals(5, c.requestCount());
  }

  @Test
  void retryWaitsAreCappedAtMaxRetryWait() throws Exception {
    for (int i = 0; i < 4; i++) {
      server.enqueue(status(502));
    }
    server.enqueue(html(LISTING));
    OriginClient c = client(config().retries(5).retryWait(Duration.ofSeconds(1))
        .maxRetryWait(Duration.ofSeconds(3)).build());
    c.fetchPage(server.url("/pub/"));
    assertEquals(List.of(Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(3), Duration.ofSeconds(3)),
        sleeps);
  }

  @Test
  void givesUpAfterRetriesTriesNamingUrlTriesAndLastStatus() throws Exception {
    server.enqueue(status(503));
    server.enqueue(status(503));
    server.enqueue(status(500));
    server.enqueue(html(LISTING)); // never reached
    HttpUrl url = server.url("/pub/");
    OriginException e = assertThrows(OriginException.class, () -> client().fetchPage(url));
    assertTrue(e.getMessage().contains(url.toString()), e.getMessage());
    assertTrue(e.getMessage().contains("gave up after 3 tries"), e.getMessage());
    assertTrue(e.getMessage().contains("500"), e.getMessage());
    assertEquals(500, e.status());
    assertFalse(e.isNotFound());
    assertEquals(3, server.getRequestCount());
    assertEquals(millis(100, 200), sleeps);
  }

  @Test
  void singleTryConfigurationSaysOneTry() throws Exception {
    server.enqueue(status(503));
    OriginException e = assertThrows(OriginException.class,
        () -> client(config().retries(1).build()).fetchPage(server.url("/pub/")));
    assertTrue(e.getMessage().contains("gave up after 1 try)"), e.getMessage());
    assertEquals(503, e.status());
    assertEquals(List.of(), sleeps);
  }

  @Test
  void notFoundIsNotRetried() throws Exception {
    server.enqueue(status(404));
    server.enqueue(html(LISTING));
    HttpUrl url = server.url("/gone/");
    OriginException e = assertThrows(OriginException.class, () -> client().fetchPage(url));
    assertTrue(e.isNotFound());
    assertEquals(404, e.status());
    assertTrue(e.getMessage().contains(url.toString()), e.getMessage());
    assertTrue(e.getMessage().contains("404"), e.getMessage());
    assertEquals(1, server.getRequestCount());
    assertEquals(List.of(), sleeps);
  }

  @Test
  void goneIsNotFoundToo() throws Exception {
    server.enqueue(status(410));
    OriginException e = assertThrows(OriginException.class, () -> client().fetchPage(server.url("/gone/")));
    assertTrue(e.isNotFound());
    assertEquals(1, server.getRequestCount());
  }

  @Test
  void forbiddenIsFinalAndNotRetried() throws Exception {
    server.enqueue(status(403));
    OriginException e = assertThrows(OriginException.class, () -> client().fetchPage(server.url("/secret/")));
    assertEquals(403, e.status());
    assertFalse(e.isNotFound());
    assertEquals(1, server.getRequestCount());
    assertEquals(List.of(), sleeps);
  }

  @Test
  void connectionFailureIsRetriedThenReported() throws Exception {
    for (int i = 0; i < 20; i++) {
      server.enqueue(new MockResponse().setSocketPolicy(SocketPolicy.DISCONNECT_AT_START));
    }
    HttpUrl url = server.url("/pub/");
    OriginClient c = client();
    OriginException e = assertThrows(OriginException.class, () -> c.fetchPage(url));
    assertEquals(-1, e.status(), "no HTTP answer came");
    assertFalse(e.isNotFound());
    assertTrue(e.getMessage().contains(url.toString()), e.getMessage());
    assertTrue(e.getMessage().contains("gave up after 3 tries"), e.getMessage());
    assertNotNull(e.getCause(), "the network error is kept as the cause");
    assertEquals(3, c.requestCount());
    assertEquals(millis(100, 200), sleeps);
  }

  @Test
  void connectionFailureThenOkSucceeds() throws Exception {
    server.enqueue(new MockResponse().setSocketPolicy(SocketPolicy.DISCONNECT_AT_START));
    server.enqueue(html(LISTING));
    Page page = client().fetchPage(server.url("/pub/"));
    assertTrue(page.html());
    assertEquals(LISTING, new String(page.body(), StandardCharsets.UTF_8));
    assertTrue(sleeps.size() <= 1, "at most one wait: " + sleeps);
  }

  @Test
  void lastStatusIsReportedWhenFailuresAreMixed() throws Exception {
    server.enqueue(new MockResponse().setSocketPolicy(SocketPolicy.DISCONNECT_AT_START));
    server.enqueue(status(504));
    server.enqueue(status(429));
    OriginException e = assertThrows(OriginException.class,
        () -> client(config().retries(3).build()).fetchPage(server.url("/pub/")));
    assertEquals(429, e.status());
  }

  // ------------------------------------------------------------------ Retry-After

  @Test
  void retryAfterSecondsOn429IsTheWait() throws Exception {
    server.enqueue(status(429).setHeader("Retry-After", "3"));
    server.enqueue(html(LISTING));
    client().fetchPage(server.url("/pub/"));
    assertEquals(List.of(Duration.ofSeconds(3)), sleeps);
  }

  @Test
  void retryAfterSecondsOn503IsTheWait() throws Exception {
    server.enqueue(status(503).setHeader("Retry-After", "7"));
    server.enqueue(html(LISTING));
    client().fetchPage(server.url("/pub/"));
    assertEquals(List.of(Duration.ofSeconds(7)), sleeps);
  }

  @Test
  void retryAfterHttpDateIsMeasuredFromTheClock() throws Exception {
    server.enqueue(status(503).setHeader("Retry-After", "Tue, 05 Mar 2024 10:00:07 GMT"));
    server.enqueue(status(429).setHeader("Retry-After", "Tue, 05 Mar 2024 10:00:02 GMT"));
    server.enqueue(html(LISTING));
    client().fetchPage(server.url("/pub/"));
    assertEquals(List.of(Duration.ofSeconds(7), Duration.ofSeconds(2)), sleeps);
  }

  @Test
  void retryAfterHttpDateInThePastMeansRetryAtOnce() throws Exception {
    server.enqueue(status(503).setHeader("Retry-After", "Tue, 05 Mar 2024 09:00:00 GMT"));
    server.enqueue(html(LISTING));
    client().fetchPage(server.url("/pub/"));
    assertEquals(List.of(Duration.ZERO), sleeps);
  }

  @Test
  void unparsableRetryAfterFallsBackToTheBackoff() throws Exception {
    server.enqueue(status(503).setHeader("Retry-After", "whenever"));
    server.enqueue(html(LISTING));
    client().fetchPage(server.url("/pub/"));
    assertEquals(millis(100), sleeps);
  }

  @Test
  void retryAfterLongerThanMaxRetryWaitFailsAtOnceWithAClearMessage() throws Exception {
    server.enqueue(status(503).setHeader("Retry-After", "3600"));
    server.enqueue(html(LISTING));
    HttpUrl url = server.url("/pub/");
    OriginException e = assertThrows(OriginException.class, () -> client().fetchPage(url));
    assertEquals(List.of(), sleeps, "must not wait at all");
    assertEquals(1, server.getRequestCount());
    assertEquals(503, e.status());
    assertTrue(e.getMessage().contains(url.toString()), e.getMessage());
    assertTrue(e.getMessage().contains("3600 s"), e.getMessage());
    assertTrue(e.getMessage().contains("10 s"), e.getMessage());
  }

  @Test
  void retryAfterDateBeyondMaxRetryWaitFailsAtOnce() throws Exception {
    server.enqueue(status(429).setHeader("Retry-After", "Tue, 05 Mar 2024 12:00:00 GMT"));
    OriginException e = assertThrows(OriginException.class, () -> client().fetchPage(server.url("/pub/")));
    assertEquals(List.of(), sleeps);
    assertEquals(429, e.status());
    assertTrue(e.getMessage().contains("7200 s"), e.getMessage());
  }

  @Test
  void retryAfterEqualToMaxRetryWaitIsHonoured() throws Exception {
    server.enqueue(status(503).setHeader("Retry-After", "10"));
    server.enqueue(html(LISTING));
    client().fetchPage(server.url("/pub/"));
    assertEquals(List.of(Duration.ofSeconds(10)), sleeps);
  }

  // ------------------------------------------------------------------ probe

  @Test
  void probeHeadGivesSizeTimeAndEtag() throws Exception {
    server.enqueue(new MockResponse()
        .setHeader("Content-Length", "1234")
        .setHeader("Last-Modified", "Tue, 05 Mar 2024 09:30:15 GMT")
        .setHeader("ETag", "\"5e1-abc\"")
        .setHeader("Content-Type", "application/octet-stream"));
    HttpUrl url = server.url("/pub/file.bin");
    RemoteFile f = client().probe(url);
    assertEquals(1234, f.size());
    assertEquals(Instant.parse("2024-03-05T09:30:15Z"), f.lastModified());
    assertEquals("\"5e1-abc\"", f.etag());
    assertFalse(f.html());
    assertEquals(url, f.finalUrl());
    assertEquals("HEAD", take(server).getMethod());
    assertEquals(1, server.getRequestCount());
  }

  @Test
  void probeFallsBackToOneByteRangeWhenHeadIsRefused() throws Exception {
    server.enqueue(status(405));
    server.enqueue(new MockResponse().setResponseCode(206)
        .setHeader("Content-Range", "bytes 0-0/1234")
        .setHeader("Last-Modified", "Tue, 05 Mar 2024 09:30:15 GMT")
        .setHeader("ETag", "W/\"weak\"")
        .setBody("x"));
    RemoteFile f = client().probe(server.url("/pub/file.bin"));
    assertEquals(1234, f.size());
    assertEquals(Instant.parse("2024-03-05T09:30:15Z"), f.lastModified());
    assertEquals("W/\"weak\"", f.etag());
    assertEquals("HEAD", take(server).getMethod());
    RecordedRequest get = take(server);
    assertEquals("GET", get.getMethod());
    assertEquals("bytes=0-0", get.getHeader("Range"));
    assertEquals(List.of(), sleeps);
  }

  @Test
  void probeFallsBackWhenHeadIsNotImplemented() throws Exception {
    server.enqueue(status(501));
    server.enqueue(new MockResponse().setResponseCode(206).setHeader("Content-Range", "bytes 0-0/99").setBody("x"));
    assertEquals(99, client().probe(server.url("/f")).size());
  }

  @Test
  void probeFallsBackWhenHeadGivesNoLength() throws Exception {
    server.enqueue(new MockResponse().removeHeader("Content-Length")
        .setHeader("Content-Type", "application/octet-stream"));
    server.enqueue(new MockResponse().setResponseCode(206).setHeader("Content-Range", "bytes 0-0/1234").setBody("x"));
    RemoteFile f = client().probe(server.url("/pub/file.bin"));
    assertEquals(1234, f.size());
    assertEquals("HEAD", take(server).getMethod());
    assertEquals("bytes=0-0", take(server).getHeader("Range"));
  }

  @Test
  void probeOfHtmlWithoutLengthNeedsNoRangeRequest() throws Exception {
    server.enqueue(new MockResponse().removeHeader("Content-Length").setHeader("Content-Type", "text/html"));
    RemoteFile f = client().probe(server.url("/pub/dir"));
    assertTrue(f.html());
    assertEquals(-1, f.size());
    assertEquals(1, server.getRequestCount());
  }

  @Test
  void probeWithUnknownRangeTotalGivesUnknownSize() throws Exception {
    server.enqueue(status(405));
    server.enqueue(new MockResponse().setResponseCode(206).setHeader("Content-Range", "bytes 0-0/*").setBody("x"));
    assertEquals(-1, client().probe(server.url("/pub/stream")).size());
  }

  @Test
  void probeOfEmptyFileAnsweredRangeNotSatisfiableIsSizeZero() throws Exception {
    server.enqueue(status(405));
    server.enqueue(status(416).setHeader("Content-Range", "bytes */0"));
    RemoteFile f = client().probe(server.url("/pub/empty"));
    assertEquals(0, f.size());
  }

  @Test
  void probeOfRangeNotSatisfiableWithoutContentRangeIsSizeZero() throws Exception {
    server.enqueue(status(405));
    server.enqueue(status(416));
    assertEquals(0, client().probe(server.url("/pub/empty")).size());
  }

  @Test
  void probeOfServerIgnoringRangeStillGivesTheSize() throws Exception {
    server.enqueue(status(405));
    server.enqueue(new MockResponse().setBody(new Buffer().write(new byte[5000]))); // 200, Content-Length 5000
    RemoteFile f = client().probe(server.url("/pub/file.bin"));
    assertEquals(5000, f.size());
  }

  @Test
  void probeNeverTakesACompressedLengthAsTheSize() throws Exception {
    server.enqueue(new MockResponse().setHeader("Content-Encoding", "gzip").setHeader("Content-Length", "100"));
    server.enqueue(new MockResponse().setResponseCode(206).setHeader("Content-Range", "bytes 0-0/5000").setBody("x"));
    RemoteFile f = client().probe(server.url("/pub/file.txt"));
    assertEquals(5000, f.size(), "the compressed HEAD length must be ignored");
    assertEquals(2, server.getRequestCount());
  }

  @Test
  void probeOfCompressedAnswerIgnoringRangeGivesUnknownSize() throws Exception {
    server.enqueue(new MockResponse().setHeader("Content-Encoding", "gzip").setHeader("Content-Length", "100"));
    server.enqueue(new MockResponse().setHeader("Content-Encoding", "gzip").setBody(new Buffer().write(new byte[100])));
    assertEquals(-1, client().probe(server.url("/pub/file.txt")).size());
  }

  @Test
  void probeOfMissingFileIsNotFoundWithoutFallback() throws Exception {
    server.enqueue(status(404));
    server.enqueue(status(404));
    OriginException e = assertThrows(OriginException.class, () -> client().probe(server.url("/pub/nope")));
    assertTrue(e.isNotFound());
    assertTrue(e.getMessage().contains(server.url("/pub/nope").toString()), e.getMessage());
    assertEquals(1, server.getRequestCount());
  }

  @Test
  void probeRetriesHeadLikeAnyRequest() throws Exception {
    server.enqueue(status(503));
    server.enqueue(new MockResponse().setHeader("Content-Length", "42"));
    assertEquals(42, client().probe(server.url("/f")).size());
    assertEquals(millis(100), sleeps);
  }

  // ------------------------------------------------------------------ fetchPage

  @Test
  void fetchPageReturnsHtmlBodyAndCharset() throws Exception {
    server.enqueue(html(LISTING));
    HttpUrl url = server.url("/pub/");
    Page page = client().fetchPage(url);
    assertTrue(page.html());
    assertEquals(url, page.finalUrl());
    assertArrayEquals(LISTING.getBytes(StandardCharsets.UTF_8), page.body());
    assertEquals("UTF-8", page.charset());
    assertTrue(page.file().html());
  }

  @Test
  void fetchPageWithoutCharsetHasNullCharset() throws Exception {
    server.enqueue(new MockResponse().setHeader("Content-Type", "text/html").setBody(LISTING));
    Page page = client().fetchPage(server.url("/pub/"));
    assertTrue(page.html());
    assertNull(page.charset());
  }

  @Test
  void fetchPageFollowsRedirectToTrailingSlashAndReportsTheFinalUrl() throws Exception {
    server.enqueue(status(301).setHeader("Location", "/pub/"));
    server.enqueue(html(LISTING));
    Page page = client().fetchPage(server.url("/pub"));
    assertEquals(server.url("/pub/"), page.finalUrl());
    assertTrue(page.html());
    assertEquals(LISTING, new String(page.body(), StandardCharsets.UTF_8));
    assertEquals("/pub", take(server).getPath());
    assertEquals("/pub/", take(server).getPath());
  }

  @Test
  void fetchPageOfNonHtmlDoesNotReadTheBody() throws Exception {
    int size = 8 << 20;
    // Throttled so that reading the whole body would take minutes: returning quickly proves it is not read.
    server.enqueue(new MockResponse()
        .setHeader("Content-Type", "application/octet-stream")
        .setHeader("Last-Modified", "Tue, 05 Mar 2024 09:30:15 GMT")
        .setBody(new Buffer().write(new byte[size]))
        .throttleBody(16 * 1024, 200, TimeUnit.MILLISECONDS));
    HttpUrl url = server.url("/pub/big.iso");
    OriginClient c = client();
    Page page = assertTimeoutPreemptively(Duration.ofSeconds(5), () -> c.fetchPage(url));
    assertFalse(page.html());
    assertNull(page.body());
    assertEquals(url, page.finalUrl());
    assertEquals(size, page.file().size());
    assertEquals(Instant.parse("2024-03-05T09:30:15Z"), page.file().lastModified());
    assertFalse(page.file().html());
  }

  @Test
  void fetchPageOfRedirectedFileGivesFinalUrlAndSize() throws Exception {
    int size = 5 << 20;
    server.enqueue(status(302).setHeader("Location", "/pool/big.iso"));
    server.enqueue(new MockResponse()
        .setHeader("Content-Type", "application/x-iso9660-image")
        .setBody(new Buffer().write(new byte[size]))
        .throttleBody(16 * 1024, 200, TimeUnit.MILLISECONDS));
    OriginClient c = client();
    Page page = assertTimeoutPreemptively(Duration.ofSeconds(5), () -> c.fetchPage(server.url("/pub/big.iso")));
    assertFalse(page.html());
    assertEquals(server.url("/pool/big.iso"), page.finalUrl());
    assertEquals(size, page.file().size());
  }

  @Test
  void fetchPageRefusesAListingLargerThanTheLimit() throws Exception {
    byte[] big = new byte[OriginClient.MAX_LISTING_BYTES + 1];
    Arrays.fill(big, (byte) 'a');
    server.enqueue(new MockResponse().setHeader("Content-Type", "text/html")
        .setChunkedBody(new Buffer().write(big), 1 << 20));
    big = null;
    HttpUrl url = server.url("/huge/");
    OriginClient c = client();
    OriginException e = assertThrows(OriginException.class,
        () -> assertTimeoutPreemptively(Duration.ofSeconds(30), () -> c.fetchPage(url)));
    assertTrue(e.getMessage().contains(url.toString()), e.getMessage());
    assertTrue(e.getMessage().contains("larger than 64 MiB"), e.getMessage());
    assertEquals(1, server.getRequestCount(), "a too-large listing is not retried");
  }

  // ------------------------------------------------------------------ credentials and headers

  @Test
  void credentialsAreSentToTheOrigin() throws Exception {
    server.enqueue(html(LISTING));
    client(config().username(USER).password(PASSWORD).build()).fetchPage(server.url("/pub/"));
    assertEquals(BASIC, take(server).getHeader("Authorization"));
  }

  @Test
  void credentialsFollowARedirectWithinTheOrigin() throws Exception {
    server.enqueue(status(301).setHeader("Location", "/pub/"));
    server.enqueue(html(LISTING));
    client(config().username(USER).password(PASSWORD).build()).fetchPage(server.url("/pub"));
    assertEquals(BASIC, take(server).getHeader("Authorization"));
    assertEquals(BASIC, take(server).getHeader("Authorization"));
  }

  @Test
  void credentialsAreNotSentAfterARedirectToAnotherOrigin() throws Exception {
    MockWebServer other = newServer();
    assertFalse(other.getPort() == server.getPort());
    server.enqueue(status(302).setHeader("Location", other.url("/elsewhere/").toString()));
    other.enqueue(html(LISTING));
    Page page = client(config().username(USER).password(PASSWORD).build()).fetchPage(server.url("/pub/"));
    assertEquals(other.url("/elsewhere/"), page.finalUrl());
    assertEquals(BASIC, take(server).getHeader("Authorization"));
    RecordedRequest there = take(other);
    assertNull(there.getHeader("Authorization"), "credentials leaked to " + other.url("/"));
  }

  @Test
  void customAuthorizationHeaderIsNotSentAfterARedirectToAnotherOrigin() throws Exception {
    MockWebServer other = newServer();
    server.enqueue(status(302).setHeader("Location", other.url("/elsewhere/").toString()));
    other.enqueue(html(LISTING));
    client(config().header("Authorization: Bearer tok-123").build()).fetchPage(server.url("/pub/"));
    assertEquals("Bearer tok-123", take(server).getHeader("Authorization"));
    assertNull(take(other).getHeader("Authorization"));
  }

  @Test
  void customSecretHeadersAreNotSentAfterARedirectToAnotherOrigin() throws Exception {
    MockWebServer other = newServer();
    server.enqueue(status(302).setHeader("Location", other.url("/elsewhere/").toString()));
    other.enqueue(html(LISTING));
    client(config().header("X-Api-Key: key-SECRET").header("Cookie: session=cookie-SECRET").build())
        .fetchPage(server.url("/pub/"));
    assertEquals("key-SECRET", take(server).getHeader("X-Api-Key"));
    RecordedRequest there = take(other);
    assertNull(there.getHeader("X-Api-Key"), "API key leaked to " + other.url("/"));
    assertNull(there.getHeader("Cookie"), "cookie leaked to " + other.url("/"));
  }

  @Test
  void timeoutIsRetriedThenReported() throws Exception {
    server.enqueue(html(LISTING).setHeadersDelay(400, TimeUnit.MILLISECONDS));
    server.enqueue(html(LISTING).setHeadersDelay(400, TimeUnit.MILLISECONDS));
    OriginClient c = client(config().retries(2).timeout(Duration.ofMillis(100)).build());
    HttpUrl url = server.url("/slow/");
    OriginException e = assertThrows(OriginException.class, () -> c.fetchPage(url));
    assertEquals(-1, e.status());
    assertTrue(e.getMessage().contains(url.toString()), e.getMessage());
    assertTrue(e.getMessage().contains("timed out"), e.getMessage());
    assertTrue(e.getMessage().contains("gave up after 2 tries"), e.getMessage());
    assertEquals(millis(100), sleeps);
  }

  @Test
  void interruptedCallerGetsAnErrorInsteadOfARequest() throws Exception {
    server.enqueue(html(LISTING));
    OriginClient c = client();
    Thread.currentThread().interrupt();
    try {
      OriginException e = assertThrows(OriginException.class, () -> c.fetchPage(server.url("/pub/")));
      assertTrue(e.getMessage().contains("interrupted"), e.getMessage());
      assertTrue(Thread.currentThread().isInterrupted(), "the interrupt is kept for the caller");
    } finally {
      Thread.interrupted();
    }
    assertEquals(0, server.getRequestCount());
  }

  @Test
  void interruptDuringRetryWaitStopsRetrying() throws Exception {
    server.enqueue(status(503));
    server.enqueue(html(LISTING));
    OriginClient c = new OriginClient(config().build(), server.url("/"), d -> {
      throw new InterruptedException();
    }, clock);
    clients.add(c);
    try {
      OriginException e = assertThrows(OriginException.class, () -> c.fetchPage(server.url("/pub/")));
      assertTrue(e.getMessage().contains("interrupted while waiting to retry"), e.getMessage());
      assertEquals(503, e.status());
      assertTrue(Thread.currentThread().isInterrupted());
    } finally {
      Thread.interrupted();
    }
    assertEquals(1, server.getRequestCount());
  }

  @Test
  void failuresGiveTheirConnectionSlotBack() throws Exception {
    OriginClient c = client(config().maxConns(1).retries(1).build());
    server.enqueue(status(404));
    server.enqueue(status(503));
    server.enqueue(status(404)); // HEAD
    server.enqueue(status(405)); // HEAD
    server.enqueue(status(500)); // range GET
    assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
      assertThrows(OriginException.class, () -> c.fetchPage(server.url("/a/")));
      assertThrows(OriginException.class, () -> c.fetchPage(server.url("/b/")));
      assertThrows(OriginException.class, () -> c.probe(server.url("/c")));
      assertThrows(OriginException.class, () -> c.probe(server.url("/d")));
      server.enqueue(html(LISTING));
      assertTrue(c.fetchPage(server.url("/e/")).html(), "the single slot must still be free");
    });
  }

  @Test
  void credentialsAreNotSentToAnotherOriginAskedDirectly() throws Exception {
    MockWebServer other = newServer();
    other.enqueue(html(LISTING));
    client(config().username(USER).password(PASSWORD).build()).fetchPage(other.url("/x/"));
    assertNull(take(other).getHeader("Authorization"));
  }

  @Test
  void noAuthorizationWithoutUsername() throws Exception {
    server.enqueue(html(LISTING));
    client().fetchPage(server.url("/pub/"));
    assertNull(take(server).getHeader("Authorization"));
  }

  @Test
  void customHeadersAndUserAgentAreSent() throws Exception {
    server.enqueue(html(LISTING));
    server.enqueue(new MockResponse().setHeader("Content-Length", "1"));
    OriginClient c = client(config().userAgent("lazydir/9.9 (test)")
        .header("X-Api-Key: key-123")
        .header("Accept-Language:  en-GB ")
        .build());
    c.fetchPage(server.url("/pub/"));
    c.probe(server.url("/pub/a.txt"));
    for (int i = 0; i < 2; i++) {
      RecordedRequest r = take(server);
      assertEquals("lazydir/9.9 (test)", r.getHeader("User-Agent"), r.getMethod());
      assertEquals("key-123", r.getHeader("X-Api-Key"), r.getMethod());
      assertEquals("en-GB", r.getHeader("Accept-Language"), r.getMethod());
    }
  }

  @Test
  void customHeadersAreSentOnRetries() throws Exception {
    server.enqueue(status(503));
    server.enqueue(html(LISTING));
    client(config().username(USER).password(PASSWORD).header("X-Api-Key: key-123").build())
        .fetchPage(server.url("/pub/"));
    for (int i = 0; i < 2; i++) {
      RecordedRequest r = take(server);
      assertEquals("key-123", r.getHeader("X-Api-Key"));
      assertEquals(BASIC, r.getHeader("Authorization"));
      assertEquals("lazydir/test", r.getHeader("User-Agent"));
    }
  }

  // ------------------------------------------------------------------ secrets

  @Test
  void secretsNeverReachLogsOrErrorMessages() throws Exception {
    String apiKey = "key-9f8e7d6c-SECRET";
    String urlPassword = "urlPw-SECRET";
    String urlToken = "qTok-SECRET";
    List<String> secrets = List.of(PASSWORD, apiKey, BASIC.substring("Basic ".length()), urlPassword, urlToken);

    Logger lazydir = Logger.getLogger("dev.lazydir");
    Level savedLevel = lazydir.getLevel();
    List<LogRecord> records = new CopyOnWriteArrayList<>();
    Handler handler = new Handler() {
      @Override public void publish(LogRecord r) { records.add(r); }
      @Override public void flush() {}
      @Override public void close() {}
    };
    handler.setLevel(Level.ALL);
    lazydir.addHandler(handler);
    lazydir.setLevel(Level.ALL);
    List<Throwable> errors = new ArrayList<>();
    try {
      OriginClient c = client(config().username(USER).password(PASSWORD)
          .header("X-Api-Key: " + apiKey).retries(3).build());
      HttpUrl withSecrets = server.url("/sec/").newBuilder()
          .username("bob").password(urlPassword).addQueryParameter("token", urlToken).build();

      // network failure and 503s until it gives up, on a URL carrying user info and a query token
      // (first, while no pooled connection exists: MockWebServer applies DISCONNECT_AT_START to new connections)
      server.enqueue(new MockResponse().setSocketPolicy(SocketPolicy.DISCONNECT_AT_START));
      server.enqueue(status(503));
      server.enqueue(status(503));
      errors.add(assertThrows(OriginException.class, () -> c.fetchPage(withSecrets)));
      // retried, then fine
      server.enqueue(status(503));
      server.enqueue(html(LISTING));
      c.fetchPage(server.url("/pub/"));
      // final statuses
      server.enqueue(status(401));
      errors.add(assertThrows(OriginException.class, () -> c.fetchPage(withSecrets)));
      server.enqueue(status(404));
      errors.add(assertThrows(OriginException.class, () -> c.probe(withSecrets)));
      // Retry-After beyond the limit
      server.enqueue(status(429).setHeader("Retry-After", "86400"));
      errors.add(assertThrows(OriginException.class, () -> c.fetchPage(withSecrets)));
    } finally {
      lazydir.removeHandler(handler);
      lazydir.setLevel(savedLevel);
    }

    // The secrets were really in play.
    RecordedRequest sent = server.takeRequest(2, TimeUnit.SECONDS);
    while (sent != null && sent.getHeader("Authorization") == null) { // DISCONNECT_AT_START records an empty one
      sent = server.takeRequest(2, TimeUnit.SECONDS);
    }
    assertNotNull(sent);
    assertEquals(BASIC, sent.getHeader("Authorization"));
    assertEquals(apiKey, sent.getHeader("X-Api-Key"));
    assertFalse(records.isEmpty(), "the retries should have logged something at FINE");

    SimpleFormatter formatter = new SimpleFormatter();
    for (LogRecord r : records) {
      StringBuilder text = new StringBuilder(String.valueOf(r.getMessage())).append('\n')
          .append(formatter.formatMessage(r)).append('\n');
      if (r.getParameters() != null) {
        for (Object p : r.getParameters()) {
          text.append(p).append('\n');
        }
      }
      appendChain(text, r.getThrown());
      assertNoSecret(secrets, text.toString(), "log record");
    }
    for (Throwable e : errors) {
      StringBuilder text = new StringBuilder();
      appendChain(text, e);
      assertNoSecret(secrets, text.toString(), "exception");
    }
  }

  private static void appendChain(StringBuilder text, Throwable t) {
    for (; t != null; t = t.getCause()) {
      text.append(t).append('\n');
    }
  }

  private static void assertNoSecret(List<String> secrets, String text, String where) {
    for (String s : secrets) {
      assertFalse(text.contains(s), where + " contains secret '" + s + "':\n" + text);
    }
  }

  @Test
  void configToStringShowsNoPasswordOrHeaderValue() {
    OriginConfig c = config().username(USER).password(PASSWORD)
        .proxy("http://proxy.example:3128").proxyUsername("pu").proxyPassword("proxyPw-SECRET")
        .header("X-Api-Key: key-SECRET").build();
    String s = c.toString();
    assertFalse(s.contains(PASSWORD), s);
    assertFalse(s.contains("proxyPw-SECRET"), s);
    assertFalse(s.contains("key-SECRET"), s);
    assertFalse(s.contains(BASIC.substring(6)), s);
    assertTrue(s.contains("(set)"), "says a password is set: " + s);
  }

  @Test
  void configToStringHidesCredentialsWrittenIntoTheProxyUrl() {
    OriginConfig c = config().proxy("http://pu:proxyPw-SECRET@proxy.example:3128").build();
    assertFalse(c.toString().contains("proxyPw-SECRET"), c.toString());
    assertTrue(c.toString().contains("proxy.example:3128"), c.toString());
  }

  @Test
  void configToStringHidesCredentialsInASchemelessProxy() {
    // "host:port" without a scheme is accepted (http:// is assumed), user info included.
    OriginConfig c = config().proxy("pu:proxyPw-SECRET@proxy.example:3128").build();
    assertFalse(c.toString().contains("proxyPw-SECRET"), c.toString());
  }

  @Test
  void configToStringHidesAProxyPasswordContainingAnAtSign() {
    OriginConfig c = config().proxy("http://pu:proxy@Pw-SECRET@proxy.example:3128").build();
    assertFalse(c.toString().contains("Pw-SECRET"), c.toString());
  }

  @Test
  void redactDropsUserInfoQueryAndFragment() {
    HttpUrl url = HttpUrl.get("http://bob:urlPw-SECRET@mirror.example:8080/pub/a%20b/?token=qTok-SECRET#frag");
    String r = Redact.url(url);
    assertEquals("http://mirror.example:8080/pub/a%20b/?...", r);
    assertFalse(r.contains("bob"));
    assertFalse(r.contains("SECRET"));
  }

  @Test
  void redactLeavesAPlainUrlAlone() {
    assertEquals("https://mirror.example/pub/", Redact.url(HttpUrl.get("https://mirror.example/pub/")));
  }

  // ------------------------------------------------------------------ concurrency

  @Test
  void neverMoreRequestsInFlightThanMaxConns() throws Exception {
    AtomicInteger inFlight = new AtomicInteger();
    AtomicInteger maxSeen = new AtomicInteger();
    server.setDispatcher(new Dispatcher() {
      @Override
      public MockResponse dispatch(RecordedRequest request) throws InterruptedException {
        int now = inFlight.incrementAndGet();
        maxSeen.accumulateAndGet(now, Math::max);
        try {
          Thread.sleep(150);
        } finally {
          inFlight.decrementAndGet();
        }
        return html(LISTING);
      }
    });
    OriginClient c = client(config().maxConns(2).build());
    ExecutorService pool = Executors.newFixedThreadPool(6);
    try {
      List<Future<Page>> pages = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        HttpUrl url = server.url("/d" + i + "/");
        pages.add(pool.submit(() -> c.fetchPage(url)));
      }
      for (Future<Page> p : pages) {
        assertTrue(p.get(10, TimeUnit.SECONDS).html());
      }
    } finally {
      pool.shutdownNow();
    }
    assertEquals(6, server.getRequestCount());
    assertTrue(maxSeen.get() <= 2, "server saw " + maxSeen.get() + " requests at once");
    assertEquals(2, maxSeen.get(), "two requests should have run side by side");
  }

  @Test
  void maxConnsBelowOneIsRefused() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> config().maxConns(0).build());
    assertTrue(e.getMessage().contains("--max-conns"), e.getMessage());
  }
}
