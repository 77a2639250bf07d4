package dev.lazydir.testing;

import java.io.Closeable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import okhttp3.HttpUrl;
import okhttp3.mockwebserver.Dispatcher;
import okhttp3.mockwebserver.MockResponse;
import okhttp3.mockwebserver.MockWebServer;
import okhttp3.mockwebserver.RecordedRequest;
import okio.Buffer;

/**
 * An in-memory HTTP origin for tests: serves directory listings (nginx-like with exact sizes and minute
 * times, or python-like bare links), files with HEAD, Last-Modified, ETag and byte ranges, and counts what
 * it was asked. Paths are decoded ("/sub dir/a b.txt"); directories end with "/".
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
  private final AtomicInteger requests = new AtomicInteger();
  private volatile Style style = Style.NGINX;
  private volatile boolean ignoreRange;
  private volatile Function<RecordedRequest, MockResponse> override = r -> null;
  private volatile RecordedRequest last;
  private final Map<String, long[]> throttles = new ConcurrentHashMap<>();
  private final java.util.concurrent.atomic.AtomicLong bodyBytes = new java.util.concurrent.atomic.AtomicLong();

  public FakeOrigin() throws IOException {
    nodes.put("/", new Node(null, Instant.parse("2024-01-01T00:00:00Z"), null));
    server.setDispatcher(new Dispatcher() {
      @Override
      public MockResponse dispatch(RecordedRequest request) {
        requests.incrementAndGet();
        last = request;
        counts.computeIfAbsent(request.getMethod() + " " + decodedPath(request), k -> new AtomicInteger()).incrementAndGet();
        MockResponse special = override.apply(request);
        return special != null ? special : serve(request);
      }
    });
    server.start();
  }

  public FakeOrigin style(Style s) {
    this.style = s;
    return this;
  }

  /** Adds (or replaces) a file, creating its parent directories. */
  public FakeOrigin file(String path, byte[] content, Instant mtime) {
    mkdirs(parentOf(path));
    nodes.put(path, new Node(content, mtime, "\"" + Integer.toHexString(java.util.Arrays.hashCode(content)) + "-" + mtime.getEpochSecond() + "\""));
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

  /** Answers requests for which {@code f} returns non-null with its response (failures, redirects). */
  public FakeOrigin override(Function<RecordedRequest, MockResponse> f) {
    this.override = f;
    return this;
  }

  /** Answers range GETs of files with 200 and the whole file, as python's http.server does. */
  public FakeOrigin ignoreRange() {
    this.ignoreRange = true;
    return this;
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

  /** Sends the body of {@code path} at {@code bytes} per {@code millis} (a slow origin). */
  public FakeOrigin throttle(String path, long bytes, long millis) {
    throttles.put(path, new long[] {bytes, millis});
    return this;
  }

  /** Body bytes of files sent so far (ranges included). */
  public long bodyBytesSent() {
    return bodyBytes.get();
  }

  public RecordedRequest lastRequest() {
    return last;
  }

  public int requestCount() {
    return requests.get();
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

  private MockResponse serve(RecordedRequest request) {
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
      return new MockResponse().setHeader("Content-Type", "text/html").setBody(html);
    }
    byte[] content = node.content();
    MockResponse r = new MockResponse()
        .setHeader("Last-Modified", HTTP_DATE.format(node.mtime()))
        .setHeader("ETag", node.etag())
        .setHeader("Content-Type", "application/octet-stream");
    String range = request.getHeader("Range");
    if (range != null && range.startsWith("bytes=") && !ignoreRange) {
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
      return throttled(path, r.setBody(body));
    }
    if (request.getMethod().equals("HEAD")) {
      return r.setHeader("Content-Length", content.length);
    }
    bodyBytes.addAndGet(content.length);
    return throttled(path, r.setBody(new Buffer().write(content)));
  }

  private MockResponse throttled(String path, MockResponse r) {
    long[] t = throttles.get(path);
    return t == null ? r : r.throttleBody(t[0], t[1], java.util.concurrent.TimeUnit.MILLISECONDS);
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
