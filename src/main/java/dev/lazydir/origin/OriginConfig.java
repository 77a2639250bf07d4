package dev.lazydir.origin;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * How to talk to an origin: credentials, proxy, TLS trust, headers, concurrency and retry bounds. Immutable;
 * {@link #toString()} never shows a secret.
 */
public final class OriginConfig {
  public final String username;
  public final String password;
  public final String proxy;
  public final String proxyUsername;
  public final String proxyPassword;
  public final Path cacert;
  public final Path proxyCacert;
  /** A directory of PEM files of CAs to trust (with or without cacert); null for the system's. */
  public final Path capath;
  public final boolean insecureTls;
  public final String userAgent;
  /** Extra request headers, each "Name: value". */
  public final List<String> headers;
  public final int maxConns;
  public final RetryPolicy retry;
  /** Connect/read timeout of one HTTP exchange. */
  public final Duration timeout;
  /**
   * Longest wait for the next byte of a file's body once it has begun: a transfer that stalls this long is
   * dropped and resumed on a fresh connection. No rate floor: a slow link is legitimate, a silent one is not.
   */
  public final Duration stallTimeout;
  /** How long a listed directory is trusted before the daemon lists it again. */
  public final Duration refreshTimeout;
  /** Other servers holding the same tree under these base URLs, tried in order when the origin fails. */
  public final List<okhttp3.HttpUrl> mirrors;

  private OriginConfig(Builder b) {
    this.username = b.username;
    this.password = b.password;
    this.proxy = b.proxy;
    this.proxyUsername = b.proxyUsername;
    this.proxyPassword = b.proxyPassword;
    this.cacert = b.cacert;
    this.proxyCacert = b.proxyCacert;
    this.capath = b.capath;
    this.insecureTls = b.insecureTls;
    this.userAgent = Objects.requireNonNull(b.userAgent);
    this.headers = List.copyOf(b.headers);
    this.maxConns = b.maxConns;
    this.retry = new RetryPolicy(b.retries, b.retryWait, b.maxRetryWait);
    this.timeout = b.timeout;
    this.stallTimeout = b.stallTimeout;
    this.refreshTimeout = b.refreshTimeout;
    this.mirrors = List.copyOf(b.mirrors);
    if (stallTimeout.isNegative() || stallTimeout.isZero()) {
      throw new IllegalArgumentException("--stall-timeout must be more than 0 seconds");
    }
    if (maxConns < 1) {
      throw new IllegalArgumentException("--max-conns must be at least 1, got " + maxConns);
    }
  }

  public static Builder builder() {
    return new Builder();
  }

  @Override
  public String toString() {
    return "OriginConfig{user=" + (username == null ? "-" : username)
        + ", password=" + (password == null ? "-" : "(set)")
        + ", proxy=" + (proxy == null ? "-" : redactProxy(proxy))
        + ", maxConns=" + maxConns + ", retry=" + retry + ", timeout=" + timeout + ", stallTimeout=" + stallTimeout
        + (mirrors.isEmpty() ? "" : ", mirrors=" + mirrors.size()) + "}";
  }

  /** scheme://host:port of a proxy setting, parsed as the client parses it, so no credential can show. */
  static String redactProxy(String proxy) {
    int sep = proxy.indexOf("://");
    String scheme = sep < 0 ? "http" : proxy.substring(0, sep);
    okhttp3.HttpUrl parsed = okhttp3.HttpUrl.parse("http://" + (sep < 0 ? proxy : proxy.substring(sep + 3)));
    return parsed == null ? "(unparsable)" : scheme + "://" + parsed.host() + ":" + parsed.port();
  }

  /** Builder with httpdirfs-like defaults, except a shorter retry wait (5 s per try hangs readers too long). */
  public static final class Builder {
    private String username;
    private String password;
    private String proxy;
    private String proxyUsername;
    private String proxyPassword;
    private Path cacert;
    private Path proxyCacert;
    private Path capath;
    private boolean insecureTls;
    private String userAgent = "lazydir";
    private final List<String> headers = new ArrayList<>();
    private int maxConns = 10;
    private int retries = 4;
    private Duration retryWait = Duration.ofSeconds(1);
    private Duration maxRetryWait = Duration.ofSeconds(30);
    private Duration timeout = Duration.ofSeconds(30);
    private Duration stallTimeout = Duration.ofSeconds(10);
    private Duration refreshTimeout = Duration.ofHours(1);
    private final List<okhttp3.HttpUrl> mirrors = new ArrayList<>();

    public Builder username(String v) { username = v; return this; }
    public Builder password(String v) { password = v; return this; }
    public Builder proxy(String v) { proxy = v; return this; }
    public Builder proxyUsername(String v) { proxyUsername = v; return this; }
    public Builder proxyPassword(String v) { proxyPassword = v; return this; }
    public Builder cacert(Path v) { cacert = v; return this; }
    public Builder proxyCacert(Path v) { proxyCacert = v; return this; }
    public Builder capath(Path v) { capath = v; return this; }
    public Builder insecureTls(boolean v) { insecureTls = v; return this; }
    public Builder userAgent(String v) { userAgent = v; return this; }
    public Builder header(String v) { headers.add(v); return this; }
    public Builder headers(List<String> v) { headers.addAll(v); return this; }
    public Builder maxConns(int v) { maxConns = v; return this; }
    /** Total tries per request, the first included. */
    public Builder retries(int v) { retries = v; return this; }
    public Builder retryWait(Duration v) { retryWait = v; return this; }
    public Builder maxRetryWait(Duration v) { maxRetryWait = v; return this; }
    public Builder timeout(Duration v) { timeout = v; return this; }
    public Builder stallTimeout(Duration v) { stallTimeout = v; return this; }
    public Builder refreshTimeout(Duration v) { refreshTimeout = v; return this; }
    public Builder mirror(okhttp3.HttpUrl v) { mirrors.add(v); return this; }
    public Builder mirrors(List<okhttp3.HttpUrl> v) { mirrors.addAll(v); return this; }

    public OriginConfig build() {
      return new OriginConfig(this);
    }
  }
}
