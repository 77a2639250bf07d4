package dev.lazydir.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.crawl.TreeUrls;
import dev.lazydir.origin.PercentCodec;
import dev.lazydir.testing.LocalTree;
import dev.lazydir.tree.StubTree;
import dev.lazydir.tree.TreePath;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Crawls the tricky tree of test-fixtures/make-tree.sh served by real nginx, Apache and python servers, through
 * the command line, and compares DIR with the served tree: names, sizes, mtimes (to the server's precision) and
 * lazydir's xattrs. The servers come from Debian packages that .ci/run installs; a missing server fails. nginx
 * runs with each of its autoindex formats (html, json, xml).
 */
class RealServersCrawlTest {
  @TempDir static Path tmp;
  static Path tree;

  @BeforeAll
  static void makeTree() throws Exception {
    // Apache's workers run as www-data: every directory down to the tree must be traversable.
    for (Path p = tmp; p != null && p.startsWith("/tmp") && !p.equals(Path.of("/tmp")); p = p.getParent()) {
      Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
    tree = tmp.resolve("tree");
    run(Map.of(), "bash", "test-fixtures/make-tree.sh", tree.toString());
  }

  @ParameterizedTest(name = "{0} (TZ {1})")
  @CsvSource({"nginx, UTC", "nginx-approx, UTC", "apache-fancy, UTC", "apache-table, UTC",
      "apache-fancy, Asia/Tokyo", "python, UTC", "nginx-json, UTC", "nginx-xml, UTC", "nginx-json, Asia/Tokyo"})
  void crawlGivesExactlyTheServedTree(String kind, String zone) throws Exception {
    // nginx's JSON and XML listings: exact sizes and GMT times to the second, so nothing to probe.
    boolean structured = kind.equals("nginx-json") || kind.equals("nginx-xml");
    Path work = tmp.resolve("work-" + kind + "-" + zone.replace('/', '-'));
    Path dir = tmp.resolve("dir-" + kind + "-" + zone.replace('/', '-'));
    int port = freePort();
    run(Map.of("LAZYDIR_SERVER_TZ", zone), "bash", "test-fixtures/servers/serve.sh", kind, tree.toString(),
        Integer.toString(port), work.toString());
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int exit;
    Map<String, String> fetched = new TreeMap<>();
    try {
      exit = Cli.run(new String[] {"crawl", "http://127.0.0.1:" + port + "/", dir.toString()},
          new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
      if (structured) {
        fetched = headEveryFile(dir);
      }
    } finally {
      run(Map.of(), "bash", "test-fixtures/servers/stop.sh", work.toString());
    }
    String stderr = err.toString(StandardCharsets.UTF_8);

    // nginxindex/ holds an index.html, which every server serves instead of a listing: its one link (zzz)
    // is missing on the server, so it is skipped with a warning and the directory stays empty.
    assertEquals(ExitCodes.PARTIAL, exit, stderr);
    assertTrue(stderr.contains("nginxindex/zzz"), stderr);
    assertEquals(1, stderr.lines().filter(l -> l.contains(" WARN ")).count(), stderr);

    Map<String, Entry> expected = served(kind);
    Map<String, Entry> actual = walk(dir);
    assertEquals(expected.keySet(), actual.keySet());
    boolean secondsEverywhere = kind.equals("python") || structured;
    for (Map.Entry<String, Entry> e : expected.entrySet()) {
      Entry want = e.getValue();
      Entry got = actual.get(e.getKey());
      String what = kind + ": " + e.getKey();
      assertEquals(want.size, got.size, what);
      if (want.size >= 0) {
        Instant minute = want.mtime.truncatedTo(ChronoUnit.MINUTES);
        assertTrue(got.mtime.equals(want.mtime) || (!secondsEverywhere && got.mtime.equals(minute)),
            what + ": mtime " + got.mtime + ", served " + want.mtime);
        Path file = dir.resolve(e.getKey());
        assertEquals(0, LocalTree.allocatedBytes(file), what + " is a stub with no blocks");
        String meta = LocalTree.xattr(file, "user.lazydir").orElseThrow();
        assertTrue(meta.startsWith("v=1\ns=" + want.size + "\n"), what + ": " + meta);
        assertTrue(meta.contains("\nm=" + got.mtime.getEpochSecond() + "\n"), what + ": " + meta);
      } else if (!secondsEverywhere && !e.getKey().equals("nginxindex/")) {
        assertEquals(want.mtime.truncatedTo(ChronoUnit.MINUTES), got.mtime, what + " (directory time from the listing)");
      } else if (structured && !e.getKey().equals("nginxindex/")) {
        assertEquals(want.mtime, got.mtime, what + " (directory time from the listing, to the second)");
      }
    }
    if (structured) {
      // One GET per directory, nothing else: no HEAD per file, no probe to learn the zone. The one HEAD is
      // nginxindex/'s HTML page's link to zzz (that page is HTML whatever autoindex_format says); the one other
      // GET asks for the tree index first (none here: 404).
      List<String> want = new ArrayList<>();
      for (String path : expected.keySet()) {
        if (path.endsWith("/")) {
          want.add("GET " + encodedPath(path));
        }
      }
      want.add("GET /");
      want.add("GET /.lazydir-index");
      want.add("HEAD /nginxindex/zzz");
      Collections.sort(want);
      assertEquals(want, lazydirRequests(work.resolve("access.log")));
      // Each file answers at the URL lazydir would fetch it from (its name percent-encoded as lazydir writes
      // it, as no other spelling was recorded), with its size.
      Map<String, String> sizes = new TreeMap<>();
      expected.forEach((k, v) -> {
        if (v.size >= 0) {
          sizes.put(k, "200 " + v.size);
        }
      });
      assertEquals(sizes, fetched);
    }
    assertEquals("http://127.0.0.1:" + port + "/", LocalTree.xattr(dir, "user.lazydir.origin").orElseThrow());
    // Listed; a listing that gives every size and time itself (its one file is small: every server but python
    // gives its exact size) is recorded by its digest and the directory's mtime (no server here sends
    // validators); python's bare links need probes and are not recorded.
    String meta = LocalTree.xattr(dir.resolve("sub dir/deeper"), "user.lazydir").orElseThrow();
    boolean selfDescribing = !kind.equals("python");
    assertTrue(meta.matches(selfDescribing ? "v=1\nl=[1-9]\\d+\nh=[0-9a-f]{16}\nd=\\d+(\\.\\d+)?" : "v=1\nl=[1-9]\\d+"),
        kind + ": " + meta);
  }

  /** "/" and each segment of path as lazydir encodes a name ({@link PercentCodec#canonicalSegment}). */
  private static String encodedPath(String path) {
    StringBuilder sb = new StringBuilder();
    for (String segment : path.split("/")) {
      sb.append('/').append(PercentCodec.canonicalSegment(segment));
    }
    return sb.append(path.endsWith("/") ? "/" : "").toString();
  }

  /** "METHOD path" of each request lazydir made (by its User-Agent), from nginx's access log, sorted. */
  private static List<String> lazydirRequests(Path accessLog) throws IOException {
    List<String> requests = new ArrayList<>();
    for (String line : Files.readAllLines(accessLog, StandardCharsets.ISO_8859_1)) {
      if (line.endsWith("\"lazydir/" + Cli.version() + "\"")) {
        String request = line.substring(line.indexOf('"') + 1, line.indexOf(" HTTP/"));
        requests.add(request);
      }
    }
    Collections.sort(requests);
    return requests;
  }

  /** For each file of the crawled tree: "status length" of a HEAD of the URL the daemon would fetch it from. */
  private static Map<String, String> headEveryFile(Path dir) throws IOException {
    Map<String, String> out = new TreeMap<>();
    okhttp3.OkHttpClient http = new okhttp3.OkHttpClient();
    String origin = LocalTree.xattr(dir, "user.lazydir.origin").orElseThrow();
    try (StubTree tree = StubTree.open(dir, origin)) {
      for (Map.Entry<String, Entry> e : walk(dir).entrySet()) {
        if (e.getValue().size < 0) {
          continue;
        }
        String meta = LocalTree.xattr(dir.resolve(e.getKey()), "user.lazydir").orElseThrow();
        assertFalse(meta.contains("\nn="), e.getKey() + ": a listed spelling was recorded: " + meta);
        TreePath rel = TreePath.parse(e.getKey());
        okhttp3.HttpUrl url = TreeUrls.dirUrl(tree, rel.parent()).newBuilder()
            .addEncodedPathSegment(PercentCodec.canonicalSegment(rel.name())).build();
        try (okhttp3.Response r = http.newCall(new okhttp3.Request.Builder().url(url).head().build()).execute()) {
          out.put(e.getKey(), r.code() + " " + r.header("Content-Length"));
        }
      }
    } finally {
      http.dispatcher().executorService().shutdown();
      http.connectionPool().evictAll();
    }
    return out;
  }

  /** What the server exposes: the tree minus what it hides (nginx: dotfiles) and nginxindex/'s content. */
  private static Map<String, Entry> served(String kind) throws IOException {
    Map<String, Entry> all = walk(tree);
    all.keySet().removeIf(k -> k.startsWith("nginxindex/") && !k.equals("nginxindex/"));
    if (kind.startsWith("nginx")) {
      all.keySet().removeIf(k -> Path.of(k).getFileName().toString().startsWith("."));
    }
    return all;
  }

  private record Entry(long size, Instant mtime) {}

  private static Map<String, Entry> walk(Path root) throws IOException {
    Map<String, Entry> out = new TreeMap<>();
    try (Stream<Path> s = Files.walk(root)) {
      for (Path p : (Iterable<Path>) s::iterator) {
        if (p.equals(root)) {
          continue;
        }
        boolean dir = Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS);
        out.put(root.relativize(p) + (dir ? "/" : ""),
            new Entry(dir ? -1 : Files.size(p), Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS).toInstant()));
      }
    }
    return out;
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private static void run(Map<String, String> env, String... command) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    pb.environment().putAll(env);
    Process p = pb.start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      p.destroyForcibly();
      throw new IOException(String.join(" ", command) + " failed:\n" + output);
    }
  }
}
