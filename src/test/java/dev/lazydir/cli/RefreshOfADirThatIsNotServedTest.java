package dev.lazydir.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code lazydir refresh} of a DIR no serve is running for fails with one sentence naming the store. */
class RefreshOfADirThatIsNotServedTest {
  @TempDir Path tmp;

  @Test
  void refreshOfADirThatIsNotServedFailsWithOneSentenceAndCreatesNothing() throws Exception {
    Path dir = tmp.resolve("view");
    Files.createDirectories(dir);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int exit = Cli.run(new String[] {"refresh", dir.toString()}, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    String stderr = err.toString(StandardCharsets.UTF_8);
    assertEquals(ExitCodes.ERROR, exit, stderr);
    assertEquals(1, stderr.lines().count(), stderr);
    assertTrue(stderr.startsWith("lazydir: " + dir + " is not served (no running lazydir serve for the store "), stderr);
    assertTrue(stderr.contains("pass --store"), stderr);
    assertEquals(1, Files.list(tmp).count(), "no store created");
  }
}
