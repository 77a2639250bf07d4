package dev.lazydir.origin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.testing.Commands;
import java.io.FileInputStream;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import okhttp3.Protocol;
import okhttp3.mockwebserver.Dispatcher;
import okhttp3.mockwebserver.MockResponse;
import okhttp3.mockwebserver.MockWebServer;
import okhttp3.mockwebserver.RecordedRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Over TLS, an origin that offers HTTP/2 (ALPN) gets every request on one connection: listings of a crawl in
 * flight together share it, with no handshake per connection. Nothing in lazydir's client setup may turn that
 * off. The origin holds the first two listings until both have arrived, so they are in flight at once: on HTTP/1.1
 * they would need two connections (each the first request on its own), on HTTP/2 they are streams 1 and 2 of one.
 */
class ListingsOverTlsShareOneHttp2ConnectionTest {
  @TempDir Path tmp;

  @Test
  void twoListingsInFlightTogetherGoOverOneConnection() throws Exception {
    Path keystore = tmp.resolve("origin.p12");
    Path cert = tmp.resolve("origin.pem");
    keytool("-genkeypair", "-alias", "origin", "-keyalg", "EC", "-dname", "CN=localhost", "-ext", "san=dns:localhost,ip:127.0.0.1",
        "-validity", "2", "-storetype", "PKCS12", "-keystore", keystore.toString(), "-storepass", "secret");
    keytool("-exportcert", "-rfc", "-alias", "origin", "-keystore", keystore.toString(), "-storepass", "secret",
        "-file", cert.toString());
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (FileInputStream in = new FileInputStream(keystore.toFile())) {
      ks.load(in, "secret".toCharArray());
    }
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, "secret".toCharArray());
    SSLContext ssl = SSLContext.getInstance("TLS");
    ssl.init(kmf.getKeyManagers(), null, null);

    CountDownLatch bothArrived = new CountDownLatch(2);
    try (MockWebServer server = new MockWebServer()) {
      server.useHttps(ssl.getSocketFactory(), false);
      server.setProtocols(List.of(Protocol.HTTP_2, Protocol.HTTP_1_1));
      server.setDispatcher(new Dispatcher() {
        @Override
        public MockResponse dispatch(RecordedRequest request) throws InterruptedException {
          bothArrived.countDown();
          bothArrived.await(10, TimeUnit.SECONDS);
          return new MockResponse().setHeader("Content-Type", "text/html")
              .setBody("<html><body><a href=\"f.txt\">f.txt</a></body></html>");
        }
      });
      server.start();
      OriginConfig config = OriginConfig.builder().cacert(cert).build();
      ExecutorService two = Executors.newFixedThreadPool(2);
      try (OriginClient c = new OriginClient(config, server.url("/"), d -> {}, Clock.systemUTC())) {
        List<Future<Page>> pages = new ArrayList<>();
        for (String dir : List.of("/a/", "/b/")) {
          pages.add(two.submit(() -> c.fetchPage(server.url(dir))));
        }
        for (Future<Page> p : pages) {
          assertTrue(p.get(30, TimeUnit.SECONDS).html());
        }
      } finally {
        two.shutdownNow();
      }
      assertTrue(bothArrived.await(0, TimeUnit.SECONDS), "both listings were in flight together");
      List<Integer> sequence = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        sequence.add(server.takeRequest().getSequenceNumber());
      }
      assertEquals(List.of(0, 1), sequence.stream().sorted().toList(), "one connection carried both: HTTP/2");
    }
  }

  private static void keytool(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "keytool").toString()));
    cmd.addAll(List.of(args));
    Commands.check(cmd.toArray(String[]::new));
  }
}
