package dev.lazydir.fanotify;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.fanotify.FanotifyBed.Handler;
import dev.lazydir.fanotify.FanotifyBed.Result;
import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Posix;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Fact (d): an ignore mark (FAN_MARK_IGNORE | FAN_MARK_EVICTABLE) on a populated file's inode silences its
 * pre-access events through the marked view; removing it brings them back; a write to the file (even through the
 * private path) clears it.
 */
class IgnoreMarkSilencesAPopulatedFileTest extends PrivilegedFanotifyTest {
  private static final int SIZE = 512 << 10;

  private Result cat(String rel) throws Exception {
    Result r = bed.read("cat", bed.view(rel).toString());
    assertEquals(0, r.exit(), r.stderr());
    assertArrayEquals(FanotifyBed.pattern(0, SIZE), r.stdout());
    return r;
  }

  @Test
  void ignoreMarkOnTheInodeSilencesPreAccess() throws Exception {
    Path file = bed.populated("ignore/full.bin", SIZE);
    FanotifyGroup group = bed.markedGroup(Fan.FAN_PRE_ACCESS);
    Handler h = bed.handle(group, 1, FanotifyBed.ALLOW);

    cat("ignore/full.bin");
    int before = h.seen().size();
    assertTrue(before > 0, "without an ignore mark, reads send events");

    h.clear();
    try (Fd fd = Posix.open(file.toString(), Posix.O_RDONLY)) {
      group.ignoreInode(fd, null, Fan.FAN_PRE_ACCESS, false); // the inode of an fd, null path
    }
    cat("ignore/full.bin");
    assertEquals(List.of(), h.seen(), "the ignore mark silences the file's pre-access events");

    assertTrue(group.removeIgnore(FanotifyGroup.AT_FDCWD, file.toString(), Fan.FAN_PRE_ACCESS, false));
    cat("ignore/full.bin");
    assertEquals(before, h.seen().size(), "events are back once the ignore mark is removed");
    h.assertNoErrors();
    System.out.println("cat of a populated " + SIZE + "-byte file: " + before + " events, 0 with the ignore mark");
  }

  @Test
  void removingAMissingIgnoreMarkReportsFalse() throws Exception {
    Path file = bed.populated("ignore/never.bin", 4096);
    FanotifyGroup group = bed.group();
    assertFalse(group.removeIgnore(FanotifyGroup.AT_FDCWD, file.toString(), Fan.FAN_PRE_ACCESS, false));
  }

  @Test
  void aWriteClearsTheFileIgnoreMark() throws Exception {
    Path file = bed.populated("ignore/rewritten.bin", SIZE);
    FanotifyGroup group = bed.markedGroup(Fan.FAN_PRE_ACCESS);
    Handler h = bed.handle(group, 1, FanotifyBed.ALLOW);
    group.ignoreInode(FanotifyGroup.AT_FDCWD, file.toString(), Fan.FAN_PRE_ACCESS, false);
    cat("ignore/rewritten.bin");
    assertEquals(List.of(), h.seen(), "silenced");

    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap(FanotifyBed.pattern(4096, 1)), 4096); // same byte again, through the private path
    }
    Thread.sleep(100);
    assertEquals(List.of(), h.seen(), "the write through the private path itself sends no event");
    cat("ignore/rewritten.bin");
    assertFalse(h.seen().isEmpty(), "after a write the ignore mark is gone: reads send events again");
    h.assertNoErrors();
  }
}
