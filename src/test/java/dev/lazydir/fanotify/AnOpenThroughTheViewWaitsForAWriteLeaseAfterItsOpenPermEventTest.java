package dev.lazydir.fanotify;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.fanotify.FanotifyBed.Handler;
import dev.lazydir.internal.posix.Errno;
import dev.lazydir.internal.posix.ErrnoException;
import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Posix;
import org.junit.jupiter.api.Test;

/**
 * What a lease-break wait does to a permission event, which eviction relies on. An open through the view of a file
 * under a write lease raises its FAN_OPEN_PERM event first (the kernel's open permission hook comes before
 * break_lease), but the daemon's read of that event waits too: the kernel opens the event's fd, and that open
 * breaks the lease like any other. So the event reaches a handler only once the lease is dropped; the handler is
 * then answered normally and the opener proceeds. The evicting thread must therefore never wait for a handler. The
 * daemon's own O_NONBLOCK open through its clone fails with EAGAIN (EWOULDBLOCK) meanwhile instead of waiting.
 */
class AnOpenThroughTheViewWaitsForAWriteLeaseAfterItsOpenPermEventTest extends PrivilegedFanotifyTest {
  @Test
  void theOpenPermEventReachesTheHandlerOnlyOnceTheLeaseIsDroppedThenTheOpenerProceeds() throws Exception {
    Posix.ignoreLeaseBreakSignal();
    bed.populated("leasewait/file.bin", 8192);
    FanotifyGroup g = bed.markedGroup(Fan.FAN_OPEN_PERM);
    Handler h = bed.handle(g, 1, FanotifyBed.ALLOW);
    try (Fd clone = Posix.cloneMount(bed.priv.toString());
        Fd rw = clone.openAt("tree/leasewait/file.bin", Posix.O_RDWR | Posix.O_NOFOLLOW, 0)) {
      rw.setLease(Fd.LEASE_WRITE);
      FanotifyBed.Reader cat = bed.start("cat", bed.view("leasewait/file.bin").toString());
      Thread.sleep(1000);
      assertTrue(cat.isAlive(), "the opener waits while the lease is held");
      assertEquals(0, h.answered.get(), "the handler's read of the open event waits for the lease too");
      ErrnoException busy = assertThrows(ErrnoException.class,
          () -> clone.openAt("tree/leasewait/file.bin", Posix.O_RDONLY | Posix.O_NONBLOCK, 0).close());
      assertEquals(Errno.EAGAIN, busy.errno(), "an O_NONBLOCK open meanwhile fails with EWOULDBLOCK");

      rw.setLease(Fd.LEASE_NONE);
      FanotifyBed.Result r = cat.await();
      assertEquals(0, r.exit(), r.stderr());
      assertArrayEquals(FanotifyBed.pattern(0, 8192), r.stdout());
      for (long end = System.nanoTime() + 5_000_000_000L; h.answered.get() == 0 && System.nanoTime() < end; ) {
        Thread.sleep(10); // the answer is counted just after it is written
      }
      assertEquals(1, h.answered.get(), "the lease dropped, the event was read and answered");
    }
    h.assertNoErrors();
  }
}
