package dev.lazydir.crawl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.index.IndexFetch;
import dev.lazydir.origin.OriginClient;
import dev.lazydir.testing.FakeOrigin;
import dev.lazydir.testing.IndexedTree;
import dev.lazydir.testing.LocalTree;
import dev.lazydir.testing.LogCapture;
import dev.lazydir.tree.Access;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.util.Map;
import java.util.TreeMap;
import okhttp3.HttpUrl;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CrawlFromIndexTest {
  @TempDir Path tmp;

  static CrawlReport crawl(HttpUrl url, Path dir, Access access, boolean useIndex) throws Exception {
    try (OriginClient client = new OriginClient(CrawlFixture.config(), url, d -> {}, Clock.systemUTC());
        Crawler crawler = new Crawler(client, Integer.MAX_VALUE, 4, Progress.NONE, Clock.systemUTC()).access(access)
            .index(useIndex ? new IndexFetch.Where(IndexFetch.defaultUrl(url), false) : null)) {
      return crawler.crawl(url, dir);
    }
  }

  /** Path -> "type mode mtime size target" of every entry below root, without following links. */
  static Map<String, String> facts(Path root, boolean withSize) throws Exception {
    Map<String, String> out = new TreeMap<>();
    try (var walk = Files.walk(root)) {
      for (Path p : walk.toList()) {
        if (p.getFileName().toString().equals(dev.lazydir.index.TreeIndex.DEFAULT_NAME)) {
          continue;
        }
        int mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        boolean link = Files.isSymbolicLink(p);
        String mtime = link ? "" : ((FileTime) Files.getAttribute(p, "unix:lastModifiedTime", LinkOption.NOFOLLOW_LINKS)).toInstant().toString();
        String kind = link ? "l -> " + Files.readSymbolicLink(p) : Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS) ? "d" : "f";
        String size = !withSize || link || Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS) ? "" : " " + Files.size(p);
        out.put(root.relativize(p).toString(), kind + " " + Integer.toOctalString(mode & 07777) + " " + mtime + size);
      }
    }
    return out;
  }

  @Test
  void aCrawlFromAnIndexMakesExactlyThatTreeWithOneRequest() throws Exception {
    IndexedTree t = new IndexedTree(tmp.resolve("src"));
    try (FakeOrigin origin = new FakeOrigin(); LogCapture log = new LogCapture()) {
      t.publish(origin, "/pub");
      Path dir = tmp.resolve("m");
      CrawlReport report = crawl(origin.url("/pub/"), dir, new Access(-1, -1, true, 0644), true);

      assertEquals(1, origin.requestCount(), "one request: the index");
      assertEquals(1, origin.count("GET", "/pub/.lazydir-index"));
      Map<String, String> expected = facts(t.src, true);
      expected.remove("deep/escaping");
      expected.remove("absolute");
      Map<String, String> made = facts(dir, true);
      made.remove(""); // the root's own facts below
      expected.remove("");
      assertEquals(expected, made, "names, kinds, modes, ns mtimes, sizes, link targets");
      assertEquals(Files.getLastModifiedTime(t.src), Files.getLastModifiedTime(dir), "the root's mtime too");
      assertEquals(2, log.warnings().size(), String.join("\n", log.warnings()));
      assertTrue(log.warnings().stream().anyMatch(w -> w.contains("deep/escaping") && w.contains("leaves the tree")));
      assertTrue(log.warnings().stream().anyMatch(w -> w.contains("absolute") && w.contains("absolute target")));
      assertEquals(2, report.warnings());
      assertEquals(0, LocalTree.allocatedBytes(dir.resolve("data/big.bin")), "stubs hold no data");
      // every directory is listed, and made from the index
      assertTrue(LocalTree.xattr(dir.resolve("deep/a/b"), "user.lazydir").orElseThrow().contains("i=1"));
    }
  }

  @Test
  void withoutAnIndexModesAreTheAccessDefaultsAndAnOwnerOnlyCrawlKeepsTheOwnersBits() throws Exception {
    IndexedTree t = new IndexedTree(tmp.resolve("src"));
    try (FakeOrigin origin = new FakeOrigin()) {
      t.publish(origin, "/pub");
      Path dir = tmp.resolve("m");
      crawl(origin.url("/pub/"), dir, Access.OWNER_ONLY, true);
      assertEquals("700", mode(dir.resolve("bin/run.sh")), "owner bits of 0755");
      assertEquals("600", mode(dir.resolve(".hidden")), "owner bits of 0640");
      assertEquals("500", mode(dir.resolve("deep/a")), "a read-only directory stays read-only");

      Path listed = tmp.resolve("l");
      CrawlReport report = crawl(origin.url("/pub/"), listed, Access.OWNER_ONLY, false);
      assertTrue(report.requests() > 1, "listings, as before");
      assertEquals(0, origin.count("GET", "/pub/.lazydir-index") - 1, "--no-index asks for no index");
      assertEquals("600", mode(listed.resolve("bin/run.sh")));
    }
  }

  @Test
  void aCrawlAgainFromAChangedIndexUpdatesTheTreeInPlace() throws Exception {
    IndexedTree t = new IndexedTree(tmp.resolve("src"));
    try (FakeOrigin origin = new FakeOrigin()) {
      t.publish(origin, "/pub");
      Path dir = tmp.resolve("m");
      Access all = new Access(-1, -1, true, 0644);
      crawl(origin.url("/pub/"), dir, all, true);
      // the origin changes: a file goes, one changes, one appears; a user's file in DIR stays
      Files.delete(t.src.resolve("README"));
      Files.writeString(t.src.resolve("empty"), "not any more");
      Files.writeString(t.src.resolve("deep/new.txt"), "new");
      Files.writeString(dir.resolve("deep/mine.txt"), "the user's");
      new dev.lazydir.index.IndexBuilder(t.src, t.index, IndexedTree.BLOCK).build();
      origin.file("/pub/.lazydir-index", Files.readAllBytes(t.index), IndexedTree.T);
      CrawlReport report = crawl(origin.url("/pub/"), dir, all, true);
      assertFalse(Files.exists(dir.resolve("README")));
      assertEquals(12, Files.size(dir.resolve("empty")));
      assertTrue(Files.exists(dir.resolve("deep/new.txt")));
      assertEquals("the user's", Files.readString(dir.resolve("deep/mine.txt")));
      assertEquals(1, report.removed());
      assertEquals(1, report.reset());
      Map<String, String> expected = facts(t.src, true);
      expected.keySet().removeIf(k -> k.isEmpty() || k.equals("deep/escaping") || k.equals("absolute"));
      Map<String, String> made = facts(dir, true);
      made.keySet().removeIf(k -> k.isEmpty() || k.equals("deep/mine.txt"));
      made.remove("deep");
      expected.remove("deep"); // its mtime moved with the user's file
      assertEquals(expected, made);
    }
  }

  static String mode(Path p) throws Exception {
    return Integer.toOctalString((Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07777);
  }
}
