package dev.lazydir.fanotify;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lazydir.fanotify.FanotifyBed.Handler;
import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Posix;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The recency signal of complete files (serve.CacheRoom): they carry an inode ignore mark for FAN_OPEN_PERM, so
 * their opens wait for no answer, yet the same group's mount mark still reports FAN_OPEN (a notification, which
 * nobody waits for) on every open of them through the view. One group: no second group, no release deadlock.
 */
class OpenNotificationsStillReachAFileWhoseOpenPermIsIgnoredTest extends PrivilegedFanotifyTest {
  @Test
  void eachOpenOfAFileIgnoringOpenPermIsStillNotified() throws Exception {
    Path file = bed.populated("notified/file.bin", 4096);
    FanotifyGroup g = bed.markedGroup(Fan.FAN_OPEN_PERM | Fan.FAN_OPEN);
    try (Fd fd = Posix.open(file.toString(), Posix.O_RDONLY)) {
      g.ignoreInode(fd, null, Fan.FAN_OPEN_PERM, false);
    }
    Handler h = bed.handle(g, 1, FanotifyBed.ALLOW);
    for (int i = 0; i < 3; i++) {
      assertEquals(0, bed.read("cat", bed.view("notified/file.bin").toString()).exit());
    }
    Thread.sleep(300);
    h.assertNoErrors();
    assertEquals(0, h.seen(s -> s.event().isOpenPerm() && s.path() != null && s.path().endsWith("file.bin")).size(),
        "no open permission event");
    assertEquals(3, h.seen(s -> s.event().isOpenNotice() && s.path() != null
        && s.path().endsWith("file.bin")).size(), "one open notification per open: " + h.seen());
  }
}
