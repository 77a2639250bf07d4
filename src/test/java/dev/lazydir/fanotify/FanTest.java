package dev.lazydir.fanotify;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Constants, the FAN_DENY_ERRNO encoding and the response layout (no root). */
class FanTest {
  @Test
  void denyErrnoEncodesTheErrnoInTheTopByte() {
    assertEquals(0x05000002, Fan.denyErrno(Fan.EIO));
    assertEquals(0x01000002, Fan.denyErrno(Fan.EPERM));
    assertEquals(0x7a000002, Fan.denyErrno(Fan.EDQUOT));
    for (int e : new int[] {Fan.EPERM, Fan.EIO, Fan.EAGAIN, Fan.EBUSY, Fan.ETXTBSY, Fan.ENOSPC, Fan.EDQUOT}) {
      assertEquals(Fan.FAN_DENY | e << 24, Fan.denyErrno(e));
    }
  }

  @Test
  void denyErrnoRefusesErrnosTheKernelWouldRefuse() {
    // ENOENT, EACCES, EROFS, ETIMEDOUT, EINVAL, 0, negative, > 255
    for (int e : new int[] {2, 13, 30, 110, 22, 0, -5, 5 + 256}) {
      IllegalArgumentException x = assertThrows(IllegalArgumentException.class, () -> Fan.denyErrno(e));
      assertTrue(x.getMessage().contains("errno " + e), x.getMessage());
    }
  }

  @Test
  void onlyAnswersTheKernelTakesAreValid() {
    assertTrue(Fan.isValidResponse(Fan.FAN_ALLOW));
    assertTrue(Fan.isValidResponse(Fan.FAN_DENY));
    assertTrue(Fan.isValidResponse(Fan.FAN_DENY | Fan.FAN_AUDIT));
    assertTrue(Fan.isValidResponse(Fan.denyErrno(Fan.ENOSPC)));
    for (int bad : new int[] {0, 3, Fan.FAN_DENY | 2 << 24, Fan.FAN_ALLOW | 5 << 24, 0x20 | Fan.FAN_ALLOW, -1}) {
      assertFalse(Fan.isValidResponse(bad), "0x" + Integer.toHexString(bad));
    }
  }

  @Test
  void constantsMatchKernelFacts() {
    assertEquals(0x8, Fan.FAN_CLASS_PRE_CONTENT);
    assertEquals(0x2000, Fan.FAN_REPORT_FD_ERROR);
    assertEquals(0x00100000L, Fan.FAN_PRE_ACCESS);
    assertEquals(0x10000L, Fan.FAN_OPEN_PERM);
    assertEquals(0x20000L, Fan.FAN_ACCESS_PERM);
    assertEquals(0x40000000L, Fan.FAN_ONDIR);
    assertEquals(0x08000000L, Fan.FAN_EVENT_ON_CHILD);
    assertEquals(0x10, Fan.FAN_MARK_MOUNT);
    assertEquals(0x100, Fan.FAN_MARK_FILESYSTEM);
    assertEquals(0x40, Fan.FAN_MARK_IGNORED_SURV_MODIFY);
    assertEquals(0x200, Fan.FAN_MARK_EVICTABLE);
    assertEquals(0x400, Fan.FAN_MARK_IGNORE);
    assertEquals(6, Fan.FAN_EVENT_INFO_TYPE_RANGE);
  }

  @Test
  void responseIsFdThenResponseInNativeOrder() {
    byte[] r = FanotifyGroup.response(7, Fan.denyErrno(Fan.EIO));
    byte[] expected = ByteBuffer.allocate(8).order(ByteOrder.nativeOrder()).putInt(7).putInt(0x05000002).array();
    assertArrayEquals(expected, r);
  }

  @Test
  void ignoreFlagsForFilesAndDirectories() {
    assertEquals(Fan.FAN_MARK_ADD | Fan.FAN_MARK_IGNORE | Fan.FAN_MARK_EVICTABLE,
        FanotifyGroup.ignoreFlags(Fan.FAN_MARK_ADD, false));
    assertEquals(Fan.FAN_MARK_ADD | Fan.FAN_MARK_IGNORE | Fan.FAN_MARK_EVICTABLE | Fan.FAN_MARK_IGNORED_SURV_MODIFY,
        FanotifyGroup.ignoreFlags(Fan.FAN_MARK_ADD, true));
    assertEquals(Fan.FAN_OPEN_PERM | Fan.FAN_ONDIR, FanotifyGroup.ignoreMask(Fan.FAN_OPEN_PERM, true));
    assertEquals(Fan.FAN_PRE_ACCESS, FanotifyGroup.ignoreMask(Fan.FAN_PRE_ACCESS, false));
  }

  @Test
  void pollTimeoutConversion() {
    assertEquals(-1, FanotifyGroup.toMillis(null));
    assertEquals(-1, FanotifyGroup.toMillis(Duration.ofMillis(-1)));
    assertEquals(0, FanotifyGroup.toMillis(Duration.ZERO));
    assertEquals(1, FanotifyGroup.toMillis(Duration.ofNanos(1)));
    assertEquals(250, FanotifyGroup.toMillis(Duration.ofMillis(250)));
    assertEquals(251, FanotifyGroup.toMillis(Duration.ofMillis(250).plusNanos(1)));
    assertEquals(Integer.MAX_VALUE, FanotifyGroup.toMillis(Duration.ofDays(365 * 1000)));
  }
}
