package dev.lazydir.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Posix;
import dev.lazydir.tree.EntryMeta;
import dev.lazydir.tree.EntryMeta.FileMeta;
import dev.lazydir.tree.StubTree;
import dev.lazydir.testing.FakeOrigin;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `lazydir status` counts a store whose full paths are longer than PATH_MAX (4096 bytes). */
class LongPathStatusTest {
  static final Instant T = Instant.parse("2024-06-01T12:00:00Z");
  static final int LEVELS = 14;
  @TempDir Path tmp;

  /** JUnit cannot delete paths longer than PATH_MAX; rm walks by fds. */
  @AfterEach
  void removeDeepTree() throws Exception {
    Process rm = new ProcessBuilder("rm", "-rf", "--", tmp.resolve(name('b', 0)).toString()).inheritIO().start();
    assertEquals(0, rm.waitFor());
  }

  static String name(char c, int level) {
    return String.format("%02d", level) + String.valueOf(c).repeat(198);
  }

  @Test
  void statusCountsATreeWhoseFullPathsExceedPathMax() throws Exception {
    Path base = tmp;
    for (int i = 0; i < 8; i++) {
      base = base.resolve(name('b', i)); // the store lives deep: its own path takes 1600 bytes
    }
    Path store = Files.createDirectories(base.resolve("s"));
    try (FakeOrigin origin = new FakeOrigin()) {
      StringBuilder dir = new StringBuilder("/");
      long bytes = 0;
      for (int i = 0; i < LEVELS; i++) {
        dir.append(name('d', i)).append('/');
        String content = "level " + i + "\n";
        origin.file(dir + "f.txt", content, T);
        bytes += content.length();
      }
      Path deepest = store.resolve("tree" + dir.toString().replaceAll("/$", ""));
      assertTrue(deepest.toString().getBytes(StandardCharsets.UTF_8).length > 4096 + 200, deepest.toString().length() + " bytes");

      CommandLineTest.Result crawl = CommandLineTest.run("crawl", origin.url("/").toString(), store.resolve("tree").toString());
      assertEquals(ExitCodes.OK, crawl.exit(), crawl.err());
      long deepSize = markDeepestComplete(store.resolve("tree"));

      CommandLineTest.Result status = CommandLineTest.run("status", "--json", "--store", store.toString(), tmp.resolve("view").toString());
      assertEquals(ExitCodes.OK, status.exit(), status.err());
      String json = status.out();
      assertTrue(json.contains("\"dirs_listed\":" + (LEVELS + 1) + ",\"dirs_known\":" + (LEVELS + 1)), json);
      assertTrue(json.contains("\"files_populated\":1,\"files_partial\":0,\"files_stub\":" + (LEVELS - 1)), json);
      assertTrue(json.contains("\"bytes_populated\":" + deepSize + ",\"bytes_total\":" + bytes), json);
    }
  }

  /** Records the deepest file as complete, reaching it by directory fds (its path is too long to open). */
  private static long markDeepestComplete(Path tree) throws Exception {
    Fd dir = Posix.open(tree.toString(), Posix.O_RDONLY | Posix.O_DIRECTORY);
    for (int i = 0; i < LEVELS; i++) {
      Fd next = dir.openDirAt(name('d', i));
      dir.close();
      dir = next;
    }
    try (Fd d = dir; Fd f = d.openAt("f.txt", Posix.O_RDONLY | Posix.O_NOFOLLOW, 0)) {
      FileMeta meta = (FileMeta) StubTree.metaOf(f).orElseThrow();
      f.setXattr(EntryMeta.XATTR, meta.asComplete().encode());
      return meta.size();
    }
  }
}
