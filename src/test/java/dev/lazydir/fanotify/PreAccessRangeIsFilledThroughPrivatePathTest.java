package dev.lazydir.fanotify;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.fanotify.FanotifyBed.Handler;
import dev.lazydir.fanotify.FanotifyBed.Result;
import dev.lazydir.fanotify.FanotifyBed.Seen;
import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Posix;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Fact (a): reading a sparse file through the marked view sends FAN_PRE_ACCESS events whose range info covers the
 * bytes read (page-aligned); a handler that writes the content through the PRIVATE path and then allows makes the
 * reader see the handler's bytes; the handler's own I/O through the private path sends no event.
 */
class PreAccessRangeIsFilledThroughPrivatePathTest extends PrivilegedFanotifyTest {
  private static final long JVM_PID = ProcessHandle.current().pid();

  private static FanotifyBed.Callback filler() {
    return (e, path) -> {
      if (e.isPreAccess()) {
        if (FanotifyGroup.isDirectory(e.fd())) {
          throw new AssertionError("a pre-access event on a directory: " + e);
        }
        FanotifyBed.fillThroughPrivatePath(bed.toPrivate(path), e.offset(), e.count());
      }
      return Fan.FAN_ALLOW;
    };
  }

  @Test
  void catOfASparseFileSeesTheBytesTheHandlerWroteThroughThePrivatePath() throws Exception {
    int size = (1 << 20) + 1000; // not page-aligned: the last range runs past EOF
    Path stub = bed.sparse("a/sparse.bin", size);
    try (Fd fd = Posix.open(stub.toString(), Posix.O_RDONLY)) {
      assertEquals(0, fd.stat().allocatedBytes(), "the stub starts as a pure hole");
    }
    FanotifyGroup group = bed.markedGroup(Fan.FAN_PRE_ACCESS);
    Handler h = bed.handle(group, 1, filler());

    Result r = bed.read("cat", bed.view("a/sparse.bin").toString());

    h.assertNoErrors();
    assertEquals(0, r.exit(), r.stderr());
    assertArrayEquals(FanotifyBed.pattern(0, size), r.stdout(), "cat sees the bytes the handler wrote");
    List<Seen> seen = h.seen();
    assertFalse(seen.isEmpty(), "reading through the view sends events");
    for (Seen s : seen) {
      FanotifyEvent e = s.event();
      assertTrue(e.isPreAccess() && e.hasRange(), "pre-access with range info: " + e);
      assertEquals(r.pid(), e.pid(), "every event comes from cat, none from the handler's own I/O: " + e);
      assertEquals(bed.view("a/sparse.bin"), s.path(), "the event fd shows the view path");
      assertEquals(0, e.offset() % FanotifyBed.PAGE, "ranges start on a page: " + e);
      assertEquals(0, e.count() % FanotifyBed.PAGE, "ranges are whole pages: " + e);
    }
    assertCovers(seen, size);
    assertEquals(seen.size(), h.answeredAtLeast(seen.size()), "each event answered exactly once");
    System.out.printf("cat of %d bytes: %d pre-access events, ranges %s%n", size, seen.size(),
        seen.stream().map(s -> s.event().offset() + "+" + s.event().count()).toList());
  }

  @Test
  void ioThroughThePrivatePathSendsNoEvent() throws Exception {
    int size = 256 << 10;
    Path stub = bed.sparse("b/quiet.bin", size);
    FanotifyGroup group = bed.markedGroup(Fan.FAN_PRE_ACCESS);
    Handler h = bed.handle(group, 1, filler());

    // the JVM: pwrite and pread through its own fd on the private path
    try (FileChannel ch = FileChannel.open(stub, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap(FanotifyBed.pattern(8192, 4096)), 8192);
      ch.read(ByteBuffer.allocate(size), 0);
    }
    // other processes through the private path
    Result cat = bed.read("cat", stub.toString());
    assertEquals(0, cat.exit(), cat.stderr());
    Result dd = bed.read("dd", "if=" + stub, "of=/dev/null", "bs=4096");
    assertEquals(0, dd.exit(), dd.stderr());
    Thread.sleep(300);
    assertEquals(List.of(), h.seen(), "no event for I/O through the private (unmarked) mount");

    // control: the mark is live, the same file through the view does send events
    Result head = bed.read("head", "-c", "100", bed.view("b/quiet.bin").toString());
    assertEquals(0, head.exit(), head.stderr());
    assertFalse(h.seen().isEmpty(), "the same file read through the view sends events");
    assertTrue(h.seen().stream().allMatch(s -> s.event().pid() == head.pid()), "only head's: " + h.seen());
    assertTrue(h.seen().stream().noneMatch(s -> s.event().pid() == JVM_PID));
    h.assertNoErrors();
  }

  @Test
  void readPastEofStillSendsAnEvent() throws Exception {
    int size = 10 * 4096;
    bed.sparse("c/short.bin", size);
    FanotifyGroup group = bed.markedGroup(Fan.FAN_PRE_ACCESS);
    Handler h = bed.handle(group, 1, FanotifyBed.ALLOW);
    String script = "import os,sys\nfd=os.open(sys.argv[1],os.O_RDONLY)\nprint(len(os.pread(fd,100,int(sys.argv[2]))))";
    Result r = bed.read(FanotifyBed.python(), "-c", script, bed.view("c/short.bin").toString(),
        Long.toString(size + 8192));
    h.assertNoErrors();
    assertEquals(0, r.exit(), r.stderr());
    assertEquals("0", r.out().trim(), "the read returns nothing (past EOF)");
    List<Seen> seen = h.seen(s -> s.event().pid() == r.pid());
    assertEquals(1, seen.size(), "one event for the read past EOF: " + seen);
    assertTrue(seen.get(0).event().offset() >= size, "range starts past EOF (not clipped): " + seen.get(0).event());
  }

  /** The union of the events' ranges covers [0, size). */
  static void assertCovers(List<Seen> seen, long size) {
    List<FanotifyEvent> events = seen.stream().map(Seen::event)
        .sorted(Comparator.comparingLong(FanotifyEvent::offset)).toList();
    long covered = 0;
    for (FanotifyEvent e : events) {
      if (e.offset() > covered) {
        break;
      }
      covered = Math.max(covered, e.rangeEnd());
    }
    assertTrue(covered >= size, "event ranges cover [0, " + size + "), only up to " + covered + ": " + events);
  }
}
