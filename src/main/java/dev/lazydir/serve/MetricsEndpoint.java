package dev.lazydir.serve;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.util.concurrent.Executors;
import java.util.function.LongSupplier;

/**
 * {@code serve --metrics-addr}: the daemon's counters as a Prometheus endpoint (GET /metrics, text format 0.0.4),
 * on the JDK's own HTTP server, bound where asked (loopback unless a host is given). Every value is read from a
 * counter the daemon keeps when scraped; nothing walks the tree, so a scrape takes the same time at any size.
 */
public final class MetricsEndpoint implements AutoCloseable {
  private final HttpServer server;

  private MetricsEndpoint(HttpServer server) {
    this.server = server;
  }

  /** The counters a serve keeps, read at each scrape. */
  record Sources(Daemon.Stats stats, LongSupplier requests, LongSupplier fetchedBytes, LongSupplier fetches,
      java.util.function.Supplier<TreeCounts.Snapshot> tree) {}

  static MetricsEndpoint start(InetSocketAddress at, Sources s) throws IOException {
    PrometheusRegistry registry = new PrometheusRegistry();
    counter(registry, "lazydir_origin_requests", "HTTP requests made to the origin (listings, probes, ranges)",
        s.requests());
    counter(registry, "lazydir_fetched_bytes", "File content bytes fetched from the origin", s.fetchedBytes());
    counter(registry, "lazydir_fetches", "Range requests made for file contents", s.fetches());
    counter(registry, "lazydir_events", "Fanotify permission events answered", s.stats()::events);
    counter(registry, "lazydir_listings", "Directories listed from the origin (first listings and refreshes)",
        s.stats()::dirsListed);
    CounterWithCallback.builder().name("lazydir_denials").help("Readers refused, by the errno they got")
        .labelNames("errno")
        .callback(cb -> s.stats().deniedByErrno().forEach((errno, n) -> cb.call(n, errnoName(errno))))
        .register(registry);
    registry.register(s.stats().answerSeconds);
    GaugeWithCallback.builder().name("lazydir_files").help("Files in the tree by state").labelNames("state")
        .callback(cb -> {
          TreeCounts.Snapshot t = s.tree().get();
          cb.call(t.filesComplete(), "populated");
          cb.call(t.filesPartial(), "partial");
          cb.call(t.filesStub(), "stub");
        }).register(registry);
    GaugeWithCallback.builder().name("lazydir_directories").help("Directories in the tree, listed or not yet")
        .labelNames("state")
        .callback(cb -> {
          TreeCounts.Snapshot t = s.tree().get();
          cb.call(t.dirsListed(), "listed");
          cb.call(t.dirsKnown() - t.dirsListed(), "unlisted");
        }).register(registry);
    GaugeWithCallback.builder().name("lazydir_cache_bytes").help("Bytes of file contents held in the store")
        .callback(cb -> cb.call(s.tree().get().bytesPresent())).register(registry);
    GaugeWithCallback.builder().name("lazydir_tree_bytes").help("Bytes of all files of the tree, as the origin"
        + " lists them").callback(cb -> cb.call(s.tree().get().bytesTotal())).register(registry);

    HttpServer server = HttpServer.create(at, 8);
    PrometheusTextFormatWriter writer = new PrometheusTextFormatWriter(false);
    server.createContext("/", exchange -> {
      try (exchange) {
        if (!exchange.getRequestMethod().equals("GET") && !exchange.getRequestMethod().equals("HEAD")) {
          reply(exchange, 405, "only GET\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII), "text/plain");
        } else if (!exchange.getRequestURI().getPath().equals("/metrics")) {
          reply(exchange, 404, "lazydir serves its metrics at /metrics\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII),
              "text/plain");
        } else {
          ByteArrayOutputStream body = new ByteArrayOutputStream();
          writer.write(body, registry.scrape());
          reply(exchange, 200, body.toByteArray(), writer.getContentType());
        }
      }
    });
    server.setExecutor(Executors.newSingleThreadExecutor(dev.lazydir.internal.Threads.daemon("lazydir-metrics")));
    server.start();
    return new MetricsEndpoint(server);
  }

  /** Where it listens (the port chosen when 0 was asked for). */
  public InetSocketAddress address() {
    return server.getAddress();
  }

  private static void counter(PrometheusRegistry registry, String name, String help, LongSupplier value) {
    CounterWithCallback.builder().name(name).help(help).callback(cb -> cb.call(value.getAsLong())).register(registry);
  }

  private static String errnoName(int errno) {
    return switch (errno) {
      case 5 -> "EIO";
      case 28 -> "ENOSPC";
      default -> String.valueOf(errno);
    };
  }

  private static void reply(HttpExchange exchange, int status, byte[] body, String type) throws IOException {
    exchange.getResponseHeaders().set("Content-Type", type);
    boolean head = exchange.getRequestMethod().equals("HEAD");
    exchange.sendResponseHeaders(status, head ? -1 : body.length);
    if (!head) {
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    }
  }

  /**
   * HOST:PORT, [IPv6]:PORT, or PORT alone for loopback: where the endpoint listens. Bad input is refused with
   * one sentence.
   */
  public static InetSocketAddress parseAddress(String s) {
    String host = "127.0.0.1";
    String port = s;
    int colon = s.lastIndexOf(':');
    if (colon >= 0) {
      host = s.substring(0, colon);
      port = s.substring(colon + 1);
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1);
      }
      if (host.isEmpty()) {
        host = "127.0.0.1";
      }
    }
    int p;
    try {
      p = Integer.parseInt(port);
    } catch (NumberFormatException e) {
      p = -1;
    }
    if (p < 0 || p > 65535) {
      throw new IllegalArgumentException("--metrics-addr " + s + ": expected HOST:PORT or PORT (a port from 0 to"
          + " 65535), for example --metrics-addr 127.0.0.1:9108");
    }
    InetSocketAddress at = new InetSocketAddress(host, p);
    if (at.isUnresolved()) {
      throw new IllegalArgumentException("--metrics-addr " + s + ": " + host + " is not an address of this machine"
          + " or a name that resolves; give an IP address, for example --metrics-addr 127.0.0.1:9108");
    }
    return at;
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
