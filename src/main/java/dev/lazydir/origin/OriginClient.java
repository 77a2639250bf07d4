package dev.lazydir.origin;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;
import okhttp3.HttpUrl;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import okhttp3.ResponseBody;
import okio.BufferedSource;

/**
 * All HTTP traffic to one origin: a listing GET ({@link #fetchPage}), a file's size and validators
 * ({@link #probe}: HEAD, or a one-byte range) and a file's bytes ({@link #fetchRange}, resumed within the retries).
 * Every exchange holds one of {@code maxConns} permits for its whole duration, so the bound holds whoever calls;
 * failures that say "later" are retried within {@link RetryPolicy}; anything else becomes an
 * {@link OriginException} with a message fit for a user. The client itself is {@link OkHttpFactory}'s; plain-HTTP
 * range fetches take {@link PlainRangeFetch} where it can serve them; answers are read by {@link AnswerHeaders}.
 * With mirrors, each request goes to the best of the tree's {@link Servers} and fails over to the next.
 * Credentials go only to the origin's own scheme, host and port, and are never logged.
 */
public final class OriginClient implements Closeable {
  private static final Logger LOG = Logger.getLogger(OriginClient.class.getName());
  /** A listing larger than this is refused rather than buffered: a hostile origin must not exhaust the heap. */
  static final int MAX_LISTING_BYTES = 64 << 20;

  private final OriginConfig config;
  private final OkHttpClient http;
  /** The origin, then its mirrors. */
  private final Servers servers;
  /** Per server, plain-HTTP range fetches without OkHttp's copies; absent where only OkHttp can do it (TLS, proxy). */
  private final java.util.Map<Servers.Server, PlainRangeFetch> plain = new java.util.IdentityHashMap<>();
  private final Semaphore permits;
  private final Sleeper sleeper;
  private final Clock clock;
  private final AtomicLong requests = new AtomicLong();
  private final RoundTrips roundTrip = new RoundTrips();
  /** Set by {@link #forgetExpectedPages}: no listing is asked for ahead after it. */
  private boolean expectedForgotten;
  /** Listings asked for ahead of need ({@link #expectPage}), each taken by the first plain fetch of its URL. */
  private final java.util.concurrent.ConcurrentHashMap<HttpUrl, java.util.concurrent.CompletableFuture<Page>> expected =
      new java.util.concurrent.ConcurrentHashMap<>();

  public OriginClient(OriginConfig config, HttpUrl origin) throws IOException {
    this(config, origin, Sleeper.SYSTEM, Clock.systemUTC());
  }

  public OriginClient(OriginConfig config, HttpUrl origin, Sleeper sleeper, Clock clock) throws IOException {
    this.config = config;
    this.sleeper = sleeper;
    this.clock = clock;
    this.permits = new Semaphore(config.maxConns, true);
    this.http = OkHttpFactory.build(config, origin);
    java.util.List<Servers.Server> all = new java.util.ArrayList<>();
    all.add(new Servers.Server(origin, true));
    for (HttpUrl mirror : config.mirrors) {
      all.add(new Servers.Server(mirror, false));
    }
    this.servers = new Servers(all, clock);
    for (Servers.Server s : servers.all()) {
      PlainRangeFetch p = PlainRangeFetch.forServer(config, s, s.origin ? OkHttpFactory.basicAuth(config) : null);
      if (p != null) {
        plain.put(s, p);
      }
    }
  }

  /** One exchange with one server, at {@code url} as that server names it. */
  private interface Exchange<T> {
    T with(Servers.Server server, HttpUrl url) throws OriginException;
  }

  /**
   * Runs an exchange on the tree's servers, best first, until one answers. The origin's answer stands unless it
   * is a server failure (no answer, 5xx): a 404 or a new version there is the truth. A mirror's failure of any kind
   * moves on to the next server. Without mirrors, this is the exchange with the origin.
   */
  private <T> T onServers(HttpUrl url, Exchange<T> exchange) throws OriginException {
    if (!servers.hasMirrors()) {
      return exchange.with(servers.origin(), url);
    }
    OriginException first = null;
    for (Servers.Server s : servers.order(url)) {
      try {
        return exchange.with(s, servers.at(s, url));
      } catch (OriginException e) {
        if (s.origin && !serverFault(e)) {
          throw e;
        }
        blame(s, url, e);
        first = first == null ? e : first;
      }
    }
    throw first;
  }

  private static boolean serverFault(OriginException e) {
    return e.status() < 0 || e.status() >= 500;
  }

  private void blame(Servers.Server s, HttpUrl url, OriginException e) {
    if (serverFault(e)) {
      servers.failed(s, e);
    } else {
      servers.servedWrong(s, url, e);
    }
  }

  /**
   * Opens up to {@link #CONNECTIONS_AHEAD} connections for file bytes ahead of need, in the background, to the
   * server asked first (the origin unless it failed lately), where lazydir keeps its own (plain HTTP); over TLS or a proxy, OkHttp's pool keeps the listings' connections for the first range request.
   * A first byte then costs one round trip, not two (a new connection's handshake, then the request). Called at
   * start and after listings (a kept-alive connection the server closed meanwhile is replaced); cheap when they
   * are there.
   */
  public void warmConnections() {
    PlainRangeFetch first = plain.get(servers.order(servers.origin().base).get(0));
    if (first != null) {
      first.warm(Math.min(CONNECTIONS_AHEAD, config.maxConns));
    }
  }

  /** Connections kept open ahead of need: one for a first byte, one for the read-ahead or a second file. */
  static final int CONNECTIONS_AHEAD = 2;

  /** Idle connections of the plain fast path (for tests); -1 without one. */
  int idleRangeConnections() {
    PlainRangeFetch origin = plain.get(servers.origin());
    return origin == null ? -1 : origin.idleConnections();
  }

  /**
   * How long the origin takes to answer a request: the shortest of the last few answer times (request sent to
   * the answer's head received, through OkHttp: listings and probes), in milliseconds; 0 before the first answer. Well under a millisecond on
   * the same machine, a round trip or more over a network: callers choose how far to work ahead by it.
   */
  public double roundTripMillis() {
    return roundTrip.millis();
  }

  /** Number of HTTP exchanges started so far (retries included). */
  public long requestCount() {
    return requests.get();
  }

  /** GETs a URL that may be a listing. Reads the body only if it may be one (HTML, JSON or XML). */
  public Page fetchPage(HttpUrl url) throws OriginException {
    return fetchPageIfChanged(url, null, null).orElseThrow();
  }

  private static final DateTimeFormatter HTTP_DATE =
      DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'", Locale.ENGLISH).withZone(ZoneOffset.UTC);

  /**
   * As {@link #fetchPage}, asking the origin to answer 304 Not Modified when the page still has the ETag
   * {@code ifNoneMatch} or has not changed since {@code ifModifiedSince} (either may be null; with both null it
   * is a plain GET). Empty when the origin answered 304: the page is what it was, and no byte of it was sent.
   * A mirror is never sent the origin's ETag (ETags are per server).
   */
  public Optional<Page> fetchPageIfChanged(HttpUrl url, String ifNoneMatch, Instant ifModifiedSince)
      throws OriginException {
    if (ifNoneMatch == null && ifModifiedSince == null) {
      java.util.concurrent.CompletableFuture<Page> ahead = expected.remove(url);
      if (ahead != null) {
        try {
          return Optional.of(ahead.get());
        } catch (java.util.concurrent.ExecutionException e) {
          // asked again below: the answer ahead of need failed (its error would be this one's, or transient)
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new OriginException("interrupted while listing " + Redact.url(url), -1);
        }
      }
    }
    return fetchPageNow(url, ifNoneMatch, ifModifiedSince);
  }

  /**
   * Starts a plain GET of the listing at {@code url} now, on a thread of its own, while the caller does other work
   * (serve's start asks for the top level while it checks the machine and opens its fanotify group): the first
   * {@link #fetchPage} (or unconditional {@link #fetchPageIfChanged}) of the same URL takes its answer instead of
   * asking again. {@link #forgetExpectedPages} drops what was not taken.
   */
  public void expectPage(HttpUrl url) {
    java.util.concurrent.CompletableFuture<Page> ahead = new java.util.concurrent.CompletableFuture<>();
    synchronized (expected) {
      // Once forgotten, never again: a page asked ahead after that would be taken by a much later fetch, stale.
      if (expectedForgotten || expected.putIfAbsent(url, ahead) != null) {
        return;
      }
    }
    Thread t = new Thread(() -> {
      try {
        ahead.complete(fetchPageNow(url, null, null).orElseThrow());
      } catch (Throwable e) {
        ahead.completeExceptionally(e);
      }
    }, "lazydir-page-ahead");
    t.setDaemon(true);
    t.start();
  }

  /** Drops the listings asked for ahead of need and not taken: a later fetch asks the origin again. */
  public void forgetExpectedPages() {
    synchronized (expected) {
      expectedForgotten = true;
      expected.clear();
    }
  }

  private Optional<Page> fetchPageNow(HttpUrl url, String ifNoneMatch, Instant ifModifiedSince)
      throws OriginException {
    return onServers(url, (server, at) -> {
      Optional<Page> answer = fetchPageFrom(at, server.origin ? ifNoneMatch : null, ifModifiedSince);
      return server.origin ? answer : answer.map(page -> new Page(servers.asOrigin(server, page.finalUrl()),
          page.html(), page.body(), page.charset(), asOrigin(server, page.file()), page.mediaType()));
    });
  }

  private RemoteFile asOrigin(Servers.Server server, RemoteFile file) {
    return new RemoteFile(servers.asOrigin(server, file.finalUrl()), file.size(), file.lastModified(),
        server.origin ? file.etag() : null, file.html());
  }

  private Optional<Page> fetchPageFrom(HttpUrl url, String ifNoneMatch, Instant ifModifiedSince)
      throws OriginException {
    Request.Builder rb = new Request.Builder().url(url).get();
    if (ifNoneMatch != null) {
      rb.header("If-None-Match", ifNoneMatch);
    }
    if (ifModifiedSince != null) {
      rb.header("If-Modified-Since", HTTP_DATE.format(ifModifiedSince));
    }
    Request request = rb.build();
    acquire();
    try (Response response = execute(request)) {
      if (response.code() == 304 && (ifNoneMatch != null || ifModifiedSince != null)) {
        return Optional.empty();
      }
      requireSuccess(response, "GET");
      AnswerHeaders answer = AnswerHeaders.of(response);
      RemoteFile file = describe(response, answer, answer.identityLength());
      if (!file.html()) {
        return Optional.of(new Page(file.finalUrl(), false, null, null, file));
      }
      ResponseBody body = response.body();
      MediaType type = body.contentType();
      String charset = type == null || type.charset() == null ? null : type.charset().name();
      return Optional.of(new Page(file.finalUrl(), true, readBounded(body, url), charset, file,
          type == null ? null : type.type() + "/" + type.subtype()));
    } finally {
      permits.release();
    }
  }

  /**
   * Size, time and validator of a file. HEAD first; where HEAD is refused or gives no length, a one-byte
   * range request and the total of its Content-Range.
   */
  public RemoteFile probe(HttpUrl url) throws OriginException {
    return onServers(url, (server, at) -> server.origin ? probeAt(at) : asOrigin(server, probeAt(at)));
  }

  private RemoteFile probeAt(HttpUrl url) throws OriginException {
    acquire();
    try {
      Request head = new Request.Builder().url(url).head().build();
      try (Response response = execute(head)) {
        AnswerHeaders answer = AnswerHeaders.of(response);
        if (response.isSuccessful()) {
          long size = answer.identityLength();
          if (size >= 0 || answer.html()) {
            return describe(response, answer, size);
          }
        } else if (response.code() != 405 && response.code() != 501 && response.code() != 403) {
          throw statusError(response, "HEAD");
        }
      }
      Request range = new Request.Builder().url(url).get().header("Range", "bytes=0-0").build();
      try (Response response = execute(range)) {
        AnswerHeaders answer = AnswerHeaders.of(response);
        if (response.code() == 416) {
          // Only an empty file has no byte 0; servers say so with "bytes */0".
          long total = answer.rangeTotal();
          return describe(response, answer, total >= 0 ? total : 0);
        }
        requireSuccess(response, "GET (range)");
        return describe(response, answer, answer.fileSize());
      }
    } finally {
      permits.release();
    }
  }

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
    return fetchRange(url, offset, length, version, false, sink);
  }

  /** Asks caches on the way to go to the origin (a fetch again of bytes a cache may have served wrong). */
  static final String NO_CACHE_HEADERS = "Cache-Control: no-cache\r\nPragma: no-cache\r\n";

  /**
   * As {@link #fetchRange(HttpUrl, long, long, FileVersion, RangeSink)}; {@code fresh}: every request carries
   * {@code Cache-Control: no-cache} (and {@code Pragma: no-cache}), so that caches on the way revalidate with the
   * origin instead of answering from what they hold.
   */
  public Instant fetchRange(HttpUrl url, long offset, long length, FileVersion version, boolean fresh,
      RangeSink sink) throws IOException {
    long end = offset + length;
    BodyHandOver.Handed handed = new BodyHandOver.Handed(offset);
    OriginException first = null;
    for (Servers.Server server : servers.order(url)) {
      try {
        fetchRangeFrom(server, servers.at(server, url), end, version, fresh, sink, handed);
        return handed.served;
      } catch (BodyHandOver.SinkFailure e) {
        if (e.getCause() instanceof WrongBytesException) {
          servers.servedWrong(server, url, e.getCause()); // the caller asks again: another server first
        }
        throw e.getCause();
      } catch (OriginException e) {
        if (!servers.hasMirrors() || server.origin && !serverFault(e)) {
          throw e;
        }
        blame(server, url, e);
        first = first == null ? e : first;
      }
    }
    throw first;
  }

  /**
   * Fetches bytes [handed.next, end) from one server, resuming after the bytes handed over within the retries; a
   * failure that outlives them is an OriginException (a failure of the sink, a SinkFailure).
   */
  private void fetchRangeFrom(Servers.Server server, HttpUrl url, long end, FileVersion version, boolean fresh,
      RangeSink sink, BodyHandOver.Handed handed) throws IOException {
    int attempts = 0;
    PlainRangeFetch fast = plain.get(server);
    while (handed.next < end) {
      long from = handed.next;
      long to = end - 1;
      acquire();
      try {
        PlainRangeFetch.Answer a = PlainRangeFetch.NOT_HANDLED;
        if (fast != null && fast.serves(url)) {
          requests.incrementAndGet();
          a = fast.fetch(url, from, to, version, fresh, sink, handed, BodyHandOver.BUFFERS.get());
        }
        if (a.handled()) {
          handed.served = a.lastModified() == null ? handed.served : a.lastModified();
        } else {
          // Not the plain case (TLS, a redirect, an error, chunked...): nothing was handed over.
          fetchThroughOkHttp(server, url, from, to, version, fresh, sink, handed);
        }
      } catch (BodyHandOver.SinkFailure | OriginException e) {
        throw e;
      } catch (IOException e) {
        // A connection lost or stalled mid-body: the next attempt resumes after the bytes handed over.
        if (++attempts >= config.retry.maxAttempts()) {
          throw new OriginException("GET " + Redact.url(url) + " bytes " + from + "-" + to + ": " + e.getMessage()
              + " (gave up after " + attempts + " tries)", -1, e);
        }
        LOG.log(Level.FINE, "{0}: {1}; resuming at {2}", new Object[] {Redact.url(url), e.getMessage(), handed.next});
      } finally {
        permits.release();
      }
    }
  }

  /** One range GET of bytes [from, to] through OkHttp; records the answer's Last-Modified in handed. */
  private void fetchThroughOkHttp(Servers.Server server, HttpUrl url, long from, long to, FileVersion version,
      boolean fresh, RangeSink sink, BodyHandOver.Handed handed) throws IOException {
    Request.Builder rb = new Request.Builder().url(url).get().header("Range", "bytes=" + from + "-" + to)
        .header("Accept-Encoding", "identity");
    if (fresh) {
      rb.header("Cache-Control", "no-cache").header("Pragma", "no-cache");
    }
    String ifRange = version.ifRange(server);
    if (ifRange != null) {
      rb.header("If-Range", ifRange);
    }
    try (Response response = execute(rb.build())) {
      AnswerHeaders answer = AnswerHeaders.of(response);
      boolean wholeFile = openRange(response, answer, from, version, server);
      handed.served = answer.lastModified() == null ? handed.served : answer.lastModified();
      BufferedSource in = response.body().source();
      // From here on, the wait for each next byte is the stall timeout, not the timeout for an answer.
      in.timeout().timeout(config.stallTimeout.toMillis(), TimeUnit.MILLISECONDS);
      long at = wholeFile ? 0 : from;
      long stop = wholeFile ? version.size() : to + 1;
      BodyHandOver.run(new BodyHandOver.Source() {
        private boolean ended;

        @Override
        public int readNow(ByteBuffer buf) throws IOException {
          // What Okio has buffered, copied straight into native memory; more only through await().
          return ended ? -1 : in.getBuffer().size() == 0 ? 0 : in.getBuffer().read(buf);
        }

        @Override
        public void await() throws IOException {
          ended = !in.request(1);
        }
      }, BodyHandOver.BUFFERS.get().clear(), at, stop - at, sink, handed);
    }
  }

  /**
   * Checks an answer to a range request for bytes from {@code from} against the version; returns whether it
   * is the whole file (200) rather than the range (206).
   */
  private static boolean openRange(Response response, AnswerHeaders answer, long from, FileVersion version,
      Servers.Server server) throws OriginException {
    String what = "GET " + Redact.url(response.request().url());
    if (response.code() == 206) {
      version.check(what, answer, server);
      if (answer.rangeStart() != from) {
        throw new OriginException(what + ": asked for bytes from " + from + ", got Content-Range "
            + answer.contentRange(), 206);
      }
      return false;
    }
    if (response.code() == 200) {
      version.check(what, answer, server);
      return true;
    }
    if (response.code() == 416) {
      throw new OriginException(what + ": the file changed at the origin (range not satisfiable)", 416);
    }
    throw statusError(response, "GET");
  }

  private static RemoteFile describe(Response response, AnswerHeaders answer, long size) {
    return new RemoteFile(response.request().url(), size, answer.lastModified(), answer.etag(), answer.html());
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
        roundTrip.add(response.receivedResponseAtMillis() - response.sentRequestAtMillis());
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

  /**
   * A small file's whole body (the tree index), or empty on 404 or 410; refused with a clear error when it is
   * larger than {@code maxBytes}.
   */
  public Optional<byte[]> fetchSmallFile(HttpUrl url, long maxBytes) throws OriginException {
    return fetchSmallFileIfChanged(url, maxBytes, null, null).body();
  }

  /**
   * A small file asked for again: {@code unchanged} when the origin answered 304 to the validators it had last
   * time ({@code ifNoneMatch}, {@code ifModifiedSince}; null: not sent), else its body (empty on 404 or 410) and
   * the validators it has now.
   */
  public record SmallFile(boolean unchanged, Optional<byte[]> body, String etag, Instant lastModified) {}

  /**
   * As {@link #fetchSmallFile}, asking for the file only if it changed since the validators given (a mirror is
   * never sent the origin's ETag, and its own is not kept).
   */
  public SmallFile fetchSmallFileIfChanged(HttpUrl url, long maxBytes, String ifNoneMatch, Instant ifModifiedSince)
      throws OriginException {
    return onServers(url, (server, at) -> {
      SmallFile f = fetchSmallFileAt(at, maxBytes, server.origin ? ifNoneMatch : null, ifModifiedSince);
      return server.origin || f.unchanged() ? f : new SmallFile(false, f.body(), null, f.lastModified());
    });
  }

  private SmallFile fetchSmallFileAt(HttpUrl url, long maxBytes, String ifNoneMatch, Instant ifModifiedSince)
      throws OriginException {
    Request.Builder rb = new Request.Builder().url(url).get().header("Accept-Encoding", "identity");
    if (ifNoneMatch != null) {
      rb.header("If-None-Match", ifNoneMatch);
    }
    if (ifModifiedSince != null) {
      rb.header("If-Modified-Since", HTTP_DATE.format(ifModifiedSince));
    }
    Request request = rb.build();
    acquire();
    try (Response response = execute(request)) {
      if (response.code() == 304 && (ifNoneMatch != null || ifModifiedSince != null)) {
        return new SmallFile(true, Optional.empty(), ifNoneMatch, ifModifiedSince);
      }
      if (response.code() == 404 || response.code() == 410) {
        return new SmallFile(false, Optional.empty(), null, null);
      }
      requireSuccess(response, "GET");
      AnswerHeaders answer = AnswerHeaders.of(response);
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
      return new SmallFile(false, Optional.of(out.toByteArray()), answer.etag(), answer.lastModified());
    } finally {
      permits.release();
    }
  }

  @Override
  public void close() {
    plain.values().forEach(PlainRangeFetch::close);
    http.dispatcher().executorService().shutdown();
    http.connectionPool().evictAll();
  }
}
