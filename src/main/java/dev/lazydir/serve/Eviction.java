package dev.lazydir.serve;

import dev.lazydir.fanotify.Fan;
import dev.lazydir.fanotify.FanotifyGroup;
import dev.lazydir.internal.posix.Errno;
import dev.lazydir.internal.posix.ErrnoException;
import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Posix;
import dev.lazydir.internal.posix.Stat;
import dev.lazydir.tree.EntryMeta;
import dev.lazydir.tree.EntryMeta.FileMeta;
import dev.lazydir.tree.StubTree;
import java.io.IOException;

/**
 * Drops one file's bytes without ever racing a reader (seed 001's write lease). Through the daemon's detached clone
 * the file is opened read-write and checked to be lazydir's stub; its content mark goes back on and its open ignore
 * mark goes, <em>before</em> the lease: the kernel decides at open whether a file is watched, before the open waits
 * for a lease, so an open arriving during the eviction reads through content events (pinned by
 * AnOpenWaitingOnALeaseSeesAContentMarkAddedBeforeTheLeaseTest). Then a write lease, granted only when no other
 * descriptor of the file is open anywhere (AWriteLeaseIsGrantedOnlyWhileNoOtherDescriptorIsOpenTest): "nothing
 * present" is recorded first (incomplete, no map), so a crash never leaves "complete" over holes; the data is punched out; the
 * lease is dropped and a waiting opener proceeds to the normal fill. An open during the lease waits in the kernel,
 * and so does the daemon's read of that open's event (AnOpenThroughTheViewWaitsForAWriteLeaseAfterItsOpenPermEventTest):
 * nothing here ever waits for a handler.
 */
final class Eviction {
  /** What became of an attempt. */
  enum Outcome { EVICTED, IN_USE, PINNED, GONE }

  /**
   * Tests only ({@code -Dlazydir.test.evictionHoldMillis=N}): how long the lease is kept after the data is punched
   * out, so that a test can open the file while an eviction is under way. 0 otherwise.
   */
  private static final long HOLD_FOR_TESTS = Long.getLong("lazydir.test.evictionHoldMillis", 0);

  private static void sleepQuietly(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Set on a file by {@code lazydir pin}: never evicted. */
  static final String PIN_XATTR = "user.lazydir.pin";

  private final StubTree tree;
  private final FanotifyGroup group;
  private final ContentMarks marks;

  Eviction(StubTree tree, FanotifyGroup group, ContentMarks marks) throws IOException {
    this.tree = tree;
    this.group = group;
    this.marks = marks;
    Posix.ignoreLeaseBreakSignal();
  }

  /** Evicts {@code dir/name} if it is still the inode {@code ino} and nobody has it open. */
  Outcome evict(Fd dir, String name, long ino) throws IOException {
    Fd rw;
    try {
      rw = dir.openAt(name, Posix.O_RDWR | Posix.O_NOFOLLOW | Posix.O_NONBLOCK, 0);
    } catch (ErrnoException e) {
      return switch (e.errno()) {
        case Errno.ENOENT, Errno.ELOOP, Errno.ENOTDIR -> Outcome.GONE;
        case Errno.ETXTBSY, Errno.EAGAIN -> Outcome.IN_USE; // running, or another lease
        default -> throw e;
      };
    }
    try (rw) {
      Stat st = rw.stat();
      if (!st.isRegularFile() || st.dev() != tree.device() || (ino != 0 && st.ino() != ino)
          || !(StubTree.metaOf(rw).orElse(null) instanceof FileMeta meta)) {
        return Outcome.GONE;
      }
      if (rw.getXattr(PIN_XATTR).isPresent()) {
        return Outcome.PINNED;
      }
      if (st.allocatedBytes() == 0 && !meta.complete()) {
        return Outcome.EVICTED; // nothing to drop
      }
      marks.watch(rw, meta);
      group.removeIgnore(rw, null, Fan.FAN_OPEN_PERM, false);
      try {
        rw.setLease(Fd.LEASE_WRITE);
      } catch (ErrnoException e) {
        if (e.errno() == Errno.EAGAIN || e.errno() == Errno.EBUSY) {
          // Someone reads it. A complete file keeps its content mark until its next open through the view, which
          // finds it complete and lets it go native again (its reads meanwhile are let through at once).
          return Outcome.IN_USE;
        }
        throw e;
      }
      try {
        // Nothing recorded as present before any byte goes: a complete file is said incomplete (it has no map, so
        // nothing of it is present), a partial one loses its map. Either way no xattr block is left behind (the
        // metadata fits in the inode), so the file takes no disk at all afterwards.
        if (meta.complete()) {
          rw.setXattr(EntryMeta.XATTR, new FileMeta(meta.size(), meta.mtime(), meta.mtimePrecision(), meta.etag(),
              meta.listedName(), false, meta.mode()).encode());
        }
        if (rw.getXattr(EntryMeta.MAP_XATTR).isPresent()) {
          rw.removeXattr(EntryMeta.MAP_XATTR);
        }
        if (meta.size() > 0) {
          rw.punchHole(0, meta.size());
        }
        if (meta.mtime() != null) {
          rw.setMtime(meta.mtime());
        }
        if (HOLD_FOR_TESTS > 0) {
          sleepQuietly(HOLD_FOR_TESTS);
        }
      } finally {
        rw.setLease(Fd.LEASE_NONE);
      }
      return Outcome.EVICTED;
    }
  }

  /** Pins or unpins {@code dir/name} (a lazydir file); false if it is not one. */
  boolean pin(Fd dir, String name, boolean pinned) throws IOException {
    try (Fd f = dir.openAt(name, Posix.O_RDONLY | Posix.O_NOFOLLOW | Posix.O_NONBLOCK, 0)) {
      Stat st = f.stat();
      if (!st.isRegularFile() || st.dev() != tree.device() || !(StubTree.metaOf(f).orElse(null) instanceof FileMeta)) {
        return false;
      }
      if (pinned) {
        f.setXattr(PIN_XATTR, "1");
      } else if (f.getXattr(PIN_XATTR).isPresent()) {
        f.removeXattr(PIN_XATTR);
      }
      return true;
    }
  }
}
