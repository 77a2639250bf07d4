package dev.lazydir.origin;

import dev.lazydir.testing.FakeOrigin.Fault;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.testing.FakeOrigin;
import dev.lazydir.testing.ScriptedOrigin;
import okhttp3.HttpUrl;
import java.io.ByteArrayOutputStream;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Random;
import okhttp3.mockwebserver.MockResponse;
import okhttp3.mockwebserver.RecordedRequest;
import okhttp3.mockwebserver.SocketPolicy;
import okio.Buffer;
import org.junit.jupiter.api.Test;

/**
 * Range fetches over plain HTTP take lazydir's own fast path (PlainRangeFetch): what it must keep from OkHttp's
 * behaviour (credentials, headers, redirects, odd bodies, timeouts) and what it adds (connections kept alive).
 */
class PlainHttpRangeFetchTest {
  static final Instant T = Instant.parse("2024-03-05T06:07:08Z");
  static final byte[] DATA = new byte[1 << 20];

  static {
    new Random(2).nextBytes(DATA);
  }

  private static OriginClient client(FakeOrigin origin, OriginConfig.Builder b) throws Exception {
    return new OriginClient(b.retryWait(Duration.ZERO).build(), origin.url("/"), d -> {}, Clock.systemUTC());
  }

  /** The bytes [off, off + len) handed over (a whole-file answer hands over all of them, from offset 0). */
  private static byte[] fetch(OriginClient c, FakeOrigin o, String path, long off, long len) throws Exception {
    byte[] file = new byte[DATA.length];
    long[] next = {off};
    c.fetchRange(o.url(path), off, len, new FileVersion(DATA.length, null, T), (at, buf) -> {
      assertTrue(at == next[0] || at == 0, "bytes arrive in order");
      next[0] = at + buf.remaining();
      buf.get(file, (int) at, buf.remaining());
    });
    return Arrays.copyOfRange(file, (int) off, (int) (off + len));
  }

  private static byte[] slice(long off, long len) {
    return Arrays.copyOfRange(DATA, (int) off, (int) (off + len));
  }

  @Test
  void consecutiveRangesReuseOneKeptAliveConnection() throws Exception {
    try (FakeOrigin o = new FakeOrigin(); OriginClient c = client(o, OriginConfig.builder())) {
      o.file("/f.bin", DATA, T);
      assertArrayEquals(slice(0, 300_000), fetch(c, o, "/f.bin", 0, 300_000));
      assertArrayEquals(slice(300_000, 300_000), fetch(c, o, "/f.bin", 300_000, 300_000));
      assertEquals(1, o.lastRequest().getSequenceNumber(), "the second request went over the first one's connection");
    }
  }

  @Test
  void credentialsUserAgentAndUserHeadersAreSent() throws Exception {
    OriginConfig.Builder b = OriginConfig.builder().username("ann").password("s3cret").header("X-Api-Key: k1")
        .userAgent("lazydir-test");
    try (FakeOrigin o = new FakeOrigin(); OriginClient c = client(o, b)) {
      o.file("/f.bin", DATA, T);
      assertArrayEquals(slice(10, 1000), fetch(c, o, "/f.bin", 10, 1000));
      RecordedRequest r = o.lastRequest();
      assertEquals("Basic YW5uOnMzY3JldA==", r.getHeader("Authorization"));
      assertEquals("k1", r.getHeader("X-Api-Key"));
      assertEquals("lazydir-test", r.getHeader("User-Agent"));
      assertEquals("bytes=10-1009", r.getHeader("Range"));
    }
  }

  @Test
  void aRedirectIsFollowedThroughOkHttpWithTheRightBytes() throws Exception {
    try (FakeOrigin o = new FakeOrigin(); OriginClient c = client(o, OriginConfig.builder())) {
      o.file("/real.bin", DATA, T);
      o.fault("/moved.bin", Fault.answer(r -> new MockResponse().setResponseCode(302).setHeader("Location", "/real.bin")));
      assertArrayEquals(slice(5000, 70_000), fetch(c, o, "/moved.bin", 5000, 70_000));
    }
  }

  @Test
  void aChunkedPartialAnswerIsReadThroughOkHttp() throws Exception {
    try (FakeOrigin o = new FakeOrigin(); OriginClient c = client(o, OriginConfig.builder())) {
      o.file("/f.bin", DATA, T);
      o.fault("/f.bin", Fault.answer(r -> new MockResponse().setResponseCode(206)
          .setHeader("Content-Range", "bytes 100-199/" + DATA.length).setChunkedBody(new Buffer().write(slice(100, 100)), 7))
          .on("GET"));
      assertArrayEquals(slice(100, 100), fetch(c, o, "/f.bin", 100, 100));
    }
  }

  @Test
  void aConnectionTheServerClosedIsReplacedTransparently() throws Exception {
    try (FakeOrigin o = new FakeOrigin(); OriginClient c = client(o, OriginConfig.builder().retries(1))) {
      o.file("/f.bin", DATA, T);
      int[] calls = {0};
      o.fault("/f.bin", Fault.answer(r -> calls[0]++ == 0
          ? new MockResponse().setResponseCode(206).setHeader("Content-Range", "bytes 0-99/" + DATA.length)
              .setBody(new Buffer().write(slice(0, 100))).setSocketPolicy(SocketPolicy.DISCONNECT_AT_END)
          : null));
      assertArrayEquals(slice(0, 100), fetch(c, o, "/f.bin", 0, 100));
      assertArrayEquals(slice(200, 100), fetch(c, o, "/f.bin", 200, 100));
      assertEquals(2, o.count("GET", "/f.bin"));
    }
  }

  @Test
  void anOriginThatNeverAnswersFailsWithinTheTimeout() throws Exception {
    OriginConfig.Builder b = OriginConfig.builder().timeout(Duration.ofSeconds(1)).retries(1);
    try (FakeOrigin o = new FakeOrigin(); OriginClient c = client(o, b)) {
      o.file("/f.bin", DATA, T);
      o.fault("/*", Fault.answer(r -> new MockResponse().setSocketPolicy(SocketPolicy.NO_RESPONSE)));
      OriginException e = assertTimeoutPreemptively(Duration.ofSeconds(15),
          () -> assertThrows(OriginException.class, () -> fetch(c, o, "/f.bin", 0, 100)));
      assertTrue(e.getMessage().contains("gave up") || e.getMessage().contains("timeout")
          || e.getMessage().contains("no answer"), e.getMessage());
    }
  }

  @Test
  void thePlainCaseIsHandledByTheFastPathAndTheRestIsLeftToOkHttp() throws Exception {
    try (FakeOrigin o = new FakeOrigin()) {
      o.file("/f.bin", DATA, T);
      o.fault("/moved.bin", Fault.answer(r -> new MockResponse().setResponseCode(302).setHeader("Location", "/f.bin")));
      try (PlainRangeFetch fast = PlainRangeFetch.forOrigin(OriginConfig.builder().build(), o.url("/"), null)) {
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocateDirect(64 << 10);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PlainRangeFetch.Answer a = fast.fetch(o.url("/f.bin"), 1000, 200_999, new FileVersion(DATA.length, null, T), (at, b) -> {
          byte[] segment = new byte[b.remaining()];
          b.get(segment);
          out.write(segment, 0, segment.length);
        }, buf);
        assertTrue(a.handled());
        assertEquals(T, a.lastModified());
        assertArrayEquals(slice(1000, 200_000), out.toByteArray());
        assertEquals(PlainRangeFetch.NOT_HANDLED, fast.fetch(o.url("/moved.bin"), 0, 9, new FileVersion(DATA.length, null, T), (at, b) -> {
          throw new AssertionError("no byte of an unhandled answer is handed over");
        }, buf));
      }
    }
  }

  @Test
  void anOriginThatIgnoresRangeIsReadByTheFastPathInOneRequestPerFetch() throws Exception {
    try (FakeOrigin o = new FakeOrigin(); OriginClient c = client(o, OriginConfig.builder())) {
      o.file("/f.bin", DATA, T);
      o.fault("/f.bin", Fault.ignoreRange().on("GET"));
      for (int i = 0; i < PlainRangeFetch.MAX_MISSES + 3; i++) {
        assertArrayEquals(slice(i * 1000L, 100), fetch(c, o, "/f.bin", i * 1000L, 100));
      }
      assertEquals(PlainRangeFetch.MAX_MISSES + 3, o.count("GET", "/f.bin"), "no request is asked twice");
      assertEquals(PlainRangeFetch.MAX_MISSES + 2, o.lastRequest().getSequenceNumber(),
          "all over one kept-alive connection: the fast path read every whole-file answer");
    }
  }

  /** An origin that answers every range request in full, on kept-alive connections it counts. */
  private static ScriptedOrigin rangeOrigin() throws Exception {
    return new ScriptedOrigin((r, out) -> {
      long[] range = r.range(DATA.length);
      ScriptedOrigin.partial(out, DATA, range[0], range[1], "", Long.MAX_VALUE);
    });
  }

  private static byte[] fetch(OriginClient c, HttpUrl url, long off, int len) throws Exception {
    byte[] got = new byte[len];
    c.fetchRange(url, off, len, new FileVersion(DATA.length, null, null),
        (at, buf) -> buf.get(got, (int) (at - off), buf.remaining()));
    return got;
  }

  private static void await(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (!condition.getAsBoolean()) {
      assertTrue(System.nanoTime() < deadline, "within 10 s: " + what);
      Thread.sleep(5);
    }
  }

  @Test
  void aFirstRangeRequestGoesOverAConnectionOpenedAhead() throws Exception {
    try (ScriptedOrigin o = rangeOrigin();
        OriginClient c = new OriginClient(OriginConfig.builder().build(), o.url("/"), d -> {}, Clock.systemUTC())) {
      c.warmConnections();
      await(() -> c.idleRangeConnections() == OriginClient.CONNECTIONS_AHEAD, "connections opened ahead");
      // the client's connect returns once the kernel queued the connection, maybe before the server's accept
      await(() -> o.connectionCount() == OriginClient.CONNECTIONS_AHEAD, "the origin accepted them");
      assertArrayEquals(slice(5000, 1000), fetch(c, o.url("/f.bin"), 5000, 1000));
      assertEquals(OriginClient.CONNECTIONS_AHEAD, o.connectionCount(), "the request took a connection opened ahead");
      c.warmConnections();
      Thread.sleep(100);
      assertEquals(OriginClient.CONNECTIONS_AHEAD, o.connectionCount(), "nothing more is opened while enough are idle");
    }
  }

  @Test
  void connectionsOpenedAheadThatTheServerClosedAreReplaced() throws Exception {
    try (ScriptedOrigin o = rangeOrigin();
        OriginClient c = new OriginClient(OriginConfig.builder().build(), o.url("/"), d -> {}, Clock.systemUTC())) {
      c.warmConnections();
      await(() -> c.idleRangeConnections() == 2, "two connections opened ahead");
      o.closeConnection(0);
      o.closeConnection(1);
      Thread.sleep(1100); // idle connections are checked at most once a second
      c.warmConnections();
      await(() -> o.connectionCount() == 4 && c.idleRangeConnections() == 2, "two new connections in place of the closed ones");
      assertArrayEquals(slice(0, 1000), fetch(c, o.url("/f.bin"), 0, 1000));
      assertEquals(4, o.connectionCount(), "the request took a live connection");
      assertEquals(1, o.requests().size(), "and no request was lost on a closed one");
    }
  }
}
