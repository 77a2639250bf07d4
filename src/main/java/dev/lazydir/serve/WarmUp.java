package dev.lazydir.serve;

import dev.lazydir.internal.posix.Fd;
import dev.lazydir.tree.EntryMeta;
import dev.lazydir.tree.StubTree;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.logging.Logger;
import java.util.stream.Stream;
import okhttp3.HttpUrl;

/**
 * Runs the code that lists a directory (parsing a listing page, making and inspecting stubs) a few hundred
 * times in the background right after start, on a synthetic listing and in a scratch tree outside the served
 * one. A JVM runs new code interpreted until it is compiled: without this, the first directories a user opens
 * are listed at about half speed (ls -lR of a 2,000-file tree: 0.29-0.36 s cold, 0.12-0.16 s once warm).
 * About half a second of one core while the other starts the daemon; nothing on the network, nothing left on
 * disk.
 */
final class WarmUp {
  private static final Logger LOG = Logger.getLogger(WarmUp.class.getName());
  private static final int ENTRIES = 300;
  private static final int ROUNDS = 3;

  private WarmUp() {}

  static Thread start(Path scratch) {
    Thread t = new Thread(() -> run(scratch), "lazydir-warm-up");
    t.setDaemon(true);
    t.start();
    return t;
  }

  static void run(Path scratch) {
    long t0 = System.nanoTime();
    try (CannedOrigin canned = new CannedOrigin()) {
      preloadClasses();
      long t1 = System.nanoTime();
      deleteRecursively(scratch);
      warmListingPath(scratch.resolve("listed"), canned.url());
      long t2 = System.nanoTime();
      warmFetchPath(scratch.resolve("filled"), canned.url());
      warmEventPath();
      long t3 = System.nanoTime();
      LOG.fine(() -> "warm-up done in " + (t3 - t0) / 1_000_000 + " ms (classes " + (t1 - t0) / 1_000_000
          + " ms, listings " + (t2 - t1) / 1_000_000 + " ms)");
    } catch (IOException | RuntimeException e) {
      LOG.fine("warm-up: " + e);
    } finally {
      try {
        deleteRecursively(scratch);
      } catch (IOException e) {
        LOG.fine("warm-up cleanup: " + e.getMessage());
      }
    }
  }

  /** Lists the canned origin's directory into a scratch tree the way serve does, a few times over. */
  private static void warmListingPath(Path dir, HttpUrl origin) throws IOException {
    dev.lazydir.origin.OriginConfig config = dev.lazydir.origin.OriginConfig.builder().maxConns(2).build();
    try (dev.lazydir.origin.OriginClient client = new dev.lazydir.origin.OriginClient(config, origin);
        dev.lazydir.crawl.Crawler lister = new dev.lazydir.crawl.Crawler(client, 1, 2,
            dev.lazydir.crawl.Progress.NONE, java.time.Clock.systemUTC())) {
      lister.crawl(origin, dir);
      try (StubTree tree = StubTree.open(dir, origin.toString()); Fd root = tree.openDir(dev.lazydir.tree.TreePath.root())) {
        for (int round = 0; round < ROUNDS; round++) {
          for (String name : root.list()) {
            tree.removeOwned(root, name);
          }
          lister.listOne(tree, dev.lazydir.tree.TreePath.root());
        }
      }
    }
  }

  /**
   * A stub opened and filled the way the daemon does it (OpenStub, ContentFiller, range GETs through the fast
   * path, pwrite), from a canned origin on a loopback socket of this process into a scratch tree: nothing goes
   * to the real origin, and a user's first open and read run compiled code.
   */
  private static void warmFetchPath(Path dir, HttpUrl origin) throws IOException {
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2,
        dev.lazydir.internal.Threads.daemon("lazydir-warm-up-fetch"));
    try {
      HttpUrl url = origin.resolve("f");
      dev.lazydir.origin.OriginConfig config = dev.lazydir.origin.OriginConfig.builder().maxConns(2).build();
      Instant mtime = Instant.parse("2024-06-01T12:34:56Z");
      EntryMeta.FileMeta meta = new EntryMeta.FileMeta(CannedOrigin.BODY.length, mtime,
          EntryMeta.TimePrecision.SECONDS, null, "f");
      try (dev.lazydir.origin.OriginClient client = new dev.lazydir.origin.OriginClient(config, origin);
          StubTree tree = StubTree.open(dir, origin.toString());
          Fd root = tree.openDir(dev.lazydir.tree.TreePath.root())) {
        ContentFiller filler = new ContentFiller(client, pool, 1, java.time.Duration.ofSeconds(10), stub -> { });
        filler.silent = true;
        tree.createStub(root, "f", meta, mtime);
        for (int i = 0; i < 15; i++) {
          try (OpenStub stub = OpenStub.open(tree, dev.lazydir.tree.TreePath.of(List.of("f")), m -> url, 64 << 10)) {
            filler.ensure(stub, 0, 4096); // the first segment, then one read ahead
            filler.ensure(stub, 0, 0);
          }
          tree.resetStub(root, "f", meta, mtime);
        }
      }
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * A tiny origin on a loopback port of this process: every directory URL is a 300-entry nginx-style listing,
   * HEAD of a file gives its size and time, a range GET of /f gives that slice of a 256 KiB body.
   */
  private static final class CannedOrigin implements AutoCloseable {
    static final byte[] BODY = new byte[256 << 10];
    private static final String LAST_MODIFIED = "Sat, 01 Jun 2024 12:34:00 GMT";
    private final java.net.ServerSocket server;
    private final byte[] listing = listing().getBytes(java.nio.charset.StandardCharsets.UTF_8);

    CannedOrigin() throws IOException {
      server = new java.net.ServerSocket(0, 8, java.net.InetAddress.getLoopbackAddress());
      Thread t = new Thread(this::accept, "lazydir-warm-up-origin");
      t.setDaemon(true);
      t.start();
    }

    HttpUrl url() {
      return HttpUrl.get("http://127.0.0.1:" + server.getLocalPort() + "/");
    }

    private void accept() {
      while (!server.isClosed()) {
        try {
          java.net.Socket s = server.accept();
          Thread t = new Thread(() -> answer(s), "lazydir-warm-up-origin-conn");
          t.setDaemon(true);
          t.start();
        } catch (IOException e) {
          return; // closed: the warm-up is over
        }
      }
    }

    private void answer(java.net.Socket s) {
      try (s) {
        java.io.BufferedReader in = new java.io.BufferedReader(
            new java.io.InputStreamReader(s.getInputStream(), java.nio.charset.StandardCharsets.ISO_8859_1));
        java.io.OutputStream out = s.getOutputStream();
        String method = null;
        String path = null;
        long from = 0;
        long to = BODY.length - 1;
        for (String line; (line = in.readLine()) != null; ) {
          if (method == null) {
            String[] parts = line.split(" ");
            method = parts[0];
            path = parts.length > 1 ? parts[1] : "/";
          } else if (line.regionMatches(true, 0, "Range: bytes=", 0, 13)) {
            String[] r = line.substring(13).trim().split("-");
            from = Long.parseLong(r[0]);
            to = r.length > 1 && !r[1].isEmpty() ? Math.min(Long.parseLong(r[1]), BODY.length - 1) : BODY.length - 1;
          } else if (line.isEmpty()) {
            respond(out, method, path, from, to);
            method = null;
            from = 0;
            to = BODY.length - 1;
          }
        }
      } catch (IOException | RuntimeException e) {
        // the client hung up, or the warm-up is over
      }
    }

    private void respond(java.io.OutputStream out, String method, String path, long from, long to) throws IOException {
      String head;
      byte[] body;
      int off = 0;
      int len;
      if (path.endsWith("/")) {
        head = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: " + listing.length + "\r\n\r\n";
        body = listing;
        len = listing.length;
      } else if (path.equals("/f")) {
        head = "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes " + from + "-" + to + "/" + BODY.length
            + "\r\nContent-Length: " + (to - from + 1) + "\r\n\r\n";
        body = BODY;
        off = (int) from;
        len = (int) (to - from + 1);
      } else { // a listed file: HEAD (the crawler learns the listing's clock from one)
        int n = path.startsWith("/file-") ? 1000 + Integer.parseInt(path.substring(6, path.indexOf('.'))) : 0;
        head = "HTTP/1.1 200 OK\r\nContent-Length: " + n + "\r\nLast-Modified: " + LAST_MODIFIED + "\r\n\r\n";
        body = new byte[n];
        len = n;
      }
      out.write(head.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      if (!method.equals("HEAD")) {
        out.write(body, off, len);
      }
      out.flush();
    }

    @Override
    public void close() throws IOException {
      server.close();
    }
  }

  /**
   * Loads and initialises lazydir's own classes of the serving path (loading and verifying a class costs far
   * more than running it once, and the first open of a file used to pay for a dozen of them).
   */
  private static void preloadClasses() {
    List<String> packages = List.of("serve", "fanotify", "tree", "origin", "crawl", "index", "internal");
    ClassLoader loader = WarmUp.class.getClassLoader();
    try {
      Path where = Path.of(WarmUp.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      List<String> names = new java.util.ArrayList<>();
      if (Files.isDirectory(where)) {
        try (Stream<Path> all = Files.walk(where)) {
          all.map(p -> where.relativize(p).toString()).forEach(names::add);
        }
      } else {
        try (java.util.jar.JarFile jar = new java.util.jar.JarFile(where.toFile())) {
          jar.stream().map(java.util.zip.ZipEntry::getName).forEach(names::add);
        }
      }
      for (String name : names) {
        if (name.endsWith(".class") && packages.stream().anyMatch(p -> name.startsWith("dev/lazydir/" + p + "/"))) {
          try {
            Class.forName(name.substring(0, name.length() - 6).replace('/', '.'), true, loader);
          } catch (ClassNotFoundException | LinkageError e) {
            LOG.finest(() -> "preload " + name + ": " + e);
          }
        }
      }
    } catch (IOException | java.net.URISyntaxException | RuntimeException e) {
      LOG.fine("preloading classes: " + e);
    }
  }

  /** The event parser and the stub cache, which a user's first open and read go through. */
  private static void warmEventPath() throws IOException {
    java.nio.ByteBuffer events = java.nio.ByteBuffer.allocate(256).order(java.nio.ByteOrder.nativeOrder());
    for (int i = 0; i < 2; i++) { // an event without info, then one with a range record
      int len = dev.lazydir.fanotify.Fan.FAN_EVENT_METADATA_LEN + (i == 1 ? 24 : 0);
      events.putInt(len).put((byte) dev.lazydir.fanotify.Fan.FANOTIFY_METADATA_VERSION).put((byte) 0)
          .putShort((short) dev.lazydir.fanotify.Fan.FAN_EVENT_METADATA_LEN)
          .putLong(i == 1 ? dev.lazydir.fanotify.Fan.FAN_PRE_ACCESS : dev.lazydir.fanotify.Fan.FAN_OPEN_PERM)
          .putInt(-1).putInt(1);
      if (i == 1) {
        events.put((byte) dev.lazydir.fanotify.Fan.FAN_EVENT_INFO_TYPE_RANGE).put((byte) 0).putShort((short) 24)
            .putInt(0).putLong(0).putLong(4096);
      }
    }
    events.flip();
    for (int i = 0; i < 200; i++) {
      dev.lazydir.fanotify.EventParser.parse(events.duplicate().order(java.nio.ByteOrder.nativeOrder()));
    }
    com.github.benmanes.caffeine.cache.Cache<Long, String> cache = OpenStubs.cache((k, v, cause) -> { });
    for (long i = 0; i < 300; i++) {
      cache.put(i, "stub");
      cache.getIfPresent(i);
      cache.asMap().remove(i, "stub");
    }
  }

  /** An nginx-style autoindex page of files and directories with dates and sizes. */
  private static String listing() {
    StringBuilder b = new StringBuilder("<html><head><title>Index of /dir/</title></head><body><h1>Index of /dir/</h1>"
        + "<hr><pre><a href=\"../\">../</a>\n");
    for (int i = 0; i < ENTRIES; i++) {
      String name = i % 10 == 0 ? "sub-" + i + "/" : "file-" + i + ".c";
      b.append("<a href=\"").append(name).append("\">").append(name).append("</a>")
          .append(" ".repeat(Math.max(1, 50 - name.length()))).append("01-Jun-2024 12:34")
          .append(name.endsWith("/") ? "                   -" : String.format("%20d", 1000 + i)).append('\n');
    }
    return b.append("</pre><hr></body></html>").toString();
  }

  private static void deleteRecursively(Path p) throws IOException {
    if (!Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (Stream<Path> all = Files.walk(p)) {
      for (Path q : (Iterable<Path>) all.sorted(Comparator.reverseOrder())::iterator) {
        Files.delete(q);
      }
    }
  }
}
