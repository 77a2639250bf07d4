package dev.lazydir.testing;

import java.io.Closeable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import okhttp3.HttpUrl;
import okhttp3.mockwebserver.Dispatcher;
import okhttp3.mockwebserver.MockResponse;
import okhttp3.mockwebserver.MockWebServer;
import okhttp3.mockwebserver.RecordedRequest;
import okio.Buffer;

/**
 * An in-memory HTTP origin for tests: serves directory listings (nginx-like with exact sizes and minute
 * times, or python-like bare links), files with HEAD, Last-Modified, ETag and byte ranges, and logs what it
 * was asked (thread-safe). Paths are decoded ("/sub dir/a b.txt"); directories end with "/". Misbehaviour is
 * switched on per path with {@link #fault}: {@code origin.fault("/f.bin", Fault.status(500))}.
 */
public final class FakeOrigin implements Closeable {
  public enum Style { NGINX, PYTHON }

  private static final DateTimeFormatter NGINX_TIME =
      DateTimeFormatter.ofPattern("dd-MMM-yyyy HH:mm", Locale.ENGLISH).withZone(ZoneOffset.UTC);
  private static final DateTimeFormatter HTTP_DATE = DateTimeFormatter.RFC_1123_DATE_TIME.withZone(ZoneOffset.UTC);

  private record Node(byte[] content, Instant mtime, String etag) {}

  private final MockWebServer server = new MockWebServer();
  private final Map<String, Node> nodes = new ConcurrentHashMap<>();
  private final Map<String, String> rawListings = new ConcurrentHashMap<>();
  private final Map<String, String> loops = new ConcurrentHashMap<>();
  private final Map<String, AtomicInteger> counts = new ConcurrentHashMap<>();
  /** Every request in arrival order; guarded by itself, so the log, the counts and the last request agree. */
  private final List<RecordedRequest> log = new ArrayList<>();
  private volatile Style style = Style.NGINX;
  private volatile boolean listingEtags;
  private volatile boolean listingLastModified;
  private final Map<String, Fault> faults = new ConcurrentHashMap<>();
  private final AtomicLong bodyBytes = new AtomicLong();

  public FakeOrigin() throws IOException {
    nodes.put("/", new Node(null, Instant.parse("2024-01-01T00:00:00Z"), null));
    server.setDispatcher(new Dispatcher() {
      @Override
      public MockResponse dispatch(RecordedRequest request) throws InterruptedException {
        synchronized (log) {
          log.add(request);
          counts.computeIfAbsent(request.getMethod() + " " + decodedPath(request), k -> new AtomicInteger()).incrementAndGet();
        }
        Fault fault = faultFor(request);
        return fault == null ? serve(request, Fault.NONE) : fault.answer(request, FakeOrigin.this);
      }
    });
    server.start();
  }

  private String etagServer = "";

  public FakeOrigin style(Style s) {
    this.style = s;
    return this;
  }

  /** Makes this server's ETags its own, as another server's are (files added after this call). */
  public FakeOrigin etagsOfItsOwn(String server) {
    this.etagServer = server;
    return this;
  }

  /**
   * Listings carry validators from now on, as object stores and some servers send them (nginx, Apache and python
   * send none): an ETag derived from the page (if {@code etag}) and a Last-Modified, the newest time of the
   * directory and its entries (if {@code lastModified}); a request whose If-None-Match or If-Modified-Since
   * still holds is answered 304 with no body.
   */
  public FakeOrigin listingValidators(boolean etag, boolean lastModified) {
    this.listingEtags = etag;
    this.listingLastModified = lastModified;
    return this;
  }

  /** Adds (or replaces) a file, creating its parent directories. */
  public FakeOrigin file(String path, byte[] content, Instant mtime) {
    mkdirs(parentOf(path));
    nodes.put(path, new Node(content, mtime, "\"" + etagServer + Integer.toHexString(java.util.Arrays.hashCode(content)) + "-" + mtime.getEpochSecond() + "\""));
    return this;
  }

  public FakeOrigin file(String path, String content, Instant mtime) {
    return file(path, content.getBytes(StandardCharsets.UTF_8), mtime);
  }

  public FakeOrigin dir(String path) {
    mkdirs(path);
    return this;
  }

  public FakeOrigin remove(String path) {
    nodes.keySet().removeIf(p -> p.equals(path) || (path.endsWith("/") && p.startsWith(path)));
    return this;
  }

  /** Serves {@code html} as the listing of directory {@code path} instead of a generated one. */
  public FakeOrigin rawListing(String path, String html) {
    mkdirs(path);
    rawListings.put(path, html);
    return this;
  }

  /**
   * Gives directory {@code dir} a subdirectory {@code name} that is {@code dir} itself, at every depth, as nginx
   * serves a {@code name -> .} symlink: the same entries, under a title naming the path asked for.
   */
  public FakeOrigin selfLink(String dir, String name) {
    mkdirs(dir + name + "/");
    loops.put(dir + name + "/", dir);
    return this;
  }

  private String unlooped(String path) {
    for (boolean again = true; again; ) {
      again = false;
      for (Map.Entry<String, String> loop : loops.entrySet()) {
        if (path.startsWith(loop.getKey())) {
          path = loop.getValue() + path.substring(loop.getKey().length());
          again = true;
        }
      }
    }
    return path;
  }

  /**
   * From now on, requests for {@code path} (decoded; a path ending in "*" is a prefix: "/*" is every path) get
   * {@code fault} instead of the normal answer; returns the fault, for the tests that hold requests. The longest
   * matching path wins. {@code fault(path, null)} switches the path back to normal.
   */
  public <F extends Fault> F fault(String path, F fault) {
    if (fault == null) {
      faults.remove(path);
    } else {
      faults.put(path, fault);
    }
    return fault;
  }

  /** Sends the body of {@code path} at {@code bytes} per {@code millis} (a slow origin): {@link Fault#drip}. */
  public FakeOrigin throttle(String path, long bytes, long millis) {
    fault(path, Fault.drip(bytes, millis));
    return this;
  }

  private Fault faultFor(RecordedRequest request) {
    String path = decodedPath(request);
    Fault exact = faults.get(path);
    if (exact != null && exact.appliesTo(request)) {
      return exact;
    }
    Fault best = null;
    int bestLength = -1;
    for (Map.Entry<String, Fault> e : faults.entrySet()) {
      String p = e.getKey();
      if (p.endsWith("*") && path.startsWith(p.substring(0, p.length() - 1)) && p.length() > bestLength
          && e.getValue().appliesTo(request)) {
        best = e.getValue();
        bestLength = p.length();
      }
    }
    return best;
  }

  /**
   * A way for the origin to misbehave on some paths (see {@link FakeOrigin#fault}), for every method unless
   * {@link #on} narrows it. Faults other than {@link #status} and {@link #answer} keep the normal answer and
   * change one thing about it.
   */
  public static class Fault {
    static final Fault NONE = new Fault();
    private volatile Set<String> methods;
    int status;
    boolean ignoreRange;
    boolean newVersionPerRequest;
    long dripBytes;
    long dripMillis;
    long delayMillis;
    Function<RecordedRequest, MockResponse> answer;
    private final AtomicInteger versions = new AtomicInteger();

    /** Only requests with one of these methods ("GET", "HEAD") get the fault. */
    public Fault on(String... methods) {
      this.methods = Set.of(methods);
      return this;
    }

    boolean appliesTo(RecordedRequest r) {
      Set<String> m = methods;
      return m == null || m.contains(r.getMethod());
    }

    /** An answer with this status and no body (500, 503, 404...). */
    public static Fault status(int code) {
      Fault f = new Fault();
      f.status = code;
      return f;
    }

    /** The normal answer, but the whole file with 200 to a range request, as python's http.server does. */
    public static Fault ignoreRange() {
      Fault f = new Fault();
      f.ignoreRange = true;
      return f;
    }

    /** The normal answer, with another ETag on every request: a file replaced between any two requests. */
    public static Fault newVersionPerRequest() {
      Fault f = new Fault();
      f.newVersionPerRequest = true;
      return f;
    }

    /** The normal answer, its body sent {@code bytes} at a time every {@code millis} (a slow origin). */
    public static Fault drip(long bytes, long millis) {
      Fault f = new Fault();
      f.dripBytes = bytes;
      f.dripMillis = millis;
      return f;
    }

    /** The normal answer, its head sent {@code millis} after the request came (an origin a round trip away). */
    public static Fault delay(long millis) {
      Fault f = new Fault();
      f.delayMillis = millis;
      return f;
    }

    /** Whatever {@code f} answers (redirects, socket policies...); the normal answer where it returns null. */
    public static Fault answer(Function<RecordedRequest, MockResponse> f) {
      Fault fault = new Fault();
      fault.answer = f;
      return fault;
    }

    /** Each request held, without an answer, until {@link Hold#release}; then the normal answer. */
    public static Hold hold() {
      return new Hold();
    }

    MockResponse answer(RecordedRequest request, FakeOrigin origin) throws InterruptedException {
      if (status != 0) {
        return new MockResponse().setResponseCode(status);
      }
      if (answer != null) {
        MockResponse r = answer.apply(request);
        if (r != null) {
          return r;
        }
      }
      MockResponse r = origin.serve(request, this);
      return delayMillis > 0 ? r.setHeadersDelay(delayMillis, TimeUnit.MILLISECONDS) : r;
    }

    String etag(String normal) {
      return newVersionPerRequest ? "\"v" + versions.incrementAndGet() + "\"" : normal;
    }
  }

  /**
   * Holds each request it gets until released, counting those it holds at once: a test can wait for requests
   * to arrive, look at what else happens while they are held, then let them all go (and every later one).
   */
  public static final class Hold extends Fault {
    private final CountDownLatch released = new CountDownLatch(1);
    private final AtomicInteger arrived = new AtomicInteger();
    private final AtomicInteger held = new AtomicInteger();
    private final AtomicInteger maxHeld = new AtomicInteger();

    @Override
    public Hold on(String... methods) {
      super.on(methods);
      return this;
    }

    @Override
    MockResponse answer(RecordedRequest request, FakeOrigin origin) throws InterruptedException {
      arrived.incrementAndGet();
      synchronized (this) {
        maxHeld.accumulateAndGet(held.incrementAndGet(), Math::max);
        notifyAll();
      }
      try {
        if (!released.await(60, TimeUnit.SECONDS)) {
          return new MockResponse().setResponseCode(504); // a test that forgot to release: fail, do not hang
        }
      } finally {
        held.decrementAndGet();
      }
      return super.answer(request, origin);
    }

    /** Waits (at most 30 s) until {@code n} requests are held at once; false if they never were. */
    public boolean awaitHeld(int n) throws InterruptedException {
      return awaitHeld(n, Duration.ofSeconds(30));
    }

    /** Waits until {@code n} requests are held at once, at most {@code within}; false if they were not. */
    public synchronized boolean awaitHeld(int n, Duration within) throws InterruptedException {
      long deadline = System.nanoTime() + within.toNanos();
      while (held.get() < n) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        TimeUnit.NANOSECONDS.timedWait(this, left);
      }
      return true;
    }

    /** Lets every held request, and every later one, have its answer. */
    public void release() {
      released.countDown();
    }

    public boolean released() {
      return released.getCount() == 0;
    }

    /** Requests that reached this fault so far. */
    public int arrived() {
      return arrived.get();
    }

    /** The most requests held at the same time. */
    public int maxHeld() {
      return maxHeld.get();
    }
  }

  /**
   * The origin's root named by another host name (localhost for 127.0.0.1 or the other way): a client made
   * for it sends this origin's file URLs through OkHttp only, as the fast path serves only its origin's host.
   */
  public HttpUrl rootByAnotherName() {
    HttpUrl root = url("/");
    return root.newBuilder().host(root.host().equals("127.0.0.1") ? "localhost" : "127.0.0.1").build();
  }

  public HttpUrl url(String decodedPath) {
    HttpUrl.Builder b = server.url("/").newBuilder();
    String[] parts = decodedPath.substring(1).split("/", -1);
    b.encodedPath("/");
    for (String part : parts) {
      b.addPathSegment(part);
    }
    return b.build();
  }

  /** Body bytes of files sent so far (ranges included). */
  public long bodyBytesSent() {
    return bodyBytes.get();
  }

  /** The request that arrived last (null before the first). */
  public RecordedRequest lastRequest() {
    synchronized (log) {
      return log.isEmpty() ? null : log.get(log.size() - 1);
    }
  }

  /** Every request so far, in arrival order (a copy). */
  public List<RecordedRequest> requests() {
    synchronized (log) {
      return List.copyOf(log);
    }
  }

  public int requestCount() {
    synchronized (log) {
      return log.size();
    }
  }

  /** Requests made with {@code method} for {@code decodedPath}. */
  public int count(String method, String decodedPath) {
    AtomicInteger n = counts.get(method + " " + decodedPath);
    return n == null ? 0 : n.get();
  }

  public int count(String method) {
    return counts.entrySet().stream().filter(e -> e.getKey().startsWith(method + " "))
        .mapToInt(e -> e.getValue().get()).sum();
  }

  public static String decodedPath(RecordedRequest request) {
    HttpUrl url = request.getRequestUrl();
    return "/" + String.join("/", url.pathSegments());
  }

  private MockResponse serve(RecordedRequest request, Fault fault) {
    String asked = decodedPath(request);
    String path = unlooped(asked);
    Node node = nodes.get(path);
    if (node == null && !path.endsWith("/") && nodes.containsKey(path + "/")) {
      return new MockResponse().setResponseCode(301).setHeader("Location", url(path + "/").encodedPath());
    }
    if (node == null) {
      return new MockResponse().setResponseCode(404).setBody("not found");
    }
    if (node.content() == null) {
      String html = rawListings.getOrDefault(path, listing(path).replace("Index of " + path + "<", "Index of " + asked + "<"));
      return dripped(fault, listingAnswer(request, path, html)); // a throttled listing is slow too
    }
    byte[] content = node.content();
    MockResponse r = new MockResponse()
        .setHeader("Last-Modified", HTTP_DATE.format(node.mtime()))
        .setHeader("ETag", fault.etag(node.etag()))
        .setHeader("Content-Type", "application/octet-stream");
    String ifNoneMatch = request.getHeader("If-None-Match");
    if (ifNoneMatch != null && ifNoneMatch.equals(fault.etag(node.etag())) && request.getHeader("Range") == null) {
      return r.setResponseCode(304); // as a static file server answers a conditional GET of a file it still has
    }
    String range = request.getHeader("Range");
    if (range != null && range.startsWith("bytes=") && !fault.ignoreRange) {
      String[] se = range.substring(6).split("-", 2);
      long start = Long.parseLong(se[0]);
      long end = se[1].isEmpty() ? content.length - 1 : Math.min(Long.parseLong(se[1]), content.length - 1);
      if (start >= content.length) {
        return r.setResponseCode(416).setHeader("Content-Range", "bytes */" + content.length);
      }
      Buffer body = new Buffer().write(content, (int) start, (int) (end - start + 1));
      r.setResponseCode(206).setHeader("Content-Range", "bytes " + start + "-" + end + "/" + content.length);
      if (request.getMethod().equals("HEAD")) {
        return r.setHeader("Content-Length", body.size());
      }
      bodyBytes.addAndGet(body.size());
      return dripped(fault, r.setBody(body));
    }
    if (request.getMethod().equals("HEAD")) {
      return r.setHeader("Content-Length", content.length);
    }
    bodyBytes.addAndGet(content.length);
    return dripped(fault, r.setBody(new Buffer().write(content)));
  }

  private MockResponse listingAnswer(RecordedRequest request, String path, String html) {
    MockResponse r = new MockResponse().setHeader("Content-Type", "text/html");
    String etag = "\"" + Integer.toHexString(html.hashCode()) + "-" + html.length() + "\"";
    Instant newest = nodes.entrySet().stream()
        .filter(e -> e.getKey().startsWith(path) && e.getKey().substring(path.length()).matches("[^/]*/?"))
        .map(e -> e.getValue().mtime()).max(Instant::compareTo).orElse(Instant.EPOCH);
    boolean notModified = false;
    if (listingEtags) {
      r.setHeader("ETag", etag);
      String inm = request.getHeader("If-None-Match");
      notModified = inm != null && inm.equals(etag);
    }
    if (listingLastModified) {
      r.setHeader("Last-Modified", HTTP_DATE.format(newest));
      String ims = request.getHeader("If-Modified-Since");
      if (ims != null && (!listingEtags || request.getHeader("If-None-Match") == null)) {
        notModified = !newest.isAfter(java.time.ZonedDateTime.parse(ims, HTTP_DATE).toInstant());
      }
    }
    return notModified ? r.setResponseCode(304) : r.setBody(html);
  }

  private static MockResponse dripped(Fault fault, MockResponse r) {
    return fault.dripBytes == 0 ? r : r.throttleBody(fault.dripBytes, fault.dripMillis, TimeUnit.MILLISECONDS);
  }

  private String listing(String dir) {
    TreeMap<String, Node> children = new TreeMap<>();
    for (Map.Entry<String, Node> e : nodes.entrySet()) {
      String p = e.getKey();
      if (p.startsWith(dir) && !p.equals(dir)) {
        String rest = p.substring(dir.length());
        int slash = rest.indexOf('/');
        if (slash < 0 || slash == rest.length() - 1) {
          children.put(rest, e.getValue());
        }
      }
    }
    StringBuilder sb = new StringBuilder("<html><head><title>Index of " + dir + "</title></head><body>\n");
    sb.append(style == Style.NGINX ? "<pre><a href=\"../\">../</a>\n" : "<ul>\n");
    for (Map.Entry<String, Node> e : children.entrySet()) {
      String name = e.getKey();
      boolean isDir = name.endsWith("/");
      String bare = isDir ? name.substring(0, name.length() - 1) : name;
      String href = HttpUrl.get("http://x/").newBuilder().addPathSegment(bare).build().encodedPath().substring(1)
          + (isDir ? "/" : "");
      String text = org.jsoup.nodes.Entities.escape(name);
      if (style == Style.NGINX) {
        String size = isDir ? "-" : Integer.toString(e.getValue().content().length);
        sb.append("<a href=\"").append(href).append("\">").append(text).append("</a>    ")
            .append(NGINX_TIME.format(e.getValue().mtime())).append("    ").append(size).append('\n');
      } else {
        sb.append("<li><a href=\"").append(href).append("\">").append(text).append("</a></li>\n");
      }
    }
    sb.append(style == Style.NGINX ? "</pre>" : "</ul>").append("</body></html>\n");
    return sb.toString();
  }

  private void mkdirs(String dirPath) {
    String p = dirPath.endsWith("/") ? dirPath : dirPath + "/";
    List<String> parts = new ArrayList<>();
    for (String s : p.substring(1).split("/")) {
      if (!s.isEmpty()) {
        parts.add(s);
      }
    }
    StringBuilder cur = new StringBuilder("/");
    for (String s : parts) {
      cur.append(s).append('/');
      nodes.putIfAbsent(cur.toString(), new Node(null, Instant.parse("2024-02-02T02:02:00Z"), null));
    }
  }

  private static String parentOf(String path) {
    return path.substring(0, path.lastIndexOf('/') + 1);
  }

  @Override
  public void close() throws IOException {
    server.shutdown();
  }
}
