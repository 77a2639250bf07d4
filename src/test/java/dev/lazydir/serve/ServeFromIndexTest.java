package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.testing.Commands.Result;
import dev.lazydir.testing.FakeOrigin;
import dev.lazydir.testing.IndexedTree;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `lazydir serve` of an origin that publishes a tree index: the whole tree from one request, exact. */
class ServeFromIndexTest {
  @TempDir Path tmp;

  /** Path -> "kind mode mtime size" below root, without following links (a link's mtime left out). */
  static Map<String, String> facts(Path root) throws Exception {
    Map<String, String> out = new TreeMap<>();
    try (var walk = Files.walk(root)) {
      for (Path p : walk.toList()) {
        boolean link = Files.isSymbolicLink(p);
        boolean dir = Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS);
        int mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        String mtime = link ? "" : ((FileTime) Files.getAttribute(p, "unix:lastModifiedTime", LinkOption.NOFOLLOW_LINKS)).toInstant().toString();
        out.put(root.relativize(p).toString(), (link ? "l -> " + Files.readSymbolicLink(p) : dir ? "d" : "f " + Files.size(p))
            + " " + Integer.toOctalString(mode & 07777) + " " + mtime);
      }
    }
    return out;
  }

  @Test
  void rightAfterReadyADeepFileReadsCorrectlyAndModesAreExactWithoutAnyListing() throws Exception {
    IndexedTree t = new IndexedTree(tmp.resolve("src"));
    try (FakeOrigin origin = new FakeOrigin(); ServeBed bed = new ServeBed(tmp.resolve("bed"))) {
      t.publish(origin, "");
      bed.serve(origin.url("/").toString(), "--allow-other", "--prefetch-small", "0");
      // A first start asks for the top level's listing at the same time as the index (it cannot know yet whether
      // there is one): ready after the index and at most that one listing, which the index makes unneeded.
      assertEquals(1, origin.count("GET", "/.lazydir-index"), "the index, once");
      assertTrue(origin.requestCount() <= 2 && origin.requestCount() - 1 == origin.count("GET", "/"),
          "nothing but the index and the top level's listing: " + origin.requests());

      Result deep = ServeBed.run(20, "cat", bed.view.resolve("deep/a/b/c/d/e/treasure.txt").toString());
      assertEquals(0, deep.exit(), deep.err());
      assertEquals("deep down\n", deep.text());

      Map<String, String> expected = facts(t.src);
      expected.keySet().removeIf(k -> k.isEmpty() || k.equals("deep/escaping") || k.equals("absolute"));
      Map<String, String> seen = facts(bed.view);
      seen.remove("");
      assertEquals(expected, seen, "names, kinds, sizes, exact modes and ns mtimes, link targets");

      Result big = ServeBed.run(20, "sha256sum", bed.view.resolve("data/big.bin").toString());
      assertEquals(0, big.exit(), big.err());
      assertTrue(big.text().startsWith(java.util.HexFormat.of().formatHex(
          java.security.MessageDigest.getInstance("SHA-256").digest(t.files.get("data/big.bin")))));
      Result throughLink = ServeBed.run(20, "cat", bed.view.resolve("deep/link-in").toString());
      assertEquals("deep down\n", throughLink.text(), "the index's own links work through DIR: " + throughLink.err());
      Result dot = ServeBed.run(20, "cat", bed.view.resolve(".hidden").toString());
      assertEquals("dot\n", dot.text());
      assertTrue(origin.count("GET", "/") <= 1, "no listing was asked for but the top level's, with the index");
      assertEquals(0, origin.count("GET", "/deep/"));
      assertEquals(facts(t.src).get("data/big.bin"), facts(bed.view).get("data/big.bin"), "mtime kept after the fill");
    }
  }

  @Test
  void aRestartWhoseIndexIsUnchangedGetsA304AndStillServesAndVerifies() throws Exception {
    IndexedTree t = new IndexedTree(tmp.resolve("src"));
    try (FakeOrigin origin = new FakeOrigin(); ServeBed bed = new ServeBed(tmp.resolve("bed"))) {
      t.publish(origin, "");
      bed.stop(bed.serve(origin.url("/").toString(), "--prefetch-small", "0"));
      int requests = origin.requestCount();
      long indexBytes = origin.bodyBytesSent();

      bed.serve(origin.url("/").toString(), "--prefetch-small", "0");

      assertEquals(requests + 1, origin.requestCount(), "one request at the restart: the index, asked if changed");
      assertTrue(origin.lastRequest().getHeader("If-None-Match") != null);
      assertEquals(indexBytes, origin.bodyBytesSent(), "answered 304: no byte of the index sent again");
      Result deep = ServeBed.run(20, "cat", bed.view.resolve("deep/a/b/c/d/e/treasure.txt").toString());
      assertEquals("deep down\n", deep.text(), deep.err());
      // The digests kept from the first start still verify: other bytes at the same size give EIO.
      origin.file("/README", "TOP\n".getBytes(StandardCharsets.UTF_8), IndexedTree.T);
      Result readme = ServeBed.run(20, "cat", bed.view.resolve("README").toString());
      assertNotEquals(0, readme.exit());
      assertArrayEquals(new byte[0], readme.out(), "no unverified byte");
    }
  }

  @Test
  void aFileWhoseSizeTheOriginContradictsGivesEioNeverOtherBytes() throws Exception {
    IndexedTree t = new IndexedTree(tmp.resolve("src"));
    try (FakeOrigin origin = new FakeOrigin(); ServeBed bed = new ServeBed(tmp.resolve("bed"))) {
      t.publish(origin, "");
      origin.file("/README", "not what the index says\n".getBytes(StandardCharsets.UTF_8), IndexedTree.T);
      bed.serve(origin.url("/").toString(), "--prefetch-small", "0");
      Result r = ServeBed.run(20, "cat", bed.view.resolve("README").toString());
      assertNotEquals(0, r.exit());
      assertTrue(r.err().contains("Input/output error"), r.err());
      assertArrayEquals(new byte[0], r.out(), "no byte of another version");
    }
  }

  @Test
  void aRestartWithTheSameIndexChangesNothingAndAChangedIndexUpdatesTheTreeInPlace() throws Exception {
    IndexedTree t = new IndexedTree(tmp.resolve("src"));
    try (FakeOrigin origin = new FakeOrigin(); ServeBed bed = new ServeBed(tmp.resolve("bed"))) {
      t.publish(origin, "");
      String[] args = {"-v", "--allow-other", "--prefetch-small", "0"};
      Process first = bed.serve(origin.url("/").toString(), args);
      assertEquals("top\n", ServeBed.run(20, "cat", bed.view.resolve("README").toString()).text());
      Map<String, String> before = facts(bed.view);
      assertEquals(0, bed.stop(first));
      Path store = bed.store.resolve("tree");
      Object inode = Files.getAttribute(store.resolve("deep/a/b/c/d/e/treasure.txt"), "unix:ino");

      int requests = origin.requestCount();
      Process second = bed.serve(origin.url("/").toString(), args);
      assertEquals(requests + 1, origin.requestCount(), "ready after one request: the index");
      assertTrue(bed.daemonLog(1).contains("tree index: the one the tree was made from; nothing to change"), bed.daemonLog(1));
      assertTrue(bed.ready.contains("namespace complete: 10 directories"), bed.ready);
      assertEquals(before, facts(bed.view));
      assertEquals(inode, Files.getAttribute(store.resolve("deep/a/b/c/d/e/treasure.txt"), "unix:ino"), "not made again");
      Result deep = ServeBed.run(20, "cat", bed.view.resolve("deep/a/b/c/d/e/treasure.txt").toString());
      assertEquals("deep down\n", deep.text(), "stubs kept from the last start are filled: " + deep.err());
      assertEquals(0, bed.stop(second));

      Files.writeString(t.src.resolve("README"), "top, second edition\n");
      Files.setLastModifiedTime(t.src.resolve("README"), FileTime.from(IndexedTree.T.plusSeconds(60)));
      new dev.lazydir.index.IndexBuilder(t.src, t.index, IndexedTree.BLOCK).build();
      t.publish(origin, "");
      origin.file("/README", Files.readAllBytes(t.src.resolve("README")), IndexedTree.T.plusSeconds(60));
      bed.serve(origin.url("/").toString(), args);
      assertTrue(bed.daemonLog(2).contains("0 created, 1 reset, 0 removed"), bed.daemonLog(2));
      assertEquals("top, second edition\n", ServeBed.run(20, "cat", bed.view.resolve("README").toString()).text());
    }
  }

  @Test
  void aStartWithoutTheIndexAfterAnApplyThatStoppedHalfwayDoesNotSayTheNamespaceIsComplete() throws Exception {
    IndexedTree t = new IndexedTree(tmp.resolve("src"));
    try (FakeOrigin origin = new FakeOrigin(); ServeBed bed = new ServeBed(tmp.resolve("bed"))) {
      t.publish(origin, "");
      assertEquals(0, bed.stop(bed.serve(origin.url("/").toString())));

      // The next index adds a file where the store refuses it (an immutable directory): the apply stops halfway.
      Files.writeString(t.src.resolve("deep/a/b/new.txt"), "new\n");
      new dev.lazydir.index.IndexBuilder(t.src, t.index, IndexedTree.BLOCK).build();
      t.publish(origin, "");
      origin.file("/deep/a/b/new.txt", "new\n", IndexedTree.T);
      Path immutable = bed.store.resolve("tree/deep/a/b");
      assertEquals(0, ServeBed.run(10, "chattr", "+i", immutable.toString()).exit());
      try {
        assertNotEquals(0, bed.serveFailing(origin.url("/").toString()));
      } finally {
        assertEquals(0, ServeBed.run(10, "chattr", "-i", immutable.toString()).exit());
      }

      origin.remove("/.lazydir-index"); // a 404: listings are used, and i=1 directories are never listed from them
      Process p = bed.serve(origin.url("/").toString());
      assertTrue(bed.ready.contains("namespace incomplete: the last start stopped while it applied the tree index"),
          bed.ready);
      assertEquals(0, bed.stop(p));

      t.publish(origin, "");
      bed.serve(origin.url("/").toString());
      assertTrue(bed.ready.contains("namespace complete"), bed.ready);
      assertEquals("new\n", ServeBed.run(20, "cat", bed.view.resolve("deep/a/b/new.txt").toString()).text());
    }
  }
}
