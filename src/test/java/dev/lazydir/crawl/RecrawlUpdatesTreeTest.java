package dev.lazydir.crawl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.serve.SegmentMap;
import dev.lazydir.testing.FakeOrigin;
import dev.lazydir.testing.LocalTree;
import dev.lazydir.tree.EntryMeta;
import dev.lazydir.tree.EntryMeta.FileMeta;
import dev.lazydir.tree.TreeException;
import java.nio.channels.FileChannel;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RecrawlUpdatesTreeTest {
  static final Instant T = Instant.parse("2024-03-05T06:07:08Z");
  static final Instant LATER = Instant.parse("2024-04-01T10:00:00Z");
  @TempDir Path tmp;

  /** The metadata lazydir recorded for a stub. */
  private static FileMeta meta(Path file) throws Exception {
    return (FileMeta) EntryMeta.decode(LocalTree.xattrBytes(file, EntryMeta.XATTR).orElseThrow()).orElseThrow();
  }

  /**
   * What the daemon leaves in a file it filled part of: the bytes of the first 4 KiB segment on disk and a segment
   * map of the file's version naming that segment. Returns the map as written.
   */
  private static byte[] populatePart(Path file, String content) throws Exception {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap(content.substring(0, 4096).getBytes()), 0);
    }
    SegmentMap map = SegmentMap.empty(content.length(), 4096, SegmentMap.tagOf(meta(file)));
    map.mark(0);
    byte[] encoded = map.encode();
    LocalTree.setXattr(file, EntryMeta.MAP_XATTR, encoded);
    return encoded;
  }

  /** What the daemon leaves in a file it filled completely: every byte, and c=1 in its metadata (no map). */
  private static void populateAll(Path file, String content) throws Exception {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap(content.getBytes()), 0);
    }
    LocalTree.setXattr(file, EntryMeta.XATTR, meta(file).asComplete().encode());
  }

  @Test
  void newEntriesAppearVanishedGoChangedResetUntouchedKeepTheirState() throws Exception {
    String half = "h".repeat(10_000);
    try (FakeOrigin origin = new FakeOrigin()) {
      origin.file("/keep.txt", "keep", T).file("/half.bin", half, T).file("/change.txt", "old!", T)
          .file("/gone.txt", "gone", T).file("/gonedir/x.txt", "x", T);
      Path dir = tmp.resolve("m");
      CrawlFixture.crawl(origin.url("/"), dir);
      populateAll(dir.resolve("keep.txt"), "keep");
      byte[] halfMap = populatePart(dir.resolve("half.bin"), half);
      populateAll(dir.resolve("change.txt"), "old!");

      origin.remove("/gone.txt").remove("/gonedir/").file("/change.txt", "new content", LATER)
          .file("/new.txt", "new", T);
      CrawlReport report = CrawlFixture.crawl(origin.url("/"), dir);

      assertEquals(Set.of("keep.txt", "half.bin", "change.txt", "new.txt"), LocalTree.entries(dir).keySet());
      assertEquals("keep", Files.readString(dir.resolve("keep.txt")), "untouched file keeps its bytes");
      assertTrue(meta(dir.resolve("keep.txt")).complete(), "and stays complete (c=1)");
      assertEquals(half.substring(0, 4096), Files.readString(dir.resolve("half.bin")).substring(0, 4096));
      assertArrayEquals(halfMap, LocalTree.xattrBytes(dir.resolve("half.bin"), EntryMeta.MAP_XATTR).orElseThrow(),
          "a partly filled file keeps its map");
      SegmentMap kept = SegmentMap.recorded(meta(dir.resolve("half.bin")),
          LocalTree.xattrBytes(dir.resolve("half.bin"), EntryMeta.MAP_XATTR), 4096).orElseThrow();
      assertTrue(kept.has(0) && !kept.has(1), "and the map still vouches for its segment under the re-crawled metadata");
      assertEquals(11, Files.size(dir.resolve("change.txt")));
      assertEquals(0, LocalTree.allocatedBytes(dir.resolve("change.txt")), "changed file is a stub again");
      assertFalse(meta(dir.resolve("change.txt")).complete(), "and no longer complete");
      assertFalse(LocalTree.xattr(dir.resolve("change.txt"), EntryMeta.MAP_XATTR).isPresent());
      assertEquals(LATER.truncatedTo(java.time.temporal.ChronoUnit.MINUTES),
          Files.getLastModifiedTime(dir.resolve("change.txt")).toInstant());
      assertEquals(1, report.created());
      assertEquals(1, report.reset());
      assertEquals(2, report.removed());
      assertEquals(2, report.unchanged());
    }
  }

  @Test
  void sameSizeNewerTimeIsAChange() throws Exception {
    try (FakeOrigin origin = new FakeOrigin()) {
      origin.file("/f.txt", "aaaa", T);
      Path dir = tmp.resolve("m");
      CrawlFixture.crawl(origin.url("/"), dir);
      populateAll(dir.resolve("f.txt"), "aaaa");
      origin.file("/f.txt", "bbbb", LATER);
      CrawlFixture.crawl(origin.url("/"), dir);
      assertEquals(0, LocalTree.allocatedBytes(dir.resolve("f.txt")));
      assertFalse(meta(dir.resolve("f.txt")).complete(), "no longer complete");
      assertFalse(LocalTree.xattr(dir.resolve("f.txt"), "user.lazydir.map").isPresent());
    }
  }

  @Test
  void fileTurnedDirectoryIsReplaced() throws Exception {
    try (FakeOrigin origin = new FakeOrigin()) {
      origin.file("/x", "file", T);
      Path dir = tmp.resolve("m");
      CrawlFixture.crawl(origin.url("/"), dir);
      origin.remove("/x").file("/x/inner.txt", "in", T);
      CrawlFixture.crawl(origin.url("/"), dir);
      assertEquals(Set.of("x/", "x/inner.txt"), LocalTree.entries(dir).keySet());
    }
  }

  @Test
  void filesTheUserAddedAreNeverRemoved() throws Exception {
    try (FakeOrigin origin = new FakeOrigin()) {
      origin.file("/d/a.txt", "a", T);
      Path dir = tmp.resolve("m");
      CrawlFixture.crawl(origin.url("/"), dir);
      Files.writeString(dir.resolve("mine.txt"), "precious");
      Files.writeString(dir.resolve("d/notes.txt"), "precious too");
      origin.remove("/d/");
      CrawlReport report = CrawlFixture.crawl(origin.url("/"), dir);
      assertEquals("precious", Files.readString(dir.resolve("mine.txt")));
      assertEquals("precious too", Files.readString(dir.resolve("d/notes.txt")));
      assertFalse(Files.exists(dir.resolve("d/a.txt")), "lazydir's own entries inside are removed");
      assertTrue(report.warnings() > 0, "the kept directory is reported");
    }
  }

  @Test
  void transientProbeFailureKeepsTheExistingEntry() throws Exception {
    try (FakeOrigin origin = new FakeOrigin()) {
      origin.style(FakeOrigin.Style.PYTHON).file("/a.txt", "aaa", T);
      Path dir = tmp.resolve("m");
      CrawlFixture.crawl(origin.url("/"), dir);
      populateAll(dir.resolve("a.txt"), "aaa");
      origin.fault("/a.txt", FakeOrigin.Fault.status(500).on("HEAD"));
      CrawlReport report = CrawlFixture.crawl(origin.url("/"), dir);
      assertEquals("aaa", Files.readString(dir.resolve("a.txt")));
      assertTrue(meta(dir.resolve("a.txt")).complete(), "and stays complete");
      assertEquals(1, report.warnings());
    }
  }

  @Test
  void refusesANonEmptyForeignDirectoryAndAnotherOriginsTree() throws Exception {
    try (FakeOrigin origin = new FakeOrigin(); FakeOrigin other = new FakeOrigin()) {
      origin.file("/a.txt", "a", T);
      other.file("/b.txt", "b", T);
      Path foreign = tmp.resolve("foreign");
      Files.createDirectories(foreign);
      Files.writeString(foreign.resolve("data"), "mine");
      TreeException e = assertThrows(TreeException.class, () -> CrawlFixture.crawl(origin.url("/"), foreign));
      assertTrue(e.getMessage().contains("not a lazydir tree"), e.getMessage());
      assertEquals(Set.of("data"), LocalTree.entries(foreign).keySet());

      Path dir = tmp.resolve("m");
      CrawlFixture.crawl(origin.url("/"), dir);
      TreeException e2 = assertThrows(TreeException.class, () -> CrawlFixture.crawl(other.url("/"), dir));
      assertTrue(e2.getMessage().contains("is a lazydir tree of " + origin.url("/")), e2.getMessage());
      assertEquals(Set.of("a.txt"), LocalTree.entries(dir).keySet());
    }
  }
}
