package dev.lazydir.origin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.util.concurrent.TimeUnit;
import okhttp3.mockwebserver.MockResponse;
import okhttp3.mockwebserver.MockWebServer;
import org.junit.jupiter.api.Test;

/**
 * The daemon lists further ahead over a network than on the same machine, judged by how long the origin takes to
 * answer: the estimate must tell a loopback origin (under the 5 ms the daemon uses as its line, also on a busy
 * machine) from one whose answers take 60 ms, and follow an origin that slows down.
 */
class RoundTripEstimateFollowsTheOriginsAnswerTimesTest {
  private static final String LISTING = "<html><body><a href=\"a.txt\">a.txt</a></body></html>";

  private static MockResponse listing(long delayMillis) {
    return new MockResponse().setHeader("Content-Type", "text/html").setBody(LISTING)
        .setHeadersDelay(delayMillis, TimeUnit.MILLISECONDS);
  }

  @Test
  void aLoopbackOriginIsFastAndASlowOneIsSeenAsSlow() throws Exception {
    try (MockWebServer server = new MockWebServer()) {
      for (int i = 0; i < 5; i++) {
        server.enqueue(listing(0));
      }
      for (int i = 0; i < 8; i++) {
        server.enqueue(listing(60));
      }
      server.start();
      try (OriginClient c = new OriginClient(OriginConfig.builder().build(), server.url("/"), d -> {}, Clock.systemUTC())) {
        assertEquals(0, c.roundTripMillis(), "no estimate before the first answer");
        for (int i = 0; i < 5; i++) {
          c.fetchPage(server.url("/d" + i + "/"));
        }
        assertTrue(c.roundTripMillis() < 5, "loopback answers: " + c.roundTripMillis() + " ms");
        for (int i = 0; i < 8; i++) {
          c.fetchPage(server.url("/s" + i + "/"));
        }
        assertTrue(c.roundTripMillis() >= 60, "answers after 60 ms: " + c.roundTripMillis() + " ms");
      }
    }
  }
}
