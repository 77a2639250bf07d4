package dev.lazydir.fanotify;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.fanotify.FanotifyBed.Handler;
import dev.lazydir.fanotify.FanotifyBed.Reader;
import dev.lazydir.fanotify.FanotifyBed.Result;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Fact (f), the one that motivates lazydir's guard: when the group is closed (the daemon is gone), the kernel allows
 * every pending event and nothing stops later reads through the view: an unpopulated stub reads as zeros, with exit
 * status 0, i.e. silently wrong content.
 */
class ClosedGroupLetsReadsThroughTest extends PrivilegedFanotifyTest {
  private static final int SIZE = 64 << 10;

  @Test
  void pendingEventIsAllowedWhenTheGroupCloses() throws Exception {
    bed.sparse("closed/pending.bin", SIZE);
    FanotifyGroup group = bed.markedGroup(Fan.FAN_PRE_ACCESS);
    Reader reader = bed.start("cat", bed.view("closed/pending.bin").toString());
    FanotifyEvent event = null;
    try {
      event = DenyErrnoFailsTheReadTest.awaitOneEvent(group, reader.pid());
      Thread.sleep(200);
      assertTrue(reader.isAlive(), "unanswered: the reader is blocked");
      group.close(); // the daemon goes away without answering
      Result r = reader.await(Duration.ofSeconds(10));
      assertEquals(0, r.exit(), "the pending read was allowed: " + r.stderr());
      assertArrayEquals(new byte[SIZE], r.stdout(), "and it read the hole: zeros");
    } finally {
      if (event != null) {
        FanotifyGroup.closeEventFd(event.fd());
      }
      group.close();
    }
  }

  @Test
  void afterTheGroupIsClosedReadsSeeZerosAndNobodyIsAsked() throws Exception {
    bed.sparse("closed/later.bin", SIZE);
    FanotifyGroup group = bed.markedGroup(Fan.FAN_PRE_ACCESS);
    Handler h = bed.handle(group, 1, FanotifyBed.ALLOW);
    Result first = bed.read("head", "-c", "10", bed.view("closed/later.bin").toString());
    assertEquals(0, first.exit(), first.stderr());
    assertFalse(h.seen().isEmpty(), "while the group lives, reads are reported");

    group.close();
    h.close();
    h.assertNoErrors();
    int seenBefore = h.seen().size();

    Result later = bed.read("cat", bed.view("closed/later.bin").toString());
    assertEquals(0, later.exit(), later.stderr());
    assertArrayEquals(new byte[SIZE], later.stdout(), "an unpopulated stub reads as zeros, exit status 0");
    assertEquals(seenBefore, h.seen().size());
    System.out.println("read after the group closed took " + later.took().toMillis() + " ms, zeros");
  }
}
