package dev.lazydir.origin;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.testing.FakeOrigin;
import dev.lazydir.testing.FakeOrigin.Fault;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Random;
import okhttp3.HttpUrl;
import okhttp3.mockwebserver.RecordedRequest;
import org.junit.jupiter.api.Test;

/**
 * With {@code --mirror}, a request the origin cannot answer is answered by a mirror holding the same tree, and a
 * server that lies (another version, wrong bytes) is passed over; the origin's own answer stays the truth.
 */
class MirrorFailoverTest {
  static final Instant T = Instant.parse("2024-03-05T06:07:08Z");
  static final Instant T2 = Instant.parse("2024-03-05T07:00:00Z");
  static final byte[] DATA = new byte[1 << 20];
  static final byte[] OTHER = new byte[DATA.length];

  static {
    new Random(1).nextBytes(DATA);
    new Random(2).nextBytes(OTHER);
  }

  /** A clock the test moves. */
  static final class TestClock extends Clock {
    Instant now = T;

    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }

  private static OriginClient client(FakeOrigin origin, Clock clock, FakeOrigin... mirrors) throws Exception {
    OriginConfig.Builder b = OriginConfig.builder().retries(2).retryWait(Duration.ZERO);
    for (FakeOrigin m : mirrors) {
      b.mirror(m.url("/tree/"));
    }
    return new OriginClient(b.build(), origin.url("/tree/"), d -> {}, clock);
  }

  private static byte[] read(OriginClient c, FakeOrigin origin, FileVersion version) throws Exception {
    byte[] got = new byte[(int) version.size()];
    c.fetchRange(origin.url("/tree/f.bin"), 0, got.length, version, (at, buf) -> buf.get(got, (int) at, buf.remaining()));
    return got;
  }

  private static long filesAsked(FakeOrigin o) {
    return o.requests().stream().map(RecordedRequest::getPath).filter(p -> p.equals("/tree/f.bin")).count();
  }

  @Test
  void aFileTheOriginCannotServeComesFromAMirrorWithTheOriginsBytes() throws Exception {
    try (FakeOrigin origin = new FakeOrigin(); FakeOrigin mirror = new FakeOrigin().etagsOfItsOwn("m-");
        OriginClient c = client(origin, Clock.systemUTC(), mirror)) {
      origin.file("/tree/f.bin", DATA, T).fault("/tree/f.bin", Fault.status(503));
      mirror.file("/tree/f.bin", DATA, T);
      // The ETag the origin listed it with: the mirror's differs, so its Last-Modified proves the version.
      FileVersion version = new FileVersion(DATA.length, "\"" + Integer.toHexString(java.util.Arrays.hashCode(DATA))
          + "-" + T.getEpochSecond() + "\"", T);
      assertArrayEquals(DATA, read(c, origin, version));
      assertTrue(filesAsked(mirror) >= 1, "the mirror was asked");
    }
  }

  @Test
  void aMirrorServingAnotherVersionIsPassedOverForTheNext() throws Exception {
    try (FakeOrigin origin = new FakeOrigin(); FakeOrigin stale = new FakeOrigin(); FakeOrigin good = new FakeOrigin();
        OriginClient c = client(origin, Clock.systemUTC(), stale, good)) {
      origin.file("/tree/f.bin", DATA, T).fault("/tree/f.bin", Fault.status(503));
      stale.file("/tree/f.bin", OTHER, T2); // same size, another version
      good.file("/tree/f.bin", DATA, T);
      assertArrayEquals(DATA, read(c, origin, new FileVersion(DATA.length, null, T)));
      assertEquals(1, filesAsked(stale), "the stale mirror was asked once, and none of its bytes kept");
    }
  }

  @Test
  void aMirrorThatCannotProveItsVersionIsNotBelieved() throws Exception {
    try (FakeOrigin origin = new FakeOrigin(); FakeOrigin mirror = new FakeOrigin().etagsOfItsOwn("m-");
        OriginClient c = client(origin, Clock.systemUTC(), mirror)) {
      origin.file("/tree/f.bin", DATA, T).fault("/tree/f.bin", Fault.status(503));
      // The mirror's answer carries no Last-Modified: nothing proves it is the version the origin listed.
      mirror.fault("/tree/f.bin", Fault.answer(r -> new okhttp3.mockwebserver.MockResponse().setResponseCode(206)
          .setHeader("Content-Range", "bytes 0-" + (DATA.length - 1) + "/" + DATA.length)
          .setBody(new okio.Buffer().write(OTHER))));
      FileVersion version = new FileVersion(DATA.length, "\"origin-etag\"", T);
      assertThrows(OriginException.class, () -> read(c, origin, version));
    }
  }

  @Test
  void theOriginsNewVersionIsNotHiddenByAMirrorStillServingTheOldOne() throws Exception {
    try (FakeOrigin origin = new FakeOrigin(); FakeOrigin mirror = new FakeOrigin();
        OriginClient c = client(origin, Clock.systemUTC(), mirror)) {
      origin.file("/tree/f.bin", OTHER, T2);
      mirror.file("/tree/f.bin", DATA, T);
      assertThrows(VersionChangedException.class, () -> read(c, origin, new FileVersion(DATA.length, null, T)));
      assertEquals(0, filesAsked(mirror), "the origin's answer stands");
    }
  }

  @Test
  void aServerThatFailedIsTriedLastUntilItsTimeIsUp() throws Exception {
    TestClock clock = new TestClock();
    try (FakeOrigin origin = new FakeOrigin(); FakeOrigin mirror = new FakeOrigin();
        OriginClient c = client(origin, clock, mirror)) {
      origin.file("/tree/f.bin", DATA, T);
      mirror.file("/tree/f.bin", DATA, T);
      origin.fault("/tree/f.bin", Fault.status(503));
      assertArrayEquals(DATA, read(c, origin, new FileVersion(DATA.length, null, T)));
      long originAsked = filesAsked(origin);

      origin.fault("/tree/f.bin", null); // back, but not tried first yet
      assertArrayEquals(DATA, read(c, origin, new FileVersion(DATA.length, null, T)));
      assertEquals(originAsked, filesAsked(origin), "a server that just failed is not asked first");

      clock.now = clock.now.plus(Servers.DOWN_FOR).plusSeconds(1);
      long mirrorAsked = filesAsked(mirror);
      assertArrayEquals(DATA, read(c, origin, new FileVersion(DATA.length, null, T)));
      assertEquals(mirrorAsked, filesAsked(mirror), "once its time is up, the origin is first again");
    }
  }

  @Test
  void aServerThatSentWrongBytesIsAskedLastForThatFile() throws Exception {
    try (FakeOrigin origin = new FakeOrigin(); FakeOrigin mirror = new FakeOrigin();
        OriginClient c = client(origin, Clock.systemUTC(), mirror)) {
      origin.file("/tree/f.bin", DATA, T);
      mirror.file("/tree/f.bin", DATA, T);
      FileVersion version = FileVersion.pinnedByDigests(DATA.length);
      assertThrows(WrongBytesException.class, () -> c.fetchRange(origin.url("/tree/f.bin"), 0, DATA.length, version,
          (at, buf) -> {
            throw new WrongBytesException("bytes at " + at + " do not match");
          }));
      assertEquals(0, filesAsked(mirror));
      assertArrayEquals(DATA, read(c, origin, version));
      assertEquals(1, filesAsked(mirror), "the fetch again asks the mirror first");
    }
  }

  @Test
  void aListingTheOriginCannotServeComesFromAMirrorNamedAsTheOriginNamesIt() throws Exception {
    try (FakeOrigin origin = new FakeOrigin(); FakeOrigin mirror = new FakeOrigin();
        OriginClient c = client(origin, Clock.systemUTC(), mirror)) {
      origin.file("/tree/d/a.txt", "a", T).fault("/tree/d/", Fault.status(502));
      mirror.file("/tree/d/a.txt", "a", T);
      HttpUrl dir = origin.url("/tree/d/");
      Page page = c.fetchPage(dir);
      assertTrue(page.html());
      assertEquals(dir, page.finalUrl(), "links in the page resolve under the origin's tree");
      assertNull(page.file().etag(), "a mirror's ETag is not the origin's");
    }
  }

  @Test
  void aMirrorIsNeverSentTheOriginsETag() throws Exception {
    try (FakeOrigin origin = new FakeOrigin(); FakeOrigin mirror = new FakeOrigin();
        OriginClient c = client(origin, Clock.systemUTC(), mirror)) {
      origin.file("/tree/d/a.txt", "a", T).fault("/tree/d/", Fault.status(502));
      mirror.file("/tree/d/a.txt", "a", T);
      assertTrue(c.fetchPageIfChanged(origin.url("/tree/d/"), "\"origin-etag\"", T).isPresent());
      RecordedRequest asked = mirror.requests().stream().filter(r -> r.getPath().equals("/tree/d/")).findFirst()
          .orElseThrow();
      assertNull(asked.getHeader("If-None-Match"), "the origin's ETag means nothing to the mirror");
      assertTrue(asked.getHeader("If-Modified-Since") != null, "a time means the same everywhere");
      assertTrue(origin.requests().stream().anyMatch(r -> "\"origin-etag\"".equals(r.getHeader("If-None-Match"))),
          "the origin was asked with it");
    }
  }

  @Test
  void credentialsForTheOriginNeverGoToAMirror() throws Exception {
    try (FakeOrigin origin = new FakeOrigin(); FakeOrigin mirror = new FakeOrigin()) {
      OriginConfig config = OriginConfig.builder().retries(1).retryWait(Duration.ZERO).username("u").password("secret")
          .mirror(mirror.url("/tree/")).build();
      try (OriginClient c = new OriginClient(config, origin.url("/tree/"), d -> {}, Clock.systemUTC())) {
        origin.file("/tree/f.bin", DATA, T).fault("/tree/f.bin", Fault.status(503));
        mirror.file("/tree/f.bin", DATA, T);
        assertArrayEquals(DATA, read(c, origin, new FileVersion(DATA.length, null, T)));
        assertTrue(mirror.requests().stream().allMatch(r -> r.getHeader("Authorization") == null),
            "no Authorization header reached the mirror");
      }
    }
  }
}
