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
 * Facts behind the daemon's content marks (serve.ContentMarks): a FAN_PRE_ACCESS inode mark reports reads of the
 * file through any path, but only through files opened after the mark was added (the kernel decides at open whether
 * a file is watched), so a stub must be marked before it gets a name; once the mark is removed, later opens are
 * plain. The daemon's own I/O goes through a detached clone of the tree (open_tree) whose mount ignore mark
 * silences those inode marks.
 */
class InodeMarkWatchesOnlyFilesOpenedAfterItTest extends PrivilegedFanotifyTest {
  private static final int SIZE = 256 << 10;

  private void cat(Path path) throws Exception {
    Result r = bed.read("cat", path.toString());
    assertEquals(0, r.exit(), r.stderr());
    assertArrayEquals(FanotifyBed.pattern(0, SIZE), r.stdout());
  }

  private Path file;
  private FanotifyGroup g;
  private Handler h;

  /** A populated file, a fresh group and a handler allowing everything it sees. */
  private void populatedFileAndGroup(String rel) throws Exception {
    file = bed.populated(rel, SIZE);
    g = bed.group();
    h = bed.handle(g, 1, FanotifyBed.ALLOW);
  }

  private static void markInode(FanotifyGroup g, Path file) throws Exception {
    try (Fd fd = Posix.open(file.toString(), Posix.O_RDONLY)) {
      g.markInode(fd, Fan.FAN_PRE_ACCESS);
    }
  }

  @Test
  void aMarkedInodeReportsReadsThroughEveryPathUntilTheMarkIsRemoved() throws Exception {
    populatedFileAndGroup("inode/marked.bin");
    markInode(g, file);

    cat(bed.view("inode/marked.bin"));
    int throughView = h.seen().size();
    h.clear();
    cat(file);
    int throughPrivate = h.seen().size();
    assertTrue(throughView > 0 && throughPrivate > 0,
        "an inode mark sees reads through the view (" + throughView + ") and the private path (" + throughPrivate + ")");

    try (Fd fd = Posix.open(file.toString(), Posix.O_RDONLY)) {
      assertTrue(g.unmarkInode(fd, Fan.FAN_PRE_ACCESS));
      assertFalse(g.unmarkInode(fd, Fan.FAN_PRE_ACCESS), "a second removal finds no mark");
    }
    h.clear();
    cat(bed.view("inode/marked.bin"));
    assertEquals(List.of(), h.seen(), "without its mark the file reads with no event");
    h.assertNoErrors();
  }

  @Test
  void aFileOpenedBeforeTheMarkIsNeverReported() throws Exception {
    populatedFileAndGroup("inode/early.bin");
    try (FileChannel early = FileChannel.open(bed.view("inode/early.bin"), StandardOpenOption.READ)) {
      markInode(g, file);
      assertEquals(SIZE, early.read(ByteBuffer.allocate(SIZE), 0));
      assertEquals(List.of(), h.seen(), "reads through a file opened before the mark send no event");
      cat(bed.view("inode/early.bin"));
      assertFalse(h.seen().isEmpty(), "a file opened after the mark does");
    }
    h.assertNoErrors();
  }

  @Test
  void ioThroughADetachedCloneWithAMountIgnoreMarkIsSilent() throws Exception {
    populatedFileAndGroup("inode/private.bin");
    markInode(g, file);
    try (Fd clone = Posix.cloneMount(bed.tree.toString())) {
      g.ignoreMount(clone, ".", Fan.FAN_PRE_ACCESS);
      try (Fd dir = clone.openAt("inode", Posix.O_RDONLY | Posix.O_DIRECTORY, 0);
          Fd rw = dir.openAt("private.bin", Posix.O_RDWR, 0)) {
        ByteBuffer b = ByteBuffer.allocateDirect(4096);
        b.put(FanotifyBed.pattern(8192, 4096)).flip();
        rw.pwriteFully(b, 8192); // the same bytes again
      }
      Thread.sleep(100);
      assertEquals(List.of(), h.seen(), "the clone's I/O sends no event although the inode is marked");
      cat(file);
      assertFalse(h.seen().isEmpty(), "the same inode through the ordinary path still reports reads");
    }
    h.assertNoErrors();
  }
}
