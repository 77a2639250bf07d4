package dev.lazydir.fanotify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.fanotify.FanotifyBed.Handler;
import dev.lazydir.fanotify.FanotifyBed.Result;
import org.junit.jupiter.api.Test;

/**
 * Permission events are raised for regular files and directories only: opening a fifo on a mount with a
 * FAN_OPEN_PERM mark reports nothing, so the daemon cannot refuse a fifo planted in its store (its readers wait for
 * a writer, as a fifo's do; only root can plant one, the store is 0700). Device nodes are kept out by nodev.
 */
class OpensOfAFifoRaiseNoOpenPermEventTest extends PrivilegedFanotifyTest {
  @Test
  void openingAFifoThroughAMarkedMountIsNotReported() throws Exception {
    java.nio.file.Files.createDirectories(bed.priv("fifo"));
    assertEquals(0, new ProcessBuilder("mkfifo", bed.priv("fifo/planted").toString()).start().waitFor());
    FanotifyGroup group = bed.markedGroup(Fan.FAN_OPEN_PERM | Fan.FAN_ONDIR);
    Handler h = bed.handle(group, 1, FanotifyBed.ALLOW);
    bed.sparse("fifo/regular.bin", 4096);

    // Non-blocking opens: a fifo's open would otherwise wait for a writer.
    Result fifo = bed.read(FanotifyBed.python(), "-c",
        "import os,sys; os.close(os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)); print('opened')",
        bed.view("fifo/planted").toString());
    Result regular = bed.read("cat", bed.view("fifo/regular.bin").toString());

    assertEquals("opened", fifo.out().trim(), fifo.stderr());
    assertEquals(0, regular.exit(), regular.stderr());
    h.assertNoErrors();
    assertTrue(h.seen().stream().noneMatch(s -> s.path() != null && s.path().toString().endsWith("planted")),
        "no open event for the fifo: " + h.seen());
    assertTrue(h.seen().stream().anyMatch(s -> s.path() != null && s.path().toString().endsWith("regular.bin")),
        "while the regular file's open is reported: " + h.seen());
  }
}
