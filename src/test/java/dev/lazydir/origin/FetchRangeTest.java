package dev.lazydir.origin;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.testing.FakeOrigin;
import java.io.ByteArrayOutputStream;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Random;
import okhttp3.mockwebserver.MockResponse;
import okhttp3.mockwebserver.SocketPolicy;
import okio.Buffer;
import org.junit.jupiter.api.Test;

/** Range fetches give exactly the origin's bytes of the file the stub describes, or an error: never others. */
class FetchRangeTest {
  static final Instant T = Instant.parse("2024-03-05T06:07:08Z");
  static final byte[] DATA = new byte[3 << 20];

  static {
    new Random(1).nextBytes(DATA);
  }

  private static OriginClient client(FakeOrigin origin) throws Exception {
    OriginConfig config = OriginConfig.builder().retries(3).retryWait(Duration.ZERO).build();
    return new OriginClient(config, origin.url("/"), d -> {}, Clock.systemUTC());
  }

  private static byte[] fetch(OriginClient c, FakeOrigin o, long off, long len, long size, String etag) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    long[] next = {off};
    c.fetchRange(o.url("/f.bin"), off, len, size, etag, T, (at, buf) -> {
      assertEquals(next[0], at, "bytes arrive in order");
      byte[] chunk = new byte[buf.remaining()];
      buf.get(chunk);
      out.write(chunk, 0, chunk.length);
      next[0] += chunk.length;
    });
    return out.toByteArray();
  }

  @Test
  void rangeGivesExactlyThoseBytes() throws Exception {
    try (FakeOrigin o = new FakeOrigin(); OriginClient c = client(o)) {
      o.file("/f.bin", DATA, T);
      assertArrayEquals(Arrays.copyOfRange(DATA, 1000, 1000 + 70000), fetch(c, o, 1000, 70000, DATA.length, null));
    }
  }

  @Test
  void serverIgnoringRangeIsReadFromTheStartAndSkipped() throws Exception {
    try (FakeOrigin o = new FakeOrigin(); OriginClient c = client(o)) {
      o.file("/f.bin", DATA, T);
      o.override(r -> r.getMethod().equals("GET") ? new MockResponse().setBody(new Buffer().write(DATA))
          .setHeader("Last-Modified", "Tue, 05 Mar 2024 06:07:08 GMT") : null);
      assertArrayEquals(Arrays.copyOfRange(DATA, 2 << 20, (2 << 20) + 500), fetch(c, o, 2 << 20, 500, DATA.length, null));
    }
  }

  @Test
  void fileThatChangedSizeIsAnErrorNotNewBytes() throws Exception {
    try (FakeOrigin o = new FakeOrigin(); OriginClient c = client(o)) {
      o.file("/f.bin", DATA, T);
      OriginException e = assertThrows(OriginException.class, () -> fetch(c, o, 0, 100, DATA.length + 1, null));
      assertTrue(e.getMessage().contains("changed at the origin"), e.getMessage());
    }
  }

  @Test
  void fileWithAnotherEtagOnAFullAnswerIsAnError() throws Exception {
    try (FakeOrigin o = new FakeOrigin(); OriginClient c = client(o)) {
      o.file("/f.bin", DATA, T);
      o.override(r -> r.getMethod().equals("GET") ? new MockResponse().setBody(new Buffer().write(DATA))
          .setHeader("ETag", "\"new\"") : null);
      OriginException e = assertThrows(OriginException.class, () -> fetch(c, o, 10, 100, DATA.length, "\"old\""));
      assertTrue(e.getMessage().contains("changed at the origin"), e.getMessage());
      assertEquals("\"old\"", o.lastRequest().getHeader("If-Range"), "the validator is sent as If-Range");
    }
  }

  @Test
  void connectionLostMidBodyResumesWhereItStopped() throws Exception {
    try (FakeOrigin o = new FakeOrigin(); OriginClient c = client(o)) {
      o.file("/f.bin", DATA, T);
      int[] calls = {0};
      o.override(r -> {
        if (r.getMethod().equals("GET") && calls[0]++ == 0) {
          return new MockResponse().setResponseCode(206).setHeader("Content-Range", "bytes 0-" + (DATA.length - 1) + "/" + DATA.length)
              .setBody(new Buffer().write(DATA)).setSocketPolicy(SocketPolicy.DISCONNECT_DURING_RESPONSE_BODY);
        }
        return null;
      });
      assertArrayEquals(DATA, fetch(c, o, 0, DATA.length, DATA.length, null));
      assertEquals(2, o.count("GET", "/f.bin"), "one resume request");
    }
  }
}
