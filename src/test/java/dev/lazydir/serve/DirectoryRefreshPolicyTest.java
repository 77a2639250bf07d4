package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.tree.EntryMeta.DirMeta;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** When an opened directory is listed again: the refresh policy, on injected times (no root, no sleeping). */
class DirectoryRefreshPolicyTest {
  static final Instant LISTED = Instant.parse("2026-11-29T12:00:00Z");
  static final Duration HOUR = Duration.ofHours(1);
  static final DirMeta LISTED_DIR = new DirMeta(LISTED.getEpochSecond(), null, null);

  @Test
  void aDirectoryNeverListedIsListedOnItsFirstOpen() {
    assertFalse(DirectoryOpens.isFresh(new DirMeta(0, null, null), LISTED, HOUR));
  }

  @Test
  void aListedDirectoryIsNotListedAgainWithinTheRefreshTimeout() {
    assertTrue(DirectoryOpens.isFresh(LISTED_DIR, LISTED, HOUR));
    assertTrue(DirectoryOpens.isFresh(LISTED_DIR, LISTED.plus(HOUR).minusSeconds(1), HOUR));
  }

  @Test
  void aListedDirectoryIsListedAgainOnceTheRefreshTimeoutHasPassed() {
    assertFalse(DirectoryOpens.isFresh(LISTED_DIR, LISTED.plus(HOUR), HOUR));
    assertFalse(DirectoryOpens.isFresh(LISTED_DIR, LISTED.plus(HOUR).plusSeconds(1), HOUR));
  }
}
