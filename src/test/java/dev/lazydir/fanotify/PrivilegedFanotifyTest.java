package dev.lazydir.fanotify;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Base of the privileged tests that pin kernel facts lazydir relies on: one loop-mounted ext4 image and its bind-mounted
 * view per test class ({@link FanotifyBed}); groups, handlers and readers released after each test. Fails (never
 * skips) when not root, not in a private mount namespace, or on a kernel without fanotify pre-content support.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
abstract class PrivilegedFanotifyTest {
  @TempDir static Path tmp;
  static FanotifyBed bed;

  @BeforeAll
  static void makeBed() throws Exception {
    bed = FanotifyBed.create(tmp);
  }

  @AfterEach
  void releaseTestResources() throws Exception {
    if (bed != null) {
      bed.releaseTestResources();
    }
  }

  @AfterAll
  static void removeBed() throws Exception {
    if (bed != null) {
      try {
        bed.close();
      } finally {
        bed = null;
      }
    }
  }
}
