package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.testing.FakeOrigin;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * serve --metrics-addr: a Prometheus scrape during a read shows the bytes fetched and the events answered
 * growing, and afterwards the cache, the file states, the answer latency and the denials by errno.
 */
class MetricsEndpointTest {
  static final int MIB = 1 << 20;
  static final Instant T = Instant.parse("2024-06-01T12:34:56Z");

  @TempDir Path tmp;

  @Test
  void aScrapeDuringAReadShowsBytesAndEventsGrowingAndAfterItTheCacheAndTheDenials() throws Exception {
    try (FakeOrigin origin = new FakeOrigin(); ServeBed bed = new ServeBed(tmp, "128M")) {
      byte[] big = DaemonDeathTest.bytes(6 * MIB, 7);
      origin.file("/data/big.bin", big, T).file("/data/broken.bin", "x".repeat(1000), T)
          .throttle("/data/big.bin", 256 << 10, 100); // 2.5 MiB/s: the read takes seconds
      origin.fault("/data/broken.bin", FakeOrigin.Fault.status(500).on("GET"));
      bed.serve(origin.url("/").toString(), "--metrics-addr", "127.0.0.1:0", "--dl-seg-size", "1",
          "--readahead", "0", "--prefetch-small", "0");
      URI endpoint = URI.create(Files.readString(bed.root.resolve("daemon-0.err")).lines()
          .filter(l -> l.startsWith("metrics at ")).findFirst().orElseThrow().substring("metrics at ".length()));
      assertEquals("127.0.0.1", endpoint.getHost(), "loopback unless told otherwise");
      HttpClient http = HttpClient.newHttpClient();

      Process reader = new ProcessBuilder("cat", bed.view.resolve("data/big.bin").toString())
          .redirectOutput(tmp.resolve("out").toFile()).start();
      String before = scrape(http, endpoint);
      Thread.sleep(700);
      String during = scrape(http, endpoint);
      assertTrue(reader.isAlive(), "the second scrape came while the read went on");
      assertTrue(value(during, "lazydir_fetched_bytes_total") > value(before, "lazydir_fetched_bytes_total"),
          "bytes fetched grow during the read:\n" + before + "\n---\n" + during);
      assertTrue(value(during, "lazydir_events_total") > value(before, "lazydir_events_total"),
          "events answered grow during the read");
      assertTrue(reader.waitFor(60, TimeUnit.SECONDS));
      assertEquals(0, reader.exitValue());

      assertTrue(ServeBed.run(30, "cat", bed.view.resolve("data/broken.bin").toString()).exit() != 0);
      String after = scrape(http, endpoint);
      for (int i = 0; i < 20 && value(after, "lazydir_cache_bytes") < 6.0 * MIB; i++) {
        Thread.sleep(250); // the cache counts what is recorded on disk: the maps are recorded once a second
        after = scrape(http, endpoint);
      }
      assertEquals(6.0 * MIB, value(after, "lazydir_fetched_bytes_total"), after);
      assertEquals(6.0 * MIB, value(after, "lazydir_cache_bytes"), "the cache holds the file once its map is recorded");
      assertEquals(1.0, value(after, "lazydir_files{state=\"populated\"}"));
      assertEquals(1.0, value(after, "lazydir_denials_total{errno=\"EIO\"}"), after);
      assertTrue(value(after, "lazydir_event_answer_seconds_count{event=\"pre_access\"}") >= 6, after);
      assertTrue(value(after, "lazydir_origin_requests_total") >= 7, after);
      assertTrue(value(after, "lazydir_listings_total") >= 1, after);

      HttpResponse<String> other = http.send(HttpRequest.newBuilder(endpoint.resolve("/")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(404, other.statusCode());
    }
  }

  @Test
  void theAddressIsLoopbackUnlessAHostIsGivenAndBadOnesAreRefusedWithOneSentence() {
    assertEquals("127.0.0.1", MetricsEndpoint.parseAddress("9108").getHostString());
    assertEquals(9108, MetricsEndpoint.parseAddress(":9108").getPort());
    assertEquals("127.0.0.1", MetricsEndpoint.parseAddress(":9108").getHostString());
    assertEquals("0.0.0.0", MetricsEndpoint.parseAddress("0.0.0.0:9108").getHostString());
    assertEquals(9108, MetricsEndpoint.parseAddress("[::1]:9108").getPort());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> MetricsEndpoint.parseAddress("localhost:http"));
    assertEquals("--metrics-addr localhost:http: expected HOST:PORT or PORT (a port from 0 to 65535), for example"
        + " --metrics-addr 127.0.0.1:9108", e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> MetricsEndpoint.parseAddress("70000"));
  }

  /** One scrape; the counters are re-read from it. The cache gauge follows the once-a-second map record. */
  static String scrape(HttpClient http, URI endpoint) throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(endpoint).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode());
    assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain; version=0.0.4"));
    return r.body();
  }

  static double value(String exposition, String series) {
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)$").matcher(exposition);
    return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
  }
}
