package dev.lazydir.fanotify;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.fanotify.FanotifyBed.Handler;
import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Posix;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The order eviction keeps: the content mark goes back on a complete file before the write lease is taken. The
 * kernel decides at open, before the open waits for a lease, whether the file is watched for pre-content events;
 * an open that arrives while the lease is held and the data is punched out therefore finds the mark, and its reads
 * after the lease is dropped raise events that fill the file again: it reads the bytes, never the holes.
 */
class AnOpenWaitingOnALeaseSeesAContentMarkAddedBeforeTheLeaseTest extends PrivilegedFanotifyTest {
  private static final int SIZE = 64 << 10;

  @Test
  void anOpenDuringAnEvictionReadsRefilledBytesNotHoles() throws Exception {
    Posix.ignoreLeaseBreakSignal();
    Path file = bed.populated("evicted/file.bin", SIZE);
    FanotifyGroup g = bed.group();
    try (Fd clone = Posix.cloneMount(bed.priv.toString());
        Fd rw = clone.openAt("tree/evicted/file.bin", Posix.O_RDWR | Posix.O_NOFOLLOW, 0)) {
      g.ignoreMount(clone, ".", Fan.FAN_PRE_ACCESS); // the handler writes through the clone, silently
      Handler h = bed.handle(g, 1, (e, p) -> {
        if (e.isPreAccess()) {
          java.nio.ByteBuffer b = java.nio.ByteBuffer.allocateDirect(SIZE).put(FanotifyBed.pattern(0, SIZE)).flip();
          rw.pwriteFully(b, 0);
        }
        return Fan.FAN_ALLOW;
      });
      g.markInode(rw, Fan.FAN_PRE_ACCESS);
      rw.setLease(Fd.LEASE_WRITE);
      FanotifyBed.Reader cat = bed.start("cat", bed.view("evicted/file.bin").toString());
      Thread.sleep(300);
      assertTrue(cat.isAlive(), "the open waits for the lease");
      rw.punchHole(0, SIZE);
      assertEquals(0, rw.stat().allocatedBytes(), "the data is punched out under the lease");
      rw.setLease(Fd.LEASE_NONE);
      FanotifyBed.Result r = cat.await();
      assertEquals(0, r.exit(), r.stderr() + h.errors);
      assertArrayEquals(FanotifyBed.pattern(0, SIZE), r.stdout(), "refilled through the content event, no zeros");
      assertTrue(h.seen(s -> s.event().isPreAccess()).size() > 0, "the reads raised content events");
      h.assertNoErrors();
    }
  }
}
