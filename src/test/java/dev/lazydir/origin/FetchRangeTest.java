package dev.lazydir.origin;

import dev.lazydir.testing.FakeOrigin.Fault;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.testing.FakeOrigin;
import dev.lazydir.testing.ScriptedOrigin;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import okhttp3.HttpUrl;
import okhttp3.mockwebserver.MockResponse;
import okhttp3.mockwebserver.SocketPolicy;
import okio.Buffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Range fetches give exactly the origin's bytes of the file the stub describes, or an error: never others. */
class FetchRangeTest {
  static final Instant T = Instant.parse("2024-03-05T06:07:08Z");
  static final Instant T2 = Instant.parse("2024-03-05T07:00:00Z");
  static final byte[] DATA = new byte[3 << 20];
  static final byte[] NEW = new byte[DATA.length];

  static {
    new Random(1).nextBytes(DATA);
    new Random(11).nextBytes(NEW);
  }

  /** Which of the two fetch paths the client takes: lazydir's plain-HTTP fast path, or OkHttp. */
  enum Through { FAST_PATH, OKHTTP }

  private static OriginClient client(FakeOrigin origin) throws Exception {
    return client(origin.url("/"), OriginConfig.builder());
  }

  private static OriginClient client(FakeOrigin origin, Through through) throws Exception {
    return client(through == Through.FAST_PATH ? origin.url("/") : origin.rootByAnotherName(), OriginConfig.builder());
  }

  private static OriginClient client(HttpUrl root, OriginConfig.Builder b) throws Exception {
    return new OriginClient(b.retries(3).retryWait(Duration.ZERO).build(), root, d -> {}, Clock.systemUTC());
  }

  /** Bytes handed over, by offset in the file (unhanded ones stay 0), checking they come in order. */
  private static byte[] handed(OriginClient c, HttpUrl url, long off, long len, FileVersion version, long[] count)
      throws Exception {
    byte[] file = new byte[(int) version.size()];
    long[] next = {-1};
    c.fetchRange(url, off, len, version, (at, buf) -> {
      assertTrue(at == next[0] || at == off || at == 0, "bytes arrive in order: " + at + " after " + next[0]);
      count[0] += buf.remaining();
      next[0] = at + buf.remaining();
      buf.get(file, (int) at, buf.remaining());
    });
    return file;
  }

  private static byte[] fetch(OriginClient c, FakeOrigin o, long off, long len, FileVersion version) throws Exception {
    byte[] file = handed(c, o.url("/f.bin"), off, len, version, new long[1]);
    return Arrays.copyOfRange(file, (int) off, (int) (off + len));
  }

  @Test
  void rangeGivesExactlyThoseBytes() throws Exception {
    try (FakeOrigin o = new FakeOrigin(); OriginClient c = client(o)) {
      o.file("/f.bin", DATA, T);
      assertArrayEquals(Arrays.copyOfRange(DATA, 1000, 1000 + 70000),
          fetch(c, o, 1000, 70000, new FileVersion(DATA.length, null, T)));
    }
  }

  @ParameterizedTest(name = "through {0}")
  @EnumSource(Through.class)
  void serverIgnoringRangeHandsOverTheWholeFileFromOneRequest(Through through) throws Exception {
    try (FakeOrigin o = new FakeOrigin(); OriginClient c = client(o, through)) {
      o.file("/f.bin", DATA, T).fault("/f.bin", Fault.ignoreRange());
      long[] count = {0};
      byte[] file = handed(c, o.url("/f.bin"), 2 << 20, 500, new FileVersion(DATA.length, null, T), count);
      assertArrayEquals(DATA, file, "every byte of the body, from offset 0, at its offset");
      assertEquals(DATA.length, count[0]);
      assertEquals(1, o.count("GET", "/f.bin"), "one request, read to the end");
    }
  }

  @ParameterizedTest(name = "through {0}")
  @EnumSource(Through.class)
  void fileThatChangedSizeIsAnErrorNotNewBytes(Through through) throws Exception {
    try (FakeOrigin o = new FakeOrigin(); OriginClient c = client(o, through)) {
      o.file("/f.bin", DATA, T);
      OriginException e = assertThrows(OriginException.class,
          () -> fetch(c, o, 0, 100, new FileVersion(DATA.length + 1, null, null)));
      assertTrue(e.getMessage().contains("changed at the origin"), e.getMessage());
    }
  }

  @Test
  void fileWithAnotherEtagOnAFullAnswerIsAnError() throws Exception {
    try (FakeOrigin o = new FakeOrigin(); OriginClient c = client(o)) {
      o.file("/f.bin", DATA, T);
      o.fault("/f.bin", Fault.answer(r -> new MockResponse().setBody(new Buffer().write(DATA))
          .setHeader("ETag", "\"new\"")).on("GET"));
      OriginException e = assertThrows(OriginException.class,
          () -> fetch(c, o, 10, 100, new FileVersion(DATA.length, "\"old\"", T)));
      assertTrue(e.getMessage().contains("changed at the origin"), e.getMessage());
      assertEquals("\"old\"", o.lastRequest().getHeader("If-Range"), "the validator is sent as If-Range");
    }
  }

  /** The case from a real test: the file was replaced (same size) and the origin ignored If-Range. */
  @ParameterizedTest(name = "through {0}")
  @EnumSource(Through.class)
  void aRangeOfANewerVersionIsRefusedWhenTheOriginIgnoresIfRange(Through through) throws Exception {
    try (FakeOrigin o = new FakeOrigin(); OriginClient c = client(o, through)) {
      o.file("/f.bin", NEW, T2);
      long[] count = {0};
      OriginException e = assertThrows(OriginException.class,
          () -> handed(c, o.url("/f.bin"), 1 << 20, 1 << 20, new FileVersion(DATA.length, "\"old\"", T), count));
      assertTrue(e.getMessage().contains("changed at the origin (ETag"), e.getMessage());
      assertEquals(0, count[0], "no byte of the other version is handed over");
      assertEquals("\"old\"", o.lastRequest().getHeader("If-Range"));
    }
  }

  @ParameterizedTest(name = "through {0}")
  @EnumSource(Through.class)
  void aNewLastModifiedIsRefusedWhereNoEtagWasKnown(Through through) throws Exception {
    try (FakeOrigin o = new FakeOrigin(); OriginClient c = client(o, through)) {
      o.file("/f.bin", NEW, T2);
      long[] count = {0};
      OriginException e = assertThrows(OriginException.class,
          () -> handed(c, o.url("/f.bin"), 0, 1000, new FileVersion(DATA.length, null, T), count));
      assertTrue(e.getMessage().contains("changed at the origin (Last-Modified"), e.getMessage());
      assertEquals(0, count[0]);
    }
  }

  @ParameterizedTest(name = "through {0}")
  @EnumSource(Through.class)
  void theFirstAnswersValidatorsBindEveryLaterAnswerOfTheFill(Through through) throws Exception {
    try (FakeOrigin o = new FakeOrigin(); OriginClient c = client(o, through)) {
      o.file("/f.bin", DATA, T);
      FileVersion version = new FileVersion(DATA.length, null, null); // a listing gave neither ETag nor seconds
      assertArrayEquals(Arrays.copyOfRange(DATA, 0, 1000), fetch(c, o, 0, 1000, version));
      o.file("/f.bin", NEW, T2);
      long[] count = {0};
      OriginException e = assertThrows(OriginException.class,
          () -> handed(c, o.url("/f.bin"), 1000, 1000, version, count));
      assertTrue(e.getMessage().contains("changed at the origin"), e.getMessage());
      assertEquals(0, count[0]);
    }
  }

  @ParameterizedTest(name = "through {0}")
  @EnumSource(Through.class)
  void anOriginGivingANewVersionOnEveryRequestFailsTheSecondFetch(Through through) throws Exception {
    try (FakeOrigin o = new FakeOrigin(); OriginClient c = client(o, through)) {
      o.file("/f.bin", DATA, T);
      o.fault("/f.bin", Fault.newVersionPerRequest().on("GET"));
      FileVersion version = new FileVersion(DATA.length, null, null);
      fetch(c, o, 0, 1000, version);
      OriginException e = assertThrows(OriginException.class, () -> fetch(c, o, 1000, 1000, version));
      assertTrue(e.getMessage().contains("ETag \"v2\", expected \"v1\""), e.getMessage());
    }
  }

  @Test
  void connectionLostMidBodyResumesWhereItStopped() throws Exception {
    try (FakeOrigin o = new FakeOrigin(); OriginClient c = client(o)) {
      o.file("/f.bin", DATA, T);
      int[] calls = {0};
      o.fault("/f.bin", Fault.answer(r -> {
        if (r.getMethod().equals("GET") && calls[0]++ == 0) {
          return new MockResponse().setResponseCode(206).setHeader("Content-Range", "bytes 0-" + (DATA.length - 1) + "/" + DATA.length)
              .setBody(new Buffer().write(DATA)).setSocketPolicy(SocketPolicy.DISCONNECT_DURING_RESPONSE_BODY);
        }
        return null;
      }));
      assertArrayEquals(DATA, fetch(c, o, 0, DATA.length, new FileVersion(DATA.length, null, T)));
      assertEquals(2, o.count("GET", "/f.bin"), "one resume request");
    }
  }

  /** Answers every range; the first answer stops after 1000 body bytes and stays silent until released. */
  private static ScriptedOrigin stallingOnce(CountDownLatch release) throws Exception {
    return new ScriptedOrigin((r, out) -> {
      long[] range = r.range(DATA.length);
      ScriptedOrigin.partial(out, DATA, range[0], range[1], "", r.index() == 0 ? 1000 : Long.MAX_VALUE);
      if (r.index() == 0) {
        release.await();
      }
    });
  }

  @ParameterizedTest(name = "through {0}")
  @EnumSource(Through.class)
  void aBodyThatStallsIsResumedOnAFreshConnection(Through through) throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    try (ScriptedOrigin o = stallingOnce(release)) {
      // --timeout is an hour: only the stall timeout can end the silent answer.
      OriginConfig.Builder b = OriginConfig.builder().timeout(Duration.ofHours(1)).stallTimeout(Duration.ofMillis(200));
      try (OriginClient c = client(through == Through.FAST_PATH ? o.url("/") : o.otherNameUrl("/"), b)) {
        byte[] file = assertTimeoutPreemptively(Duration.ofSeconds(30),
            () -> handed(c, o.url("/f.bin"), 0, 200_000, new FileVersion(DATA.length, null, null), new long[1]));
        assertArrayEquals(Arrays.copyOfRange(DATA, 0, 200_000), Arrays.copyOfRange(file, 0, 200_000));
        assertEquals(2, o.requests().size());
        assertEquals("bytes=1000-199999", o.requests().get(1).headers().get("range"), "resumed after the bytes it had");
        assertNotEquals(o.requests().get(0).connection(), o.requests().get(1).connection(), "on a fresh connection");
      }
    } finally {
      release.countDown();
    }
  }

  @Test
  void aBodyThatKeepsStallingFailsAfterTheRetries() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    try (ScriptedOrigin o = new ScriptedOrigin((r, out) -> {
      long[] range = r.range(DATA.length);
      ScriptedOrigin.partial(out, DATA, range[0], range[1], "", 10);
      release.await();
    })) {
      OriginConfig.Builder b = OriginConfig.builder().timeout(Duration.ofHours(1)).stallTimeout(Duration.ofMillis(100));
      try (OriginClient c = client(o.url("/"), b)) {
        OriginException e = assertTimeoutPreemptively(Duration.ofSeconds(30), () -> assertThrows(OriginException.class,
            () -> handed(c, o.url("/f.bin"), 0, 100_000, new FileVersion(DATA.length, null, null), new long[1])));
        assertTrue(e.getMessage().contains("gave up after 3 tries"), e.getMessage());
        assertEquals(3, o.requests().size());
      }
    } finally {
      release.countDown();
    }
  }

  @Test
  void aZeroStallTimeoutIsRefused() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> OriginConfig.builder().stallTimeout(Duration.ZERO).build());
    assertTrue(e.getMessage().contains("--stall-timeout"), e.getMessage());
  }
}
