package dev.lazydir.hsm;

import dev.lazydir.internal.posix.Fd;
import dev.lazydir.origin.ListingParser;
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
 * Low priority, a few hundred milliseconds of one core, nothing on the network, nothing left on disk.
 */
final class WarmUp {
  private static final Logger LOG = Logger.getLogger(WarmUp.class.getName());
  private static final int ENTRIES = 300;
  private static final int ROUNDS = 4;

  private WarmUp() {}

  static void start(Path scratch) {
    Thread t = new Thread(() -> run(scratch), "lazydir-warm-up");
    t.setDaemon(true);
    t.setPriority(Thread.MIN_PRIORITY);
    t.start();
  }

  static void run(Path scratch) {
    long t0 = System.nanoTime();
    try {
      HttpUrl page = HttpUrl.get("http://warm-up.invalid/dir/");
      String html = listing();
      for (int i = 0; i < 4 * ROUNDS; i++) {
        ListingParser.parse(html, page);
      }
      long t1 = System.nanoTime();
      deleteRecursively(scratch);
      try (StubTree tree = StubTree.open(scratch, "http://warm-up.invalid/"); Fd root = tree.openDir(List.of())) {
        Instant mtime = Instant.parse("2024-06-01T12:34:00Z");
        for (int round = 0; round < ROUNDS; round++) {
          for (int i = 0; i < ENTRIES; i++) {
            String name = "file-" + i + ".c";
            tree.createStub(root, name, new EntryMeta.FileMeta(1000 + i, mtime, EntryMeta.TimePrecision.MINUTES,
                null, name), mtime);
          }
          for (String name : root.list()) {
            tree.inspect(root, name);
            tree.removeOwned(root, name);
          }
        }
      }
      long t2 = System.nanoTime();
      LOG.fine(() -> "warm-up done in " + (t2 - t0) / 1_000_000 + " ms (parsing " + (t1 - t0) / 1_000_000 + " ms)");
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
