package dev.lazydir.origin;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;
import okhttp3.HttpUrl;

/**
 * The servers that hold one tree: the origin first, then its mirrors ({@code --mirror}) in the order given. A
 * request goes to the first one in {@link #order} and fails over to the next when a server fails (no answer, a 5xx
 * after the retries; from a mirror, any error) or lies (a mirror's answer is another version, or its bytes do not
 * match the tree index's digests). A server that failed is tried last for {@link #DOWN_FOR}; a server that served
 * wrong bytes of a file is tried last for that file. The origin's own answers are the truth: a version change it
 * reports is never hidden by a mirror still serving the old one.
 *
 * <p>A mirror holds the tree under its own base URL with the same relative paths. ETags differ between servers, so
 * across servers a version is known by its size and Last-Modified (or by the tree index's digests): mirrors must
 * keep the origin's modification times ({@code rsync -t}). Credentials go to the origin only.
 */
final class Servers {
  private static final Logger LOG = Logger.getLogger(Servers.class.getName());
  /** How long a server that failed is tried after the others. */
  static final Duration DOWN_FOR = Duration.ofSeconds(30);

  /** One server of the tree. */
  static final class Server {
    final HttpUrl base;
    final boolean origin;
    /** scheme://host:port, the identity of the server's validators. */
    final String key;
    private volatile Instant downUntil = Instant.MIN;

    Server(HttpUrl base, boolean origin) {
      this.base = base;
      this.origin = origin;
      this.key = base.scheme() + "://" + base.host() + ":" + base.port();
    }

    @Override
    public String toString() {
      return origin ? "the origin" : "mirror " + Redact.url(base);
    }
  }

  private final List<Server> servers;
  private final Clock clock;
  /** URL (as the origin names it) + server key: servers that served wrong bytes of that file lately. */
  private final com.github.benmanes.caffeine.cache.Cache<String, Boolean> wrongBytes;

  Servers(List<Server> servers, Clock clock) {
    this.servers = List.copyOf(servers);
    this.clock = clock;
    this.wrongBytes = com.github.benmanes.caffeine.cache.Caffeine.newBuilder()
        .expireAfterWrite(10, TimeUnit.MINUTES).maximumSize(10_000).build();
  }

  Server origin() {
    return servers.get(0);
  }

  List<Server> all() {
    return servers;
  }

  boolean hasMirrors() {
    return servers.size() > 1;
  }

  /**
   * The servers to try for {@code url}, best first: those neither down nor known to have served wrong bytes of it,
   * in the configured order, then the others (a last resort is still a chance).
   */
  List<Server> order(HttpUrl url) {
    if (servers.size() == 1) {
      return servers;
    }
    Instant now = clock.instant();
    List<Server> good = new ArrayList<>(servers.size());
    List<Server> doubtful = new ArrayList<>();
    for (Server s : servers) {
      boolean wrong = wrongBytes.getIfPresent(url + " " + s.key) != null;
      (wrong || now.isBefore(s.downUntil) ? doubtful : good).add(s);
    }
    good.addAll(doubtful);
    return good;
  }

  /** The URL of {@code url} (named as the origin names it) on server {@code s}. */
  HttpUrl at(Server s, HttpUrl url) {
    if (s.origin) {
      return url;
    }
    String path = url.encodedPath();
    String basePath = origin().base.encodedPath();
    if (!path.startsWith(basePath)) {
      return url; // not under the tree (a redirect elsewhere): only the origin's own URL makes sense
    }
    HttpUrl.Builder b = s.base.newBuilder().encodedPath(s.base.encodedPath() + path.substring(basePath.length()));
    b.encodedQuery(url.encodedQuery());
    return b.build();
  }

  /** The inverse of {@link #at}: a URL answered by server {@code s}, named as the origin names it. */
  HttpUrl asOrigin(Server s, HttpUrl url) {
    if (s.origin || !url.scheme().equals(s.base.scheme()) || !url.host().equals(s.base.host())
        || url.port() != s.base.port() || !url.encodedPath().startsWith(s.base.encodedPath())) {
      return url;
    }
    HttpUrl base = origin().base;
    return base.newBuilder().encodedPath(base.encodedPath() + url.encodedPath().substring(s.base.encodedPath().length()))
        .encodedQuery(url.encodedQuery()).build();
  }

  /** Server {@code s} failed: try it after the others for a while. */
  void failed(Server s, Exception e) {
    boolean wasUp = !clock.instant().isBefore(s.downUntil);
    s.downUntil = clock.instant().plus(DOWN_FOR);
    if (wasUp) {
      LOG.warning(s + " failed (" + e.getMessage() + "); trying the next server, and this one last for "
          + DOWN_FOR.toSeconds() + " s");
    }
  }

  /** Server {@code s} served bytes or a version of {@code url} that are not the file's: try it last for that file. */
  void servedWrong(Server s, HttpUrl url, Exception e) {
    wrongBytes.put(url + " " + s.key, Boolean.TRUE);
    LOG.warning(s + " served " + Redact.url(url) + " wrong (" + e.getMessage() + "); trying the next server");
  }
}
