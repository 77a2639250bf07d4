package dev.lazydir.crawl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.testing.FakeOrigin;
import dev.lazydir.testing.IndexedTree;
import dev.lazydir.testing.LocalTree;
import dev.lazydir.testing.LogCapture;
import dev.lazydir.tree.Access;
import dev.lazydir.tree.EntryMeta;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A process killed (SIGKILL: no clean-up runs) while it makes a whole tree from an index leaves no directory that
 * says it is listed and lacks entries, so nothing that reads the tree afterwards takes it as complete; the next
 * crawl removes what the killed one left and makes the tree whole.
 */
class CrawlKilledWhileMakingATreeTest {
  @TempDir Path tmp;

  @Test
  void aCrawlKilledWhileItMakesTheTreeLeavesNoDirectoryThatSaysItIsListedAndTheNextCrawlMakesItWhole() throws Exception {
    // Large enough that the build outlasts the poll below on a quiet machine (120 directories sometimes did not).
    IndexedTree t = new IndexedTree(tmp.resolve("src"), 300, 100);
    Path dir = tmp.resolve("m");
    try (FakeOrigin origin = new FakeOrigin()) {
      t.publish(origin, "/pub");
      List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
          "dev.lazydir.cli.Main", "crawl", origin.url("/pub/").toString(), dir.toString());
      Path log = tmp.resolve("crawl.log");
      Process crawl = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
      try {
        // Killed once directories are being finished in the staging directory: the build is under way.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (finishedInStaging(dir) < 20) {
          assertTrue(crawl.isAlive(), "the crawl ended before it could be killed:\n" + Files.readString(log));
          assertTrue(System.nanoTime() < deadline, "no directory was finished within 60 s");
          Thread.sleep(2);
        }
      } finally {
        crawl.destroyForcibly();
        assertTrue(crawl.waitFor(30, TimeUnit.SECONDS));
      }
      assertFalse(rootMeta(dir).listed(), "the root does not say it is listed");
      assertEquals(Map.of(), listedButLacking(dir, t.src), "directories that say they are listed but lack entries");

      try (LogCapture warnings = new LogCapture()) {
        CrawlReport r = CrawlFromIndexTest.crawl(origin.url("/pub/"), dir, Access.OWNER_ONLY, true);
        assertEquals(List.of(), warnings.warnings().stream().filter(w -> !w.contains("symlink not made")).toList());
        assertEquals(1, r.requests(), "one request: the index");
      }
      try (Stream<Path> names = Files.list(dir)) {
        assertEquals(List.of(), names.filter(p -> p.getFileName().toString().startsWith(".lazydir.tmp")).toList(),
            "what the killed crawl left is gone");
      }
      assertTrue(rootMeta(dir).listed());
      List<String> expected = names(t.src).stream().filter(k -> !k.equals("deep/escaping") && !k.equals("absolute")).toList();
      assertEquals(expected, names(dir));
    }
  }

  /** Every entry below root, links not followed. */
  static List<String> names(Path root) throws IOException {
    try (Stream<Path> walk = Files.walk(root)) {
      return walk.filter(p -> !p.equals(root)).map(p -> root.relativize(p).toString()).sorted().toList();
    }
  }

  /** Directories of wide/ in the staging directory that a build has finished (they carry lazydir's xattr). */
  static int finishedInStaging(Path dir) {
    try (Stream<Path> top = Files.list(dir)) {
      for (Path staging : top.filter(p -> p.getFileName().toString().startsWith(".lazydir.tmp.staging.")).toList()) {
        int n = 0;
        try (Stream<Path> dirs = Files.list(staging.resolve("wide"))) {
          for (Path d : dirs.toList()) {
            n += LocalTree.xattr(d, EntryMeta.XATTR).isPresent() ? 1 : 0;
          }
        }
        return n;
      }
    } catch (IOException notYet) {
      return 0;
    }
    return 0;
  }

  /** Listed directories (outside temporaries) holding fewer entries than the same directory of src. */
  static Map<String, Long> listedButLacking(Path dir, Path src) throws Exception {
    Map<String, Long> out = new TreeMap<>();
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) walk::iterator) {
        String rel = dir.relativize(p).toString();
        if (rel.contains(".lazydir.tmp") || !Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
          continue;
        }
        if (EntryMeta.decode(LocalTree.xattrBytes(p, EntryMeta.XATTR).orElseThrow()).orElseThrow()
            instanceof EntryMeta.DirMeta m && m.listed()) {
          long want = count(src.resolve(rel), List.of("escaping", "absolute", ".lazydir-index"));
          long have = count(p, List.of());
          if (have < want) {
            out.put(rel, want - have);
          }
        }
      }
    }
    return out;
  }

  private static long count(Path dir, List<String> except) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString())
          .filter(n -> !n.startsWith(".lazydir.tmp") && !except.contains(n)).count();
    }
  }

  static EntryMeta.DirMeta rootMeta(Path dir) throws IOException {
    return (EntryMeta.DirMeta) EntryMeta.decode(LocalTree.xattrBytes(dir, EntryMeta.XATTR).orElseThrow()).orElseThrow();
  }
}
