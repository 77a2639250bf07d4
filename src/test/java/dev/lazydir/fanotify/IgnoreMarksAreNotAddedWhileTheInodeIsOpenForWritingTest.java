package dev.lazydir.fanotify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.fanotify.FanotifyBed.Handler;
import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Posix;
import org.junit.jupiter.api.Test;

/**
 * Why a completed stub's write descriptor is closed (swapped for a read-only one) before its ignore marks are set:
 * an ignore mark added while the inode is open for writing is silently not added (the call succeeds, reads are
 * still reported); added once the writer is closed, it silences them.
 */
class IgnoreMarksAreNotAddedWhileTheInodeIsOpenForWritingTest extends PrivilegedFanotifyTest {
  @Test
  void anIgnoreMarkAddedWhileAWriterIsOpenDoesNotSilenceReadsOneAddedAfterItDoes() throws Exception {
    bed.sparse("writer/file.bin", 4096);
    FanotifyGroup group = bed.markedGroup(Fan.FAN_PRE_ACCESS);
    Handler h = bed.handle(group, 1, FanotifyBed.ALLOW);

    try (Fd writer = Posix.open(bed.priv("writer/file.bin").toString(), Posix.O_RDWR);
        Fd reader = Posix.open(bed.priv("writer/file.bin").toString(), Posix.O_RDONLY)) {
      group.ignoreInode(reader, null, Fan.FAN_PRE_ACCESS, false); // accepted...
      assertEquals(0, bed.read("cat", bed.view("writer/file.bin").toString()).exit());
      assertTrue(h.seen().size() >= 1, "...but not added: the read through the view is still reported");
    }

    h.clear();
    try (Fd reader = Posix.open(bed.priv("writer/file.bin").toString(), Posix.O_RDONLY)) {
      group.ignoreInode(reader, null, Fan.FAN_PRE_ACCESS, false);
    }
    assertEquals(0, bed.read("cat", bed.view("writer/file.bin").toString()).exit());
    h.assertNoErrors();
    assertEquals(0, h.seen().size(), "with no writer open, the ignore mark silences the reads: " + h.seen());
  }
}
