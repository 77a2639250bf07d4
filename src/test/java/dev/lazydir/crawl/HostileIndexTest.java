package dev.lazydir.crawl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.index.TreeIndex;
import dev.lazydir.testing.FakeOrigin;
import dev.lazydir.testing.LocalTree;
import dev.lazydir.tree.Access;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Whatever an index says, a refused one makes nothing, and nothing is ever made outside DIR. */
class HostileIndexTest {
  static final String SHA0 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  static final String HEAD = "lazydir-index 1\nblock 4096\nd\t0755\t0\t.\n";
  @TempDir Path tmp;

  static String file(String path) {
    return "f\t0644\t0\t0\t" + SHA0 + "\t-\t" + path + "\n";
  }

  static byte[] gzip(String text) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
      gz.write(text.getBytes(StandardCharsets.UTF_8));
    }
    return out.toByteArray();
  }

  /** Serves the index, crawls, and checks that it was refused with the message and that nothing changed. */
  void refused(byte[] index, String message) throws Exception {
    Path outside = tmp.resolve("outside");
    Files.createDirectories(outside);
    Files.writeString(outside.resolve("victim"), "intact");
    Map<String, String> before = LocalTree.snapshot(tmp);
    try (FakeOrigin origin = new FakeOrigin()) {
      origin.file("/pub/.lazydir-index", index, Instant.EPOCH).file("/pub/x", "x", Instant.EPOCH);
      Path dir = tmp.resolve("m");
      var e = assertThrows(TreeIndex.IndexException.class,
          () -> CrawlFromIndexTest.crawl(origin.url("/pub/"), dir, Access.OWNER_ONLY, true));
      assertTrue(e.getMessage().contains(message), e.getMessage() + " should say " + message);
      assertFalse(Files.exists(dir), "a refused index makes nothing, not even DIR");
      assertEquals(1, origin.requestCount(), "and asks for nothing more");
    }
    assertEquals(before, LocalTree.snapshot(tmp), "nothing changed");
    assertEquals("intact", Files.readString(outside.resolve("victim")));
  }

  @Test
  void aPathWithDotDotIsRefused() throws Exception {
    refused(gzip(HEAD + "d\t0755\t0\t..\n" + file("../outside/victim") + "end 3\n"), "leaves the tree ('..')");
  }

  @Test
  void aDotDotInsideAPathIsRefused() throws Exception {
    refused(gzip(HEAD + "d\t0755\t0\ta\n" + file("a/../../outside/victim") + "end 3\n"), "leaves the tree ('..')");
  }

  @Test
  void anAbsolutePathIsRefused() throws Exception {
    refused(gzip(HEAD + file("/etc/passwd") + "end 2\n"), "absolute path");
  }

  @Test
  void aDuplicateNameIsRefused() throws Exception {
    refused(gzip(HEAD + file("a") + file("a") + "end 3\n"), "duplicate entry a");
  }

  @Test
  void aDirectoryAndAFileOfTheSameNameAreRefused() throws Exception {
    refused(gzip(HEAD + "d\t0755\t0\ta\n" + file("b") + file("a") + "end 4\n"), "comes after");
  }

  @Test
  void aFileWhoseParentIsAFileIsRefused() throws Exception {
    refused(gzip(HEAD + file("a") + file("a/b") + "end 3\n"), "its parent a is not a directory in the index");
  }

  @Test
  void aFileWhoseParentIsMissingIsRefused() throws Exception {
    refused(gzip(HEAD + file("a/b") + "end 2\n"), "its parent a is not a directory in the index");
  }

  @Test
  void aTruncatedIndexIsRefused() throws Exception {
    refused(gzip(HEAD + file("a") + file("b")), "truncated (no 'end' line)");
    byte[] whole = gzip(HEAD + file("a") + file("b") + "end 3\n");
    refused(Arrays.copyOf(whole, whole.length - 12), "truncated");
  }

  @Test
  void anEndLineThatDoesNotCountTheEntriesIsRefused() throws Exception {
    refused(gzip(HEAD + file("a") + "end 7\n"), "the end line says 7 entries, the index has 2");
  }

  @Test
  void anOverlongLineIsRefusedWithoutReadingItWhole() throws Exception {
    refused(gzip(HEAD + "f\t0644\t0\t0\t" + "0".repeat(65 << 20) + "\n"), "longer than 64 MiB");
  }

  @Test
  void namesLazydirReservesOrCannotMakeAreRefused() throws Exception {
    refused(gzip(HEAD + file(".lazydir.tmp.x") + "end 2\n"), "reserved for lazydir");
    refused(gzip(HEAD + file("a//b") + "end 2\n"), "empty name");
  }

  @Test
  void notAnIndexIsRefused() throws Exception {
    refused("<html>not found</html>".getBytes(StandardCharsets.UTF_8), "not a lazydir index");
    refused(gzip("<html></html>\n"), "not a lazydir index");
  }

  @Test
  void aFileOfSeveralBlocksWithoutItsBlockDigestsIsRefused() throws Exception {
    refused(gzip(HEAD + "f\t0644\t0\t10000\t" + SHA0 + "\t-\tbig\nend 2\n"), "3 blocks but no block digests");
  }

  @Test
  void aSymlinkOutOfTheTreeIsSkippedAndNothingOutsideIsTouched() throws Exception {
    Path outside = tmp.resolve("outside");
    Files.createDirectories(outside);
    Files.writeString(outside.resolve("victim"), "intact");
    Map<String, String> before = LocalTree.snapshot(outside);
    try (FakeOrigin origin = new FakeOrigin()) {
      origin.file("/pub/.lazydir-index", gzip(HEAD + "d\t0755\t0\ta\n"
          + "l\t0777\t0\t../../outside/victim\ta/l1\n"
          + "l\t0777\t0\t../x/../../outside\ta/l2\n"
          + "l\t0777\t0\t" + outside + "/victim\ta/l3\n"
          + "l\t0777\t0\t../a\ta/ok\n"
          + "end 6\n"), Instant.EPOCH);
      Path dir = tmp.resolve("m");
      CrawlReport report = CrawlFromIndexTest.crawl(origin.url("/pub/"), dir, Access.OWNER_ONLY, true);
      assertEquals(3, report.warnings());
      assertEquals(java.util.Set.of("a/", "a/ok"), LocalTree.entries(dir).keySet());
    }
    assertEquals(before, LocalTree.snapshot(outside));
  }
}
