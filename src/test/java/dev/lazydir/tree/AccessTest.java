package dev.lazydir.tree;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.internal.posix.Stat;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** The permission bits lazydir gives what it makes: the owner's alone unless others are allowed. */
class AccessTest {
  static Stat stat(int type, int bits, int uid, int gid) {
    return new Stat(1, 2, type | bits, 0, 0, Instant.EPOCH, uid, gid);
  }

  @Test
  void withoutAllowOtherFilesAndDirectoriesAreTheOwnersAlone() {
    Access a = new Access(1000, 1000, false, 0644);
    assertEquals(0600, a.fileBits());
    assertEquals(0700, a.dirBits());
    assertEquals(0700, a.withFileMode(0755).fileBits(), "an executable stub stays executable for its owner");
  }

  @Test
  void allowOtherLetsEveryoneReadAndKeepsTheFileMode() {
    Access a = new Access(1000, 1000, true, 0644);
    assertEquals(0644, a.fileBits());
    assertEquals(0755, a.dirBits());
    assertEquals(0755, a.withFileMode(0755).fileBits());
  }

  @Test
  void theLibraryDefaultIsOwnerOnlyAndKeepsTheCreatorsIds() {
    assertEquals(-1, Access.OWNER_ONLY.uid());
    assertEquals(-1, Access.OWNER_ONLY.gid());
    assertEquals(0600, Access.OWNER_ONLY.fileBits());
    assertEquals(0700, Access.OWNER_ONLY.dirBits());
  }

  @Test
  void anEntryHoldsTheAccessOnlyWithTheSameOwnerGroupAndBits() {
    Access a = new Access(1000, 100, false, 0644);
    assertTrue(a.holds(stat(0100000, 0600, 1000, 100)));
    assertTrue(a.holds(stat(0040000, 0700, 1000, 100)));
    assertFalse(a.holds(stat(0100000, 0644, 1000, 100)), "world-readable file");
    assertFalse(a.holds(stat(0040000, 0755, 1000, 100)), "world-listable directory");
    assertFalse(a.holds(stat(0100000, 0600, 0, 100)), "other owner");
    assertFalse(a.holds(stat(0100000, 0600, 1000, 0)), "other group");
    assertTrue(Access.OWNER_ONLY.holds(stat(0100000, 0600, 4242, 4242)), "-1: any owner will do");
  }

  @Test
  void aFileModeBeyond0777IsRefused() {
    assertThrows(IllegalArgumentException.class, () -> new Access(0, 0, false, 04755));
  }
}
