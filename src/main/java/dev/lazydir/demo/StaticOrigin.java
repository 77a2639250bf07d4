package dev.lazydir.demo;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import okhttp3.HttpUrl;

/**
 * A small static file server on 127.0.0.1, enough to be a realistic origin for the demo and for benchmarks:
 * nginx-style listings (exact sizes, GMT minute times), HEAD, Last-Modified, ETag and single byte ranges.
 * Built on the JDK's own HTTP server so lazydir ships no server dependency. Never serves outside its root.
 */
public final class StaticOrigin implements Closeable {
  private static final DateTimeFormatter LISTING_TIME =
      DateTimeFormatter.ofPattern("dd-MMM-yyyy HH:mm", Locale.ENGLISH).withZone(ZoneOffset.UTC);
  private static final DateTimeFormatter HTTP_DATE = DateTimeFormatter.RFC_1123_DATE_TIME.withZone(ZoneOffset.UTC);
  private static final Pattern RANGE = Pattern.compile("bytes=(\\d*)-(\\d*)");

  private final Path root;
  private final HttpServer server;
  private final ExecutorService executor;

  public StaticOrigin(Path root) throws IOException {
    this.root = root.toRealPath();
    this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
    this.executor = Executors.newFixedThreadPool(8, dev.lazydir.internal.Threads.daemon("lazydir-origin"));
    server.setExecutor(executor);
    server.createContext("/", this::handle);
    server.start();
  }

  public HttpUrl url() {
    return HttpUrl.get("http://127.0.0.1:" + server.getAddress().getPort() + "/");
  }

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      if (!ex.getRequestMethod().equals("GET") && !ex.getRequestMethod().equals("HEAD")) {
        send(ex, 405, "method not allowed");
        return;
      }
      Path path = resolve(ex.getRequestURI());
      if (path == null || !Files.exists(path, LinkOption.NOFOLLOW_LINKS) || Files.isSymbolicLink(path)) {
        send(ex, 404, "not found");
        return;
      }
      String rawPath = ex.getRequestURI().getRawPath();
      if (Files.isDirectory(path)) {
        if (!rawPath.endsWith("/")) {
          ex.getResponseHeaders().set("Location", rawPath + "/");
          send(ex, 301, "");
          return;
        }
        ex.getResponseHeaders().set("Content-Type", "text/html; charset=utf-8");
        send(ex, 200, listing(path, ex.getRequestURI().getPath()));
        return;
      }
      serveFile(ex, path);
    }
  }

  private Path resolve(URI uri) {
    String decoded = uri.getPath();
    if (decoded == null || decoded.contains("\0")) {
      return null;
    }
    Path p = root;
    for (String part : decoded.split("/")) {
      if (part.isEmpty()) {
        continue;
      }
      if (part.equals("..") || part.equals(".")) {
        return null;
      }
      p = p.resolve(part);
    }
    return p.normalize().startsWith(root) ? p : null;
  }

  private void serveFile(HttpExchange ex, Path path) throws IOException {
    long size = Files.size(path);
    long mtime = Files.getLastModifiedTime(path).toMillis();
    var h = ex.getResponseHeaders();
    h.set("Content-Type", "application/octet-stream");
    h.set("Last-Modified", HTTP_DATE.format(java.time.Instant.ofEpochMilli(mtime)));
    h.set("ETag", "\"" + Long.toHexString(mtime / 1000) + "-" + Long.toHexString(size) + "\"");
    h.set("Accept-Ranges", "bytes");
    long start = 0;
    long end = size - 1;
    int status = 200;
    String range = ex.getRequestHeaders().getFirst("Range");
    if (range != null) {
      Matcher m = RANGE.matcher(range.trim());
      if (m.matches() && !(m.group(1).isEmpty() && m.group(2).isEmpty())) {
        if (m.group(1).isEmpty()) {
          start = Math.max(0, size - Long.parseLong(m.group(2)));
        } else {
          start = Long.parseLong(m.group(1));
          end = m.group(2).isEmpty() ? size - 1 : Math.min(Long.parseLong(m.group(2)), size - 1);
        }
        if (start >= size || start > end) {
          h.set("Content-Range", "bytes */" + size);
          ex.sendResponseHeaders(416, -1);
          return;
        }
        status = 206;
        h.set("Content-Range", "bytes " + start + "-" + end + "/" + size);
      }
    }
    long length = end - start + 1;
    if (ex.getRequestMethod().equals("HEAD")) {
      h.set("Content-Length", Long.toString(Math.max(length, 0)));
      ex.sendResponseHeaders(status, -1);
      return;
    }
    ex.sendResponseHeaders(status, length <= 0 ? -1 : length);
    if (length <= 0) {
      return;
    }
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ); OutputStream out = ex.getResponseBody()) {
      InputStream in = Channels.newInputStream(ch.position(start));
      byte[] buf = new byte[256 * 1024];
      long left = length;
      while (left > 0) {
        int n = in.read(buf, 0, (int) Math.min(buf.length, left));
        if (n < 0) {
          break;
        }
        out.write(buf, 0, n);
        left -= n;
      }
    }
  }

  private static String listing(Path dir, String decodedPath) throws IOException {
    List<Path> children = new ArrayList<>();
    try (Stream<Path> s = Files.list(dir)) {
      s.sorted().forEach(children::add);
    }
    String title = escape(decodedPath);
    StringBuilder sb = new StringBuilder("<html>\n<head><title>Index of ").append(title)
        .append("</title></head>\n<body>\n<h1>Index of ").append(title).append("</h1><hr><pre><a href=\"../\">../</a>\n");
    for (Path child : children) {
      if (Files.isSymbolicLink(child)) {
        continue;
      }
      boolean isDir = Files.isDirectory(child);
      String name = child.getFileName().toString();
      String href = HttpUrl.get("http://x/").newBuilder().addPathSegment(name).build().encodedPath().substring(1)
          + (isDir ? "/" : "");
      sb.append("<a href=\"").append(escape(href)).append("\">").append(escape(name + (isDir ? "/" : "")))
          .append("</a> ").append(LISTING_TIME.format(Files.getLastModifiedTime(child).toInstant()))
          .append(' ').append(isDir ? "-" : Long.toString(Files.size(child))).append('\n');
    }
    return sb.append("</pre><hr></body>\n</html>\n").toString();
  }

  private static String escape(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
  }

  private static void send(HttpExchange ex, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    if (ex.getRequestMethod().equals("HEAD") || bytes.length == 0) {
      ex.sendResponseHeaders(status, -1);
      return;
    }
    ex.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(bytes);
    }
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
