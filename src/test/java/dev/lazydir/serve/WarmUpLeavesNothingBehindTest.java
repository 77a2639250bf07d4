package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.testing.LogCapture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.logging.Level;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The start-up warm-up runs the listing and fetch code on its own and removes its scratch directory. */
class WarmUpLeavesNothingBehindTest {
  @TempDir Path tmp;

  @Test
  void warmUpCompletesAndRemovesItsScratchDirectory() throws Exception {
    Path scratch = tmp.resolve("run/warm-up");
    Files.createDirectories(scratch.resolve("left-from-a-crash"));
    try (LogCapture log = new LogCapture()) {
      WarmUp.run(scratch);
      assertTrue(log.messages(Level.FINE).stream().anyMatch(m -> m.startsWith("warm-up done")), log.all().toString());
    }
    assertFalse(Files.exists(scratch), "nothing left on disk");
  }
}
