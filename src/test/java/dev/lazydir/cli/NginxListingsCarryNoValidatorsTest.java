package dev.lazydir.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.lazydir.crawl.CrawlReport;
import dev.lazydir.crawl.Crawler;
import dev.lazydir.crawl.Progress;
import dev.lazydir.origin.OriginClient;
import dev.lazydir.origin.OriginConfig;
import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import okhttp3.HttpUrl;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Fact (nginx 1.22, Debian; the package .ci/run installs): autoindex listings, in every format, carry no ETag and
 * no Last-Modified, and nginx answers a conditional request for one with the whole listing (200), never 304. So
 * a listing from nginx is transferred again at each refresh; what lazydir saves is the rest: the same bytes as
 * the listing applied last are not parsed and no entry is looked at (here: a second crawl parses nothing).
 */
class NginxListingsCarryNoValidatorsTest {
  @TempDir Path tmp;

  @ParameterizedTest
  @ValueSource(strings = {"nginx", "nginx-json", "nginx-xml"})
  void nginxSendsNoValidatorsWithAListingAndAnswersAConditionalRequestInFull(String kind) throws Exception {
    for (Path p = tmp; p != null && p.startsWith("/tmp") && !p.equals(Path.of("/tmp")); p = p.getParent()) {
      Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
    Path tree = tmp.resolve("tree");
    Files.createDirectories(tree.resolve("sub"));
    Files.writeString(tree.resolve("a.txt"), "a");
    Files.writeString(tree.resolve("sub/b.txt"), "bb");
    int port = freePort();
    Path work = tmp.resolve("work");
    run("bash", "test-fixtures/servers/serve.sh", kind, tree.toString(), Integer.toString(port), work.toString());
    try {
      HttpURLConnection plain = (HttpURLConnection) new URL("http://127.0.0.1:" + port + "/").openConnection();
      assertEquals(200, plain.getResponseCode());
      assertNull(plain.getHeaderField("ETag"), kind + ": no ETag on a listing");
      assertNull(plain.getHeaderField("Last-Modified"), kind + ": no Last-Modified on a listing");
      plain.getInputStream().readAllBytes();

      HttpURLConnection conditional = (HttpURLConnection) new URL("http://127.0.0.1:" + port + "/").openConnection();
      conditional.setRequestProperty("If-None-Match", "*");
      conditional.setRequestProperty("If-Modified-Since", "Fri, 01 Jan 2100 00:00:00 GMT");
      assertEquals(200, conditional.getResponseCode(), kind + ": a conditional request gets the whole listing");
      conditional.getInputStream().readAllBytes();

      HttpUrl url = HttpUrl.get("http://127.0.0.1:" + port + "/");
      Path dir = tmp.resolve("dir");
      assertEquals(2, crawl(url, dir)[0], "the first crawl parses both listings");
      long[] again = crawl(url, dir);
      assertEquals(0, again[0], "the second crawl parses none: the same bytes again");
      assertEquals(2, again[1]);
    } finally {
      run("bash", "test-fixtures/servers/stop.sh", work.toString());
    }
  }

  /** Listings parsed, and listings found unchanged. */
  private static long[] crawl(HttpUrl url, Path dir) throws IOException {
    OriginConfig config = OriginConfig.builder().retries(1).retryWait(Duration.ZERO).timeout(Duration.ofSeconds(10))
        .maxConns(2).build();
    try (OriginClient client = new OriginClient(config, url, d -> {}, Clock.systemUTC());
        Crawler crawler = new Crawler(client, Integer.MAX_VALUE, 2, Progress.NONE, Clock.systemUTC())) {
      CrawlReport report = crawler.crawl(url, dir);
      return new long[] {crawler.listingsParsed(), report.listingsUnchanged()};
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private static void run(String... command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      p.destroyForcibly();
      throw new IOException(String.join(" ", command) + " failed:\n" + output);
    }
  }
}
