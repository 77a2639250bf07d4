package dev.lazydir.crawl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.testing.FakeOrigin;
import dev.lazydir.testing.LocalTree;
import dev.lazydir.testing.LogCapture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Whatever a listing says, nothing is created, written or removed outside DIR. */
class HostileListingTest {
  static final Instant T = Instant.parse("2024-03-05T06:07:08Z");
  @TempDir Path tmp;

  @Test
  void traversalAndInvalidNamesAreRejectedWithOneWarningEach() throws Exception {
    Path outside = tmp.resolve("outside");
    Files.createDirectories(outside);
    Files.writeString(outside.resolve("victim"), "intact");
    Map<String, String> before = LocalTree.snapshot(tmp);
    try (FakeOrigin origin = new FakeOrigin(); LogCapture log = new LogCapture()) {
      origin.file("/pub/ok.txt", "ok", T);
      origin.rawListing("/pub/", "<pre>"
          + line("ok.txt") + line("..%2F..%2Foutside%2Fvictim") + line("%2e%2e/") + line("a%2Fb")
          + line("nul%00byte") + line("%FF%FE.txt") + line("x".repeat(300)) + line(".lazydir.tmp.abc")
          + line("/etc/passwd") + line("../outside/victim") + line("/pub/../outside/v") + line("./../x") + line("http://evil.example/x")
          + line("%2Fetc%2Fpasswd") + "</pre>");
      Path dir = tmp.resolve("m");
      CrawlReport report = CrawlFixture.crawl(origin.url("/pub/"), dir);

      assertEquals(Set.of("ok.txt"), LocalTree.entries(dir).keySet());
      List<String> warnings = log.warnings();
      assertEquals(7, warnings.size(), String.join("\n", warnings));
      for (String expected : List.of("contains '/'", "contains NUL", "not valid UTF-8", "300 bytes long",
          "reserved for lazydir")) {
        assertTrue(warnings.stream().anyMatch(w -> w.contains(expected)), expected + " in " + warnings);
      }
      assertEquals(7, report.warnings());
    }
    Map<String, String> after = LocalTree.snapshot(tmp);
    after.keySet().removeIf(k -> k.equals("m") || k.startsWith("m/"));
    before.remove("");
    after.remove("");
    assertEquals(before, after, "nothing outside DIR changed");
    assertEquals("intact", Files.readString(outside.resolve("victim")));
  }

  @Test
  void symlinkPlantedInTheTreeIsNeverFollowed() throws Exception {
    Path outside = tmp.resolve("outside");
    Files.createDirectories(outside);
    Files.writeString(outside.resolve("victim.txt"), "intact");
    try (FakeOrigin origin = new FakeOrigin(); LogCapture log = new LogCapture()) {
      origin.file("/sub/victim.txt", "remote content", T).file("/link.txt", "remote", T);
      Path dir = tmp.resolve("m");
      CrawlFixture.crawl(origin.url("/"), dir);
      // Someone with write access to DIR replaces a directory and a file by symlinks pointing outside.
      Files.delete(dir.resolve("sub/victim.txt"));
      Files.delete(dir.resolve("sub"));
      Files.createSymbolicLink(dir.resolve("sub"), outside);
      Files.delete(dir.resolve("link.txt"));
      Files.createSymbolicLink(dir.resolve("link.txt"), outside.resolve("victim.txt"));
      Map<String, String> before = LocalTree.snapshot(outside);

      origin.file("/sub/victim.txt", "changed remote content", Instant.parse("2025-01-01T00:00:00Z"))
          .file("/link.txt", "changed", Instant.parse("2025-01-01T00:00:00Z")).file("/sub/new.txt", "n", T);
      CrawlReport report = CrawlFixture.crawl(origin.url("/"), dir);

      assertEquals(before, LocalTree.snapshot(outside), "nothing written through the symlinks");
      assertEquals("intact", Files.readString(outside.resolve("victim.txt")));
      assertTrue(Files.isSymbolicLink(dir.resolve("sub")), "foreign entries are left as they are");
      assertTrue(report.warnings() >= 2, log.warnings().toString());
      assertTrue(log.warnings().stream().anyMatch(w -> w.contains("link.txt") && w.contains("not made by lazydir")));
    }
  }

  @Test
  void aDirectoryThatListsItselfIsListedOnceMoreAndNotDescendedIntoWithOneWarning() throws Exception {
    try (FakeOrigin origin = new FakeOrigin(); LogCapture log = new LogCapture()) {
      origin.file("/pub/x.txt", "hello", T).file("/pub/sub/y.txt", "y", T).selfLink("/pub/", "self");
      Path dir = tmp.resolve("m");
      CrawlReport report = CrawlFixture.crawl(origin.url("/pub/"), dir);

      assertEquals(1, origin.count("GET", "/pub/self/"), "the looping directory is listed, as any other");
      assertEquals(0, origin.count("GET", "/pub/self/self/"), "and not descended into");
      assertEquals(1, origin.count("GET", "/pub/sub/"), "its siblings are crawled as usual");
      assertTrue(Files.isRegularFile(dir.resolve("self/x.txt")));
      assertTrue(Files.isDirectory(dir.resolve("self/self")), "left unlisted, as beyond --depth");
      assertEquals(List.of("self/: lists the same entries as ./ above it (a loop on the server?); not descending"),
          log.warnings());
      assertEquals(1, report.warnings());
    }
  }

  private static String line(String href) {
    return "<a href=\"" + href + "\">" + href + "</a>  05-Mar-2024 06:07   2\n";
  }
}
