package dev.lazydir.crawl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.index.IndexBuilder;
import dev.lazydir.index.IndexFetch;
import dev.lazydir.testing.FakeOrigin;
import dev.lazydir.testing.IndexedTree;
import dev.lazydir.testing.LocalTree;
import dev.lazydir.tree.Access;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import okhttp3.mockwebserver.RecordedRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tree index is asked for again with the validators it came with (recorded on the tree's root once it was
 * applied whole): a 304 leaves the tree as it is, with no download, no validation and no walk; a new index is
 * applied as before.
 */
class TreeIndexIsRevalidatedTest {
  @TempDir Path tmp;

  @Test
  void anUnchangedIndexIsA304AndTheTreeIsLeftAsItIs() throws Exception {
    IndexedTree t = new IndexedTree(tmp.resolve("src"));
    try (FakeOrigin origin = new FakeOrigin()) {
      t.publish(origin, "/pub");
      Path dir = tmp.resolve("m");
      CrawlFromIndexTest.crawl(origin.url("/pub/"), dir, Access.OWNER_ONLY, true);
      assertTrue(LocalTree.xattr(dir, IndexFetch.APPLIED_XATTR).orElseThrow().contains("\n\""), "its ETag recorded");
      Map<String, String> before = ListingsAreRevalidatedTest.everyEntry(dir);

      CrawlReport again = CrawlFromIndexTest.crawl(origin.url("/pub/"), dir, Access.OWNER_ONLY, true);

      assertTrue(again.indexUnchanged(), again.summary());
      RecordedRequest last = origin.lastRequest();
      assertEquals("/pub/.lazydir-index", FakeOrigin.decodedPath(last));
      assertTrue(last.getHeader("If-None-Match") != null, "asked with the index's ETag");
      assertEquals(before, ListingsAreRevalidatedTest.everyEntry(dir), "no entry touched");
    }
  }

  @Test
  void aNewIndexIsAppliedAndRecordedInstead() throws Exception {
    IndexedTree t = new IndexedTree(tmp.resolve("src"));
    try (FakeOrigin origin = new FakeOrigin()) {
      t.publish(origin, "/pub");
      Path dir = tmp.resolve("m");
      CrawlFromIndexTest.crawl(origin.url("/pub/"), dir, Access.OWNER_ONLY, true);
      String first = LocalTree.xattr(dir, IndexFetch.APPLIED_XATTR).orElseThrow();

      Files.writeString(t.src.resolve("README"), "top, rewritten\n");
      new IndexBuilder(t.src, t.index, IndexedTree.BLOCK).build();
      origin.file("/pub/README", Files.readAllBytes(t.src.resolve("README")),
          Files.getLastModifiedTime(t.src.resolve("README")).toInstant());
      origin.file("/pub/.lazydir-index", Files.readAllBytes(t.index), IndexedTree.T);
      CrawlReport again = CrawlFromIndexTest.crawl(origin.url("/pub/"), dir, Access.OWNER_ONLY, true);

      assertFalse(again.indexUnchanged());
      assertEquals(1, again.reset(), again.summary());
      assertEquals(15, Files.size(dir.resolve("README")));
      assertFalse(first.equals(LocalTree.xattr(dir, IndexFetch.APPLIED_XATTR).orElseThrow()), "the new one recorded");
    }
  }

  @Test
  void withoutTheIndexTheTreeIsListedAndNothingIsRecorded() throws Exception {
    try (FakeOrigin origin = new FakeOrigin()) {
      origin.file("/pub/a.txt", "a", IndexedTree.T);
      Path dir = tmp.resolve("m");
      CrawlFromIndexTest.crawl(origin.url("/pub/"), dir, Access.OWNER_ONLY, true);
      assertTrue(LocalTree.xattr(dir, IndexFetch.APPLIED_XATTR).isEmpty());
      CrawlFromIndexTest.crawl(origin.url("/pub/"), dir, Access.OWNER_ONLY, true);
      RecordedRequest index = origin.requests().stream()
          .filter(r -> FakeOrigin.decodedPath(r).equals("/pub/.lazydir-index")).reduce((a, b) -> b).orElseThrow();
      assertNull(index.getHeader("If-None-Match"));
    }
  }
}
