package dev.lazydir.fanotify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.fanotify.FanotifyBed.Reader;
import dev.lazydir.fanotify.FanotifyBed.Result;
import dev.lazydir.internal.posix.Errno;
import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Posix;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The facts lazydir's guard relies on (see Guard, GroupHandOver): a copy of the group fd taken with pidfd_getfd
 * keeps the group alive when the first fd is closed (pending readers stay blocked, no zeros), and an event read
 * through one fd is answered through the other by its number alone; a number with no pending event is refused with
 * ENOENT and changes nothing. (The copy taken from another process, and that process's death, are exercised end to
 * end by DaemonDeathTest.)
 */
class GroupCopyKeepsReadersBlockedAndAnswersByNumberTest extends PrivilegedFanotifyTest {
  @Test
  void anEventReadThroughTheFirstFdIsDeniedThroughTheCopyAfterTheFirstIsClosed() throws Exception {
    bed.sparse("copy/held.bin", 64 << 10);
    FanotifyGroup first = bed.markedGroup(Fan.FAN_PRE_ACCESS);
    FanotifyGroup copy;
    try (Fd self = Posix.pidfdOpen(ProcessHandle.current().pid())) {
      copy = FanotifyGroup.adopt(Posix.pidfdGetfd(self, first.fd()));
    }
    Reader reader = bed.start("cat", bed.view("copy/held.bin").toString());
    FanotifyEvent event = DenyErrnoFailsTheReadTest.awaitOneEvent(first, reader.pid());
    try {
      first.close(); // what the daemon's death does to its own fd

      Thread.sleep(300);
      assertTrue(reader.isAlive(), "the copy keeps the group: the reader stays blocked instead of reading zeros");
      FanotifyException unknown = assertThrows(FanotifyException.class,
          () -> copy.respond(event.fd() + 1000, Fan.denyErrno(Fan.EIO)));
      assertEquals(Errno.ENOENT, unknown.errno(), "a number with no pending event is refused");
      assertTrue(reader.isAlive(), "and changes nothing");

      copy.respond(event.fd(), Fan.denyErrno(Fan.EIO)); // by number, through the other fd

      Result r = reader.await(Duration.ofSeconds(10));
      assertNotEquals(0, r.exit());
      assertTrue(r.stderr().contains("Input/output error"), r.stderr());
      assertEquals(0, r.stdout().length, "not one byte of the hole");
    } finally {
      FanotifyGroup.closeEventFd(event.fd());
      copy.close();
    }
  }
}
