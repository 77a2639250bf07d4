package dev.lazydir.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lazydir.testing.FakeOrigin;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Instant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The modes crawl gives what it makes, and gives again to a tree crawled before. */
class CrawlAccessTest {
  static final Instant T = Instant.parse("2024-06-01T12:00:00Z");
  @TempDir Path tmp;
  FakeOrigin origin;
  Path dir;

  @BeforeEach
  void setUp() throws Exception {
    origin = new FakeOrigin().file("/top.txt", "top", T).file("/sub/inner.txt", "inner", T).file("/bin/run.sh", "#!/bin/sh", T);
    dir = tmp.resolve("d");
  }

  @AfterEach
  void tearDown() throws Exception {
    origin.close();
  }

  static int mode(Path p) throws Exception {
    return (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07777;
  }

  CommandLineTest.Result crawl(String... options) {
    String[] args = new String[options.length + 3];
    args[0] = "crawl";
    System.arraycopy(options, 0, args, 1, options.length);
    args[options.length + 1] = origin.url("/").toString();
    args[options.length + 2] = dir.toString();
    CommandLineTest.Result r = CommandLineTest.run(args);
    assertEquals(ExitCodes.OK, r.exit(), r.err());
    return r;
  }

  void assertModes(int files, int dirs) throws Exception {
    assertEquals(dirs, mode(dir), "root");
    assertEquals(dirs, mode(dir.resolve("sub")), "sub");
    assertEquals(files, mode(dir.resolve("top.txt")), "top.txt");
    assertEquals(files, mode(dir.resolve("sub/inner.txt")), "sub/inner.txt");
  }

  @Test
  void aCrawledTreeIsReadableByItsOwnerAloneByDefault() throws Exception {
    crawl();
    assertModes(0600, 0700);
    Files.delete(dir.resolve("bin/run.sh"));
    crawl("--file-mode", "0755");
    assertEquals(0700, mode(dir.resolve("bin/run.sh")), "--file-mode 0755 without --allow-other");
  }

  @Test
  void allowOtherLetsEveryoneReadWithTheFileModeAsGiven() throws Exception {
    crawl("--allow-other", "--file-mode", "0755");
    assertModes(0755, 0755);
  }

  @Test
  void aRecrawlGivesExistingEntriesTheAccessAskedForNowAndLeavesForeignOnesAndSymlinkTargetsAlone() throws Exception {
    crawl("--allow-other");
    assertModes(0644, 0755);
    Path outside = Files.writeString(tmp.resolve("outside.txt"), "not lazydir's");
    Files.setPosixFilePermissions(outside, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
    Path foreign = Files.writeString(dir.resolve("sub/mine.txt"), "the user's");
    Files.setPosixFilePermissions(foreign, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
    Files.createSymbolicLink(dir.resolve("sub/link"), outside);

    crawl();
    assertModes(0600, 0700);
    assertEquals(0644, mode(foreign), "an entry lazydir did not make keeps its mode");
    assertEquals(0644, mode(outside), "a symlink in the tree is never followed");
  }
}
