package dev.lazydir.origin;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.Date;
import java.util.Optional;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import okhttp3.ConnectionPool;
import okhttp3.Credentials;
import okhttp3.Dispatcher;
import okhttp3.HttpUrl;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import okhttp3.ResponseBody;

/**
 * All HTTP traffic to one origin. Every exchange holds one of {@code maxConns} permits for its whole duration,
 * so the bound holds whoever calls; failures that say "later" are retried within {@link RetryPolicy}; anything
 * else becomes an {@link OriginException} with a message fit for a user. Credentials go only to the origin's
 * own scheme, host and port, and are never logged.
 */
public final class OriginClient implements Closeable {
  private static final Logger LOG = Logger.getLogger(OriginClient.class.getName());
  /** A listing larger than this is refused rather than buffered: a hostile origin must not exhaust the heap. */
  static final int MAX_LISTING_BYTES = 64 << 20;

  private final OriginConfig config;
  private final HttpUrl origin;
  private final OkHttpClient http;
  /** Plain-HTTP range fetches without OkHttp's copies; null where only OkHttp can do it (TLS, proxy). */
  private final PlainRangeFetch plain;
  private final Semaphore permits;
  private final Sleeper sleeper;
  private final Clock clock;
  private final AtomicLong requests = new AtomicLong();

  public OriginClient(OriginConfig config, HttpUrl origin) throws IOException {
    this(config, origin, Sleeper.SYSTEM, Clock.systemUTC());
  }

  public OriginClient(OriginConfig config, HttpUrl origin, Sleeper sleeper, Clock clock) throws IOException {
    this.config = config;
    this.origin = origin;
    this.sleeper = sleeper;
    this.clock = clock;
    this.permits = new Semaphore(config.maxConns, true);
    this.http = buildHttp(config, origin);
    this.plain = PlainRangeFetch.forOrigin(config, origin, basicAuth(config));
  }

  private static String basicAuth(OriginConfig config) {
    return config.username == null ? null
        : Credentials.basic(config.username, config.password == null ? "" : config.password, java.nio.charset.StandardCharsets.UTF_8);
  }

  /** Number of HTTP exchanges started so far (retries included). */
  public long requestCount() {
    return requests.get();
  }

  /** GETs a URL that may be a listing. Reads the body only if it is HTML. */
  public Page fetchPage(HttpUrl url) throws OriginException {
    Request request = new Request.Builder().url(url).get().build();
    acquire();
    try (Response response = execute(request)) {
      requireSuccess(response, "GET");
      RemoteFile file = describe(response, sizeFromHeaders(response));
      if (!file.html()) {
        return new Page(file.finalUrl(), false, null, null, file);
      }
      ResponseBody body = response.body();
      MediaType type = body.contentType();
      String charset = type == null || type.charset() == null ? null : type.charset().name();
      return new Page(file.finalUrl(), true, readBounded(body, url), charset, file);
    } finally {
      permits.release();
    }
  }

  /**
   * Size, time and validator of a file. HEAD first; where HEAD is refused or gives no length, a one-byte
   * range request and the total of its Content-Range.
   */
  public RemoteFile probe(HttpUrl url) throws OriginException {
    acquire();
    try {
      Request head = new Request.Builder().url(url).head().build();
      try (Response response = execute(head)) {
        if (response.isSuccessful()) {
          long size = sizeFromHeaders(response);
          if (size >= 0 || isHtml(response)) {
            return describe(response, size);
          }
        } else if (response.code() != 405 && response.code() != 501 && response.code() != 403) {
          throw statusError(response, "HEAD");
        }
      }
      Request range = new Request.Builder().url(url).get().header("Range", "bytes=0-0").build();
      try (Response response = execute(range)) {
        if (response.code() == 416) {
          // Only an empty file has no byte 0; servers say so with "bytes */0".
          long total = totalFromContentRange(response.header("Content-Range"));
          return describe(response, total >= 0 ? total : 0);
        }
        requireSuccess(response, "GET (range)");
        long size = response.code() == 206
            ? totalFromContentRange(response.header("Content-Range"))
            : sizeFromHeaders(response);
        return describe(response, size);
      }
    } finally {
      permits.release();
    }
  }

  /**
   * Receives fetched bytes, in order, with their offset in the file: the buffer's remaining bytes. The buffer
   * is direct (native memory) so the sink can pass it to write(2) without another copy; it is reused after
   * the call returns.
   */
  @FunctionalInterface
  public interface RangeSink {
    void write(long offset, java.nio.ByteBuffer buffer) throws IOException;
  }

  private static final ThreadLocal<java.nio.ByteBuffer> RANGE_BUFFERS =
      ThreadLocal.withInitial(() -> java.nio.ByteBuffer.allocateDirect(256 << 10));

  /**
   * Fetches bytes [offset, offset + length) of the file at {@code url} into {@code sink}, and only bytes of
   * {@code version}: every answer's size, ETag and Last-Modified are checked against it before any of its
   * bytes is handed over (its validator is also sent as If-Range). A changed file is an OriginException,
   * never new bytes mixed with old. A server that ignores Range (python's http.server) answers with the whole
   * file: all of it is handed over, from offset 0 to the end, so a file read segment by segment is transferred
   * once, not once per segment. A connection lost mid-body, or a body that stalls for the stall timeout, is
   * resumed where it stopped on a fresh connection, within the retry budget. A failure of the sink is thrown
   * as it is, never retried. Returns the Last-Modified the origin sent (or null).
   */
  public Instant fetchRange(HttpUrl url, long offset, long length, FileVersion version, RangeSink sink)
      throws IOException {
    long end = offset + length;
    long[] next = {offset}; // first byte of the asked range not handed over yet
    Instant[] served = {null};
    int attempts = 0;
    RangeSink counted = (at, b) -> {
      int n = b.remaining();
      try {
        sink.write(at, b);
      } catch (IOException e) {
        throw new SinkFailure(e);
      }
      if (at <= next[0] && at + n > next[0]) {
        next[0] = at + n;
      }
    };
    while (next[0] < end) {
      long from = next[0];
      long to = end - 1;
      acquire();
      try {
        PlainRangeFetch.Answer a = PlainRangeFetch.NOT_HANDLED;
        if (plain != null && plain.serves(url)) {
          requests.incrementAndGet();
          a = plain.fetch(url, from, to, version, counted, RANGE_BUFFERS.get());
        }
        if (a.handled()) {
          served[0] = a.lastModified() == null ? served[0] : a.lastModified();
        } else {
          // Not the plain case (TLS, a redirect, an error, chunked...): nothing was handed over.
          fetchThroughOkHttp(url, from, to, version, counted, served);
        }
      } catch (SinkFailure e) {
        throw e.getCause();
      } catch (OriginException e) {
        throw e;
      } catch (IOException e) {
        // A connection lost or stalled mid-body: the next attempt resumes after the bytes handed over.
        if (++attempts >= config.retry.maxAttempts()) {
          throw new OriginException("GET " + Redact.url(url) + " bytes " + from + "-" + to + ": " + e.getMessage()
              + " (gave up after " + attempts + " tries)", -1, e);
        }
        LOG.log(Level.FINE, "{0}: {1}; resuming at {2}", new Object[] {Redact.url(url), e.getMessage(), next[0]});
      } finally {
        permits.release();
      }
    }
    return served[0];
  }

  /** A failure of the caller's sink (a disk write): not the origin's, so not retried. */
  private static final class SinkFailure extends IOException {
    SinkFailure(IOException cause) {
      super(cause);
    }

    @Override
    public synchronized IOException getCause() {
      return (IOException) super.getCause();
    }
  }

  /** One range GET of bytes [from, to] through OkHttp; records the answer's Last-Modified in served[0]. */
  private void fetchThroughOkHttp(HttpUrl url, long from, long to, FileVersion version, RangeSink sink,
      Instant[] served) throws IOException {
    Request.Builder rb = new Request.Builder().url(url).get().header("Range", "bytes=" + from + "-" + to)
        .header("Accept-Encoding", "identity");
    String ifRange = version.ifRange();
    if (ifRange != null) {
      rb.header("If-Range", ifRange);
    }
    try (Response response = execute(rb.build())) {
      boolean wholeFile = openRange(response, from, version);
      java.util.Date date = response.headers().getDate("Last-Modified");
      served[0] = date == null ? served[0] : date.toInstant();
      okio.BufferedSource in = response.body().source();
      // From here on, the wait for each next byte is the stall timeout, not the timeout for an answer.
      in.timeout().timeout(config.stallTimeout.toMillis(), TimeUnit.MILLISECONDS);
      long at = wholeFile ? 0 : from;
      long stop = wholeFile ? version.size() : to + 1;
      java.nio.ByteBuffer buf = RANGE_BUFFERS.get();
      while (at < stop) {
        // Fill the buffer (Okio copies from its segments straight into native memory), then hand it over: when
        // it is full, or as soon as nothing more has arrived (a reader waiting for the first bytes of a slow
        // body is let through without waiting for a full buffer).
        buf.clear().limit((int) Math.min(buf.capacity(), stop - at));
        while (buf.hasRemaining()) {
          if (in.read(buf) < 0) {
            throw new java.io.EOFException("body ended " + (at + buf.position()) + " bytes into the file, expected "
                + stop);
          }
          if (in.getBuffer().size() == 0) {
            break;
          }
        }
        buf.flip();
        int n = buf.remaining();
        sink.write(at, buf);
        at += n;
      }
    }
  }

  /**
   * Checks an answer to a range request for bytes from {@code from} against the version; returns whether it
   * is the whole file (200) rather than the range (206).
   */
  private boolean openRange(Response response, long from, FileVersion version) throws OriginException {
    String what = "GET " + Redact.url(response.request().url());
    String etag = response.header("ETag");
    java.util.Date date = response.headers().getDate("Last-Modified");
    Instant lastModified = date == null ? null : date.toInstant();
    if (response.code() == 206) {
      String cr = response.header("Content-Range");
      version.check(what, 206, totalFromContentRange(cr), etag, lastModified);
      if (startFromContentRange(cr) != from) {
        throw new OriginException(what + ": asked for bytes from " + from + ", got Content-Range " + cr, 206);
      }
      return false;
    }
    if (response.code() == 200) {
      version.check(what, 200, sizeFromHeaders(response), etag, lastModified);
      version.answeredWithWholeFile();
      return true;
    }
    if (response.code() == 416) {
      throw new OriginException(what + ": the file changed at the origin (range not satisfiable)", 416);
    }
    throw statusError(response, "GET");
  }

  /** First byte of "bytes 10-20/30" ({@code -1} if absent). */
  static long startFromContentRange(String contentRange) {
    if (contentRange == null) {
      return -1;
    }
    String v = contentRange.trim();
    int space = v.indexOf(' ');
    int dash = v.indexOf('-');
    if (space < 0 || dash < space) {
      return -1;
    }
    try {
      return Long.parseLong(v.substring(space + 1, dash).trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private RemoteFile describe(Response response, long size) {
    Date lastModified = response.headers().getDate("Last-Modified");
    return new RemoteFile(response.request().url(), size,
        lastModified == null ? null : lastModified.toInstant(), response.header("ETag"), isHtml(response));
  }

  private static boolean isHtml(Response response) {
    String type = response.header("Content-Type");
    if (type == null) {
      return false;
    }
    String t = type.toLowerCase(java.util.Locale.ROOT);
    return t.startsWith("text/html") || t.startsWith("application/xhtml+xml");
  }

  private static long sizeFromHeaders(Response response) {
    String encoding = response.header("Content-Encoding");
    if (encoding != null && !encoding.equalsIgnoreCase("identity")) {
      return -1; // the length of a compressed transfer, not of the file
    }
    String length = response.header("Content-Length");
    if (length == null) {
      return -1;
    }
    try {
      long n = Long.parseLong(length.trim());
      return n >= 0 ? n : -1;
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** Total size from "bytes 0-0/1234" or "bytes * /1234" ({@code -1} if absent or "*"). */
  static long totalFromContentRange(String contentRange) {
    if (contentRange == null) {
      return -1;
    }
    int slash = contentRange.lastIndexOf('/');
    if (slash < 0) {
      return -1;
    }
    try {
      return Long.parseLong(contentRange.substring(slash + 1).trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private byte[] readBounded(ResponseBody body, HttpUrl url) throws OriginException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buf = new byte[64 * 1024];
    try (InputStream in = body.byteStream()) {
      int n;
      while ((n = in.read(buf)) > 0) {
        if (out.size() + n > MAX_LISTING_BYTES) {
          throw new OriginException("listing " + Redact.url(url) + " is larger than "
              + (MAX_LISTING_BYTES >> 20) + " MiB; refusing to parse it", 200);
        }
        out.write(buf, 0, n);
      }
    } catch (OriginException e) {
      throw e;
    } catch (IOException e) {
      throw new OriginException("GET " + Redact.url(url) + ": connection lost while reading the listing ("
          + e.getMessage() + ")", -1, e);
    }
    return out.toByteArray();
  }

  private void requireSuccess(Response response, String method) throws OriginException {
    if (!response.isSuccessful()) {
      throw statusError(response, method);
    }
  }

  private static OriginException statusError(Response response, String method) {
    return new OriginException(method + " " + Redact.url(response.request().url()) + ": HTTP " + response.code()
        + (response.message().isEmpty() ? "" : " " + response.message()), response.code());
  }

  private void acquire() throws OriginException {
    try {
      permits.acquire();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new OriginException("interrupted while waiting for a connection slot", -1, e);
    }
  }

  /**
   * Runs one request with bounded retries. Returns the first answer that is a success or a final status;
   * the caller closes it.
   */
  Response execute(Request request) throws OriginException {
    String what = request.method() + " " + Redact.url(request.url());
    for (int attempt = 1; ; attempt++) {
      Optional<Duration> hint = Optional.empty();
      String failure;
      int status = -1;
      IOException cause = null;
      requests.incrementAndGet();
      try {
        Response response = http.newCall(request).execute();
        if (!RetryPolicy.isRetriableStatus(response.code())) {
          return response;
        }
        status = response.code();
        hint = RetryPolicy.parseRetryAfter(response.header("Retry-After"), clock.instant());
        failure = "HTTP " + status;
        response.close();
      } catch (InterruptedIOException e) {
        if (Thread.currentThread().isInterrupted()) {
          throw new OriginException(what + ": interrupted", -1, e);
        }
        cause = e;
        failure = "timed out (" + e.getMessage() + ")";
      } catch (IOException e) {
        cause = e;
        failure = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
      }
      RetryPolicy retry = config.retry;
      if (attempt >= retry.maxAttempts()) {
        throw new OriginException(what + ": " + failure + " (gave up after " + attempt
            + (attempt == 1 ? " try)" : " tries)"), status, cause);
      }
      Duration wait = retry.backoff(attempt, hint);
      if (wait.compareTo(retry.maxWait()) > 0) {
        throw new OriginException(what + ": " + failure + "; the server asks to retry after " + wait.toSeconds()
            + " s, longer than the " + retry.maxWait().toSeconds() + " s lazydir waits", status, cause);
      }
      LOG.log(Level.FINE, "{0}: {1}; retry {2} in {3} ms", new Object[] {what, failure, attempt, wait.toMillis()});
      try {
        sleeper.sleep(wait);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new OriginException(what + ": interrupted while waiting to retry", status, e);
      }
    }
  }

  private static OkHttpClient buildHttp(OriginConfig config, HttpUrl origin) throws IOException {
    Dispatcher dispatcher = new Dispatcher();
    dispatcher.setMaxRequests(config.maxConns);
    dispatcher.setMaxRequestsPerHost(config.maxConns);
    OkHttpClient.Builder b = new OkHttpClient.Builder()
        .dispatcher(dispatcher)
        .connectionPool(new ConnectionPool(config.maxConns, 5, TimeUnit.MINUTES))
        .connectTimeout(config.timeout)
        .readTimeout(config.timeout)
        .writeTimeout(config.timeout)
        .followRedirects(true)
        .followSslRedirects(true)
        .retryOnConnectionFailure(true);

    String basic = basicAuth(config);
    // A network interceptor sees every hop, redirects included: credentials and the user's extra headers
    // (API keys, cookies) go only to the origin's own scheme, host and port, never to a redirect elsewhere.
    b.addNetworkInterceptor(chain -> {
      Request.Builder r = chain.request().newBuilder().header("User-Agent", config.userAgent);
      HttpUrl url = chain.request().url();
      if (url.scheme().equals(origin.scheme()) && url.host().equals(origin.host()) && url.port() == origin.port()) {
        for (String h : config.headers) {
          int colon = h.indexOf(':');
          r.header(h.substring(0, colon).trim(), h.substring(colon + 1).trim());
        }
        if (basic != null && chain.request().header("Authorization") == null) {
          r.header("Authorization", basic);
        }
      } else {
        r.removeHeader("Authorization");
      }
      return chain.proceed(r.build());
    });

    if (config.proxy != null) {
      configureProxy(b, config);
    } else if (config.proxyCacert != null) {
      throw new IllegalArgumentException("--proxy-cacert needs --proxy");
    }
    configureTls(b, config);
    return b.build();
  }

  private static void configureProxy(OkHttpClient.Builder b, OriginConfig config) {
    String spec = config.proxy.contains("://") ? config.proxy : "http://" + config.proxy;
    String scheme = spec.substring(0, spec.indexOf("://")).toLowerCase(java.util.Locale.ROOT);
    HttpUrl parsed = HttpUrl.parse("http" + spec.substring(spec.indexOf("://")));
    if (parsed == null) {
      throw new IllegalArgumentException("--proxy: cannot parse the proxy setting (expected [http://|socks5://][user:password@]host:port)");
    }
    Proxy.Type type;
    switch (scheme) {
      case "http" -> type = Proxy.Type.HTTP;
      case "socks5", "socks5h", "socks" -> type = Proxy.Type.SOCKS;
      case "https" -> throw new IllegalArgumentException(
          "--proxy: HTTPS proxies are not supported (lazydir talks plain HTTP or SOCKS5 to a proxy), so --proxy-cacert cannot apply");
      default -> throw new IllegalArgumentException("--proxy: unsupported scheme '" + scheme + "' (use http:// or socks5://)");
    }
    if (config.proxyCacert != null) {
      throw new IllegalArgumentException(
          "--proxy-cacert: HTTPS proxies are not supported (lazydir talks plain HTTP or SOCKS5 to a proxy)");
    }
    int port = spec.matches(".*:\\d+/?$") ? parsed.port() : 1080;
    b.proxy(new Proxy(type, InetSocketAddress.createUnresolved(parsed.host(), port)));
    String proxyUser = config.proxyUsername != null ? config.proxyUsername
        : parsed.username().isEmpty() ? null : parsed.username();
    String proxyPass = config.proxyPassword != null ? config.proxyPassword
        : parsed.password().isEmpty() ? null : parsed.password();
    if (proxyUser != null) {
      if (type == Proxy.Type.SOCKS) {
        throw new IllegalArgumentException("--proxy: SOCKS proxy authentication is not supported");
      }
      String credential = Credentials.basic(proxyUser, proxyPass == null ? "" : proxyPass);
      b.proxyAuthenticator((route, response) -> {
        if (response.request().header("Proxy-Authorization") != null) {
          return null; // already tried these credentials: give up rather than loop
        }
        return response.request().newBuilder().header("Proxy-Authorization", credential).build();
      });
    }
  }

  private static void configureTls(OkHttpClient.Builder b, OriginConfig config) throws IOException {
    try {
      X509TrustManager trust;
      if (config.insecureTls) {
        trust = new X509TrustManager() {
          @Override public void checkClientTrusted(X509Certificate[] chain, String authType) {}
          @Override public void checkServerTrusted(X509Certificate[] chain, String authType) {}
          @Override public X509Certificate[] getAcceptedIssuers() { return new X509Certificate[0]; }
        };
        b.hostnameVerifier((host, session) -> true);
      } else if (config.cacert != null) {
        KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
        store.load(null, null);
        Collection<? extends Certificate> certs;
        try (InputStream in = Files.newInputStream(config.cacert)) {
          certs = CertificateFactory.getInstance("X.509").generateCertificates(in);
        }
        if (certs.isEmpty()) {
          throw new IOException("--cacert " + config.cacert + ": no certificate found in the file");
        }
        int i = 0;
        for (Certificate c : certs) {
          store.setCertificateEntry("ca" + i++, c);
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(store);
        trust = (X509TrustManager) tmf.getTrustManagers()[0];
      } else {
        return;
      }
      SSLContext ssl = SSLContext.getInstance("TLS");
      ssl.init(null, new TrustManager[] {trust}, null);
      b.sslSocketFactory(ssl.getSocketFactory(), trust);
    } catch (GeneralSecurityException e) {
      throw new IOException("TLS setup failed: " + e.getMessage(), e);
    }
  }

  Instant now() {
    return clock.instant();
  }

  /**
   * GETs a small whole file (a tree index): its bytes, or empty when the origin has none (404, 410). A body
   * longer than {@code maxBytes} is refused without reading the rest.
   */
  public Optional<byte[]> fetchSmallFile(HttpUrl url, long maxBytes) throws OriginException {
    Request request = new Request.Builder().url(url).get().header("Accept-Encoding", "identity").build();
    acquire();
    try (Response response = execute(request)) {
      if (response.code() == 404 || response.code() == 410) {
        return Optional.empty();
      }
      requireSuccess(response, "GET");
      long declared = response.body().contentLength();
      if (declared > maxBytes) {
        throw new OriginException(Redact.url(url) + " is " + declared + " bytes, more than the " + (maxBytes >> 20)
            + " MiB allowed; refused", response.code());
      }
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      byte[] buf = new byte[64 * 1024];
      try (InputStream in = response.body().byteStream()) {
        for (int n; (n = in.read(buf)) > 0; ) {
          if (out.size() + n > maxBytes) {
            throw new OriginException(Redact.url(url) + " is more than the " + (maxBytes >> 20)
                + " MiB allowed; refused", response.code());
          }
          out.write(buf, 0, n);
        }
      } catch (OriginException e) {
        throw e;
      } catch (IOException e) {
        throw new OriginException("GET " + Redact.url(url) + ": connection lost while reading (" + e.getMessage()
            + ")", -1, e);
      }
      return Optional.of(out.toByteArray());
    } finally {
      permits.release();
    }
  }

  @Override
  public void close() {
    if (plain != null) {
      plain.close();
    }
    http.dispatcher().executorService().shutdown();
    http.connectionPool().evictAll();
  }
}
