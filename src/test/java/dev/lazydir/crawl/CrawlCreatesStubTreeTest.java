package dev.lazydir.crawl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.testing.FakeOrigin;
import dev.lazydir.testing.LocalTree;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CrawlCreatesStubTreeTest {
  static final Instant T1 = Instant.parse("2023-11-12T13:14:15Z");
  static final Instant T2 = Instant.parse("2021-12-31T23:59:58Z");
  @TempDir Path tmp;

  private static FakeOrigin tricky(FakeOrigin o) {
    return o.file("/plain.txt", "x".repeat(1234), T1)
        .file("/with space.txt", "space", T2)
        .file("/100%.txt", "pct", T1)
        .file("/hash#tag.txt", "hash", T1)
        .file("/what?.txt", "q", T1)
        .file("/a&b.txt", "amp", T1)
        .file("/c++.txt", "plus", T1)
        .file("/semi;colon.txt", "semi", T1)
        .file("/.hidden", "dot", T1)
        .file("/unicodé-日本語.txt", "uni", T1)
        .file("/%41literal.txt", "lit", T1)
        .file("/empty", "", T1)
        .file("/" + "L".repeat(250), "long", T1)
        .file("/sub dir/deeper/leaf.txt", "leaf", T2)
        .dir("/emptydir/");
  }

  @Test
  void nginxStyleListingGivesExactNamesSizesAndMinuteTimesWithoutProbing() throws Exception {
    try (FakeOrigin origin = tricky(new FakeOrigin())) {
      Path dir = tmp.resolve("mirror");
      CrawlReport report = CrawlFixture.crawl(origin.url("/"), dir);
      Map<String, Long> actual = LocalTree.entries(dir);
      assertEquals(1234L, actual.get("plain.txt"));
      assertEquals(5L, actual.get("with space.txt"));
      assertEquals(0L, actual.get("empty"));
      assertEquals(4L, actual.get("sub dir/deeper/leaf.txt"));
      assertEquals(java.util.Set.of("plain.txt", "with space.txt", "100%.txt", "hash#tag.txt", "what?.txt", "a&b.txt",
          "c++.txt", "semi;colon.txt", ".hidden", "unicodé-日本語.txt", "%41literal.txt", "empty", "L".repeat(250),
          "sub dir/", "sub dir/deeper/", "sub dir/deeper/leaf.txt", "emptydir/"), actual.keySet());
      assertEquals(T2.truncatedTo(java.time.temporal.ChronoUnit.MINUTES),
          Files.getLastModifiedTime(dir.resolve("with space.txt")).toInstant());
      assertEquals(1, origin.count("HEAD"), "exact sizes in the listing: one probe learns its clock, no other");
      assertEquals(0, report.warnings());
      assertEquals(4, report.directoriesListed());
    }
  }

  @Test
  void bareLinkListingIsCompletedByProbesWithSecondPrecision() throws Exception {
    try (FakeOrigin origin = tricky(new FakeOrigin()).style(FakeOrigin.Style.PYTHON)) {
      Path dir = tmp.resolve("mirror");
      CrawlFixture.crawl(origin.url("/"), dir);
      assertEquals(1234L, Files.size(dir.resolve("plain.txt")));
      assertEquals(T1, Files.getLastModifiedTime(dir.resolve("plain.txt")).toInstant());
      assertEquals(T2, Files.getLastModifiedTime(dir.resolve("sub dir/deeper/leaf.txt")).toInstant());
      assertEquals(14, origin.count("HEAD"), "one probe per file, none per directory");
    }
  }

  @Test
  void stubsTakeNoDiskBlocksAndCarryVersionedMetadata() throws Exception {
    try (FakeOrigin origin = tricky(new FakeOrigin()).style(FakeOrigin.Style.PYTHON)) {
      Path dir = tmp.resolve("mirror");
      CrawlFixture.crawl(origin.url("/"), dir);
      Path big = dir.resolve("plain.txt");
      assertEquals(0, LocalTree.allocatedBytes(big), "a stub holds no data and no xattr block");
      String meta = LocalTree.xattr(big, "user.lazydir").orElseThrow();
      assertTrue(meta.startsWith("v=1\ns=1234\nm=" + T1.getEpochSecond() + "\nt=s\ne="), meta);
      assertEquals(origin.url("/").toString(), LocalTree.xattr(dir, "user.lazydir.origin").orElseThrow());
      assertTrue(LocalTree.xattr(dir.resolve("sub dir"), "user.lazydir").orElseThrow().startsWith("v=1\nl="));
      assertFalse(LocalTree.xattr(dir.resolve("sub dir"), "user.lazydir").orElseThrow().contains("l=0"),
          "a crawled directory records when it was listed");
    }
  }

  @Test
  void listedSpellingIsKeptWhenItDiffersFromCanonicalEncoding() throws Exception {
    try (FakeOrigin origin = new FakeOrigin()) {
      origin.rawListing("/", "<pre><a href=\"a%26b.txt\">a&amp;b.txt</a> 05-Mar-2024 06:07 3\n"
          + "<a href=\"plain.txt\">plain.txt</a> 05-Mar-2024 06:07 3\n</pre>");
      Path dir = tmp.resolve("mirror");
      CrawlFixture.crawl(origin.url("/"), dir);
      assertTrue(LocalTree.xattr(dir.resolve("a&b.txt"), "user.lazydir").orElseThrow().contains("\nn=a%26b.txt"));
      assertFalse(LocalTree.xattr(dir.resolve("plain.txt"), "user.lazydir").orElseThrow().contains("\nn="));
    }
  }

  @Test
  void depthLimitCreatesDeeperDirectoriesUnlisted() throws Exception {
    try (FakeOrigin origin = tricky(new FakeOrigin())) {
      Path dir = tmp.resolve("mirror");
      CrawlFixture.crawl(origin.url("/"), dir, 1);
      assertTrue(Files.isDirectory(dir.resolve("sub dir")));
      assertEquals(0, Files.list(dir.resolve("sub dir")).count());
      assertTrue(LocalTree.xattr(dir.resolve("sub dir"), "user.lazydir").orElseThrow().contains("\nl=0"));
      assertEquals(1, origin.count("GET"), "only the top listing was fetched");
    }
  }

  @Test
  void singleFileUrlGivesTreeWithThatFile() throws Exception {
    try (FakeOrigin origin = tricky(new FakeOrigin())) {
      Path dir = tmp.resolve("one");
      CrawlFixture.crawl(origin.url("/sub dir/deeper/leaf.txt"), dir);
      assertEquals(Map.of("leaf.txt", 4L), LocalTree.entries(dir));
      assertEquals(T2, Files.getLastModifiedTime(dir.resolve("leaf.txt")).toInstant());
      assertEquals(0, LocalTree.allocatedBytes(dir.resolve("leaf.txt")));
    }
  }

  @Test
  void directoryUrlWithoutSlashFollowsTheRedirect() throws Exception {
    try (FakeOrigin origin = tricky(new FakeOrigin())) {
      Path dir = tmp.resolve("mirror");
      okhttp3.HttpUrl noSlash = origin.url("/sub dir");
      CrawlFixture.crawl(noSlash, dir);
      assertEquals(java.util.Set.of("deeper/", "deeper/leaf.txt"), LocalTree.entries(dir).keySet());
      assertTrue(LocalTree.xattr(dir, "user.lazydir.origin").orElseThrow().endsWith("/sub%20dir/"));
    }
  }
}
