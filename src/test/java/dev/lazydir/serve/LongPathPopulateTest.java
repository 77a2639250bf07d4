package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.cli.Cli;
import dev.lazydir.testing.Commands.Result;
import dev.lazydir.testing.FakeOrigin;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `lazydir populate` reaches a path longer than PATH_MAX (4096 bytes): here the user names the view through a
 * symlink that lives deep, so the path given is longer than any path the kernel will resolve in one call, while
 * the daemon (which sees the view's own path) can serve it.
 */
class LongPathPopulateTest {
  static final Instant T = Instant.parse("2024-06-01T12:00:00Z");
  static final int LEVELS = 15;
  @TempDir Path tmp;
  FakeOrigin origin;
  ServeBed bed;
  String dirs = "";

  static String name(char c, int level) {
    return String.format("%02d", level) + String.valueOf(c).repeat(198);
  }

  @BeforeEach
  void setUp() throws Exception {
    origin = new FakeOrigin();
    StringBuilder d = new StringBuilder();
    for (int i = 0; i < LEVELS; i++) {
      d.append(name('d', i)).append('/');
      if (i == LEVELS - 2) {
        origin.file("/" + d + "other.txt", "one level up\n", T);
      }
    }
    dirs = d.toString();
    origin.file("/" + dirs + "deep.txt", "at the bottom\n", T);
    bed = new ServeBed(tmp);
  }

  @AfterEach
  void tearDown() throws Exception {
    bed.close();
    origin.close();
  }

  @Test
  void populateContentReachesAndFetchesPathsLongerThanPathMax() throws Exception {
    bed.serve(origin.url("/").toString());
    Path deep = bed.fs.resolve("l");
    for (int i = 0; i < 8; i++) {
      deep = deep.resolve(name('l', i));
    }
    Files.createDirectories(deep);
    Path link = Files.createSymbolicLink(deep.resolve("v"), bed.view);
    String file = link + "/" + dirs.substring(0, dirs.length() - name('d', LEVELS - 1).length() - 1) + "other.txt";
    String dir = link + "/" + dirs.substring(0, dirs.length() - 1);
    assertTrue(file.getBytes(StandardCharsets.UTF_8).length > 4096, file.length() + " bytes");

    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int exit = Cli.run(new String[] {"populate", "--content", file, dir}, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    assertEquals(0, exit, err.toString(StandardCharsets.UTF_8));
    assertEquals(2, out.toString(StandardCharsets.UTF_8).lines().filter(l -> l.startsWith("populated ")).count(), out.toString());
    String other = "/" + dirs.substring(0, dirs.length() - name('d', LEVELS - 1).length() - 1) + "other.txt";
    assertTrue(origin.count("GET", other) >= 1, "other.txt fetched by populate --content FILE");
    assertTrue(origin.count("GET", "/" + dirs + "deep.txt") >= 1, "deep.txt fetched by populate --content DIR");

    Result cat = ServeBed.run(60, "cat", bed.view.resolve(dirs + "deep.txt").toString());
    assertEquals(0, cat.exit(), cat.err());
    assertEquals("at the bottom\n", cat.text());
  }
}
