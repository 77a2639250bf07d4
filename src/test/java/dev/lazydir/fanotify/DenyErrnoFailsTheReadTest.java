package dev.lazydir.fanotify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.lazydir.fanotify.FanotifyBed.Handler;
import dev.lazydir.fanotify.FanotifyBed.Reader;
import dev.lazydir.fanotify.FanotifyBed.Result;
import dev.lazydir.internal.posix.Errno;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Fact (b): a FAN_DENY_ERRNO(EIO) answer makes the reader's read fail with EIO; every errno of the accepted list
 * reaches the reader; Fan.denyErrno refuses the others, and the kernel itself refuses them (EINVAL) leaving the event
 * pending until it gets a valid answer.
 */
class DenyErrnoFailsTheReadTest extends PrivilegedFanotifyTest {
  private static final String READ_ERRNO = String.join("\n",
      "import os, sys",
      "fd = os.open(sys.argv[1], os.O_RDONLY)",
      "try:",
      "    os.read(fd, 4096)",
      "    print('read-ok')",
      "except OSError as e:",
      "    print(e.errno)");

  @Test
  void eioAnswerMakesCatFailWithInputOutputError() throws Exception {
    bed.sparse("deny/eio.bin", 64 << 10);
    FanotifyGroup group = bed.markedGroup(Fan.FAN_PRE_ACCESS);
    Handler h = bed.handle(group, 1, (e, p) -> Fan.denyErrno(Fan.EIO));

    Result r = bed.read("cat", bed.view("deny/eio.bin").toString());

    h.assertNoErrors();
    assertNotEquals(0, r.exit(), "cat must fail");
    assertTrue(r.stderr().contains("Input/output error"), "stderr: " + r.stderr());
    assertEquals(0, r.stdout().length, "nothing was read");
    assertEquals(1, h.seen().size(), "cat gives up after the first denied read: " + h.seen());
  }

  @Test
  void everyAcceptedErrnoReachesTheReader() throws Exception {
    bed.sparse("deny/each.bin", 4096);
    int[] accepted = {Fan.EPERM, Fan.EIO, Fan.EAGAIN, Fan.EBUSY, Fan.ETXTBSY, Fan.ENOSPC, Fan.EDQUOT};
    for (int errno : accepted) {
      FanotifyGroup group = bed.markedGroup(Fan.FAN_PRE_ACCESS);
      Handler h = bed.handle(group, 1, (e, p) -> Fan.denyErrno(errno));
      Result r = bed.read(FanotifyBed.python(), "-c", READ_ERRNO, bed.view("deny/each.bin").toString());
      h.assertNoErrors();
      assertEquals(0, r.exit(), r.stderr());
      assertEquals(Integer.toString(errno), r.out().trim(), "the reader's read fails with errno " + errno);
      assertEquals(1, h.answeredAtLeast(1));
      bed.releaseTestResources();
    }
  }

  @Test
  void denyErrnoRefusesEnoent() {
    assertThrows(IllegalArgumentException.class, () -> Fan.denyErrno(Errno.ENOENT));
  }

  @Test
  void kernelRefusesAnUnlistedErrnoAndTheEventStaysPending() throws Exception {
    bed.sparse("deny/pending.bin", 4096);
    FanotifyGroup group = bed.markedGroup(Fan.FAN_PRE_ACCESS);
    Reader reader = bed.start("cat", bed.view("deny/pending.bin").toString());
    FanotifyEvent event = null;
    try {
      event = awaitOneEvent(group, reader.pid());
      int enoent = Fan.FAN_DENY | 2 << 24; // what Fan.denyErrno refuses to build
      FanotifyEvent e = event;
      assertThrows(IllegalArgumentException.class, () -> group.respond(e.fd(), enoent), "respond refuses it itself");
      FanotifyException refused = assertThrows(FanotifyException.class, () -> group.respondUnchecked(e.fd(), enoent));
      assertEquals(Errno.EINVAL, refused.errno(), refused.getMessage());
      Thread.sleep(300);
      assertTrue(reader.isAlive(), "after a refused answer the event is still pending: the reader stays blocked");

      group.respond(event.fd(), Fan.denyErrno(Fan.EIO)); // the one valid answer
      Result r = reader.await(Duration.ofSeconds(10));
      assertNotEquals(0, r.exit());
      assertTrue(r.stderr().contains("Input/output error"), r.stderr());
      // answered events are gone: a second answer to the same fd is refused
      FanotifyException twice = assertThrows(FanotifyException.class, () -> group.respond(e.fd(), Fan.FAN_ALLOW));
      assertEquals(Errno.ENOENT, twice.errno(), twice.getMessage());
    } finally {
      if (event != null) {
        FanotifyGroup.closeEventFd(event.fd());
      }
      group.close(); // allows whatever is still pending
    }
  }

  /** Polls the group until the reader's first event arrives (any other event is allowed at once). */
  static FanotifyEvent awaitOneEvent(FanotifyGroup group, long pid) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    List<FanotifyEvent> others = new ArrayList<>();
    while (System.nanoTime() < deadline) {
      for (FanotifyEvent e : group.poll(Duration.ofMillis(100))) {
        if (e.pid() == pid && e.needsResponse()) {
          return e;
        }
        others.add(e);
        if (e.needsResponse()) {
          group.respond(e.fd(), Fan.FAN_ALLOW);
        }
        FanotifyGroup.closeEventFd(e.fd());
      }
    }
    fail("no event from reader " + pid + " within 10 s (others: " + others + ")");
    return null;
  }
}
