package dev.lazydir.fanotify;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;

/** Waiting for a reader process of the lease facts to reach a point it announces on stdout. */
final class LeaseFacts {
  private LeaseFacts() {}

  static void awaitLine(FanotifyBed.Reader reader, String line) throws Exception {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (System.nanoTime() < deadline) {
      if (Files.readString(reader.out).lines().anyMatch(line::equals)) {
        return;
      }
      if (!reader.isAlive()) {
        fail(reader.command + " ended before printing '" + line + "': " + Files.readString(reader.err));
      }
      Thread.sleep(20);
    }
    fail(reader.command + " did not print '" + line + "' within 10 s");
  }
}
