package dev.lazydir.serve;

import dev.lazydir.fanotify.Fan;
import dev.lazydir.fanotify.FanotifyException;
import dev.lazydir.fanotify.FanotifyGroup;
import dev.lazydir.internal.posix.Errno;
import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Stat;
import dev.lazydir.tree.EntryMeta.DirMeta;
import dev.lazydir.tree.EntryMeta.FileMeta;
import dev.lazydir.tree.StubTree;
import dev.lazydir.tree.TreePath;
import dev.lazydir.tree.TreeWalk;
import java.io.IOException;
import java.util.logging.Logger;

/**
 * Which files raise content events: exactly the stubs with bytes still to fetch, each through its own inode
 * mark (FAN_PRE_ACCESS). A file that is complete carries no content mark at all, so the kernel opens it as an
 * unwatched file and its reads cost what reads of any local file cost (a mount mark, or an inode ignore mark
 * under one, would put every read of it through fsnotify: 4 KiB random reads ran at about 0.8x).
 *
 * <p>The kernel decides at open time whether a file is watched: a stub must be marked before any process can
 * open it. New stubs are marked while still nameless ({@link StubTree#onNewStub}); stubs already on disk when
 * the daemon starts are marked before the view is mounted ({@link #watchIncomplete}).
 *
 * <p>Each mark pins its inode in the kernel's cache (about 1 KiB) until the file completes or the daemon exits.
 */
final class ContentMarks {
  private static final Logger LOG = Logger.getLogger(ContentMarks.class.getName());
  private final FanotifyGroup group;

  ContentMarks(FanotifyGroup group) {
    this.group = group;
  }

  /** Marks a stub with bytes to fetch; a zero-length one has none. */
  void watch(Fd stub, FileMeta meta) throws IOException {
    if (meta.size() == 0) {
      return;
    }
    try {
      group.markInode(stub, Fan.FAN_PRE_ACCESS);
    } catch (FanotifyException e) {
      throw explained(e);
    }
  }

  /** Marks {@code dir/name} without opening it (a stub with no block at all: nothing of it was ever fetched). */
  private void watchAt(Fd dir, String name) throws IOException {
    try {
      group.markInodeAt(dir, name, Fan.FAN_PRE_ACCESS);
    } catch (FanotifyException e) {
      throw explained(e);
    }
  }

  /** The mark limit named with the sysctl that raises it; any other failure as it is. */
  private static IOException explained(FanotifyException e) {
    return e.errno() != Errno.ENOSPC ? e : new IOException("fanotify's mark limit is reached (one mark per file"
        + " with bytes to fetch); raise it: sysctl fs.fanotify.max_user_marks=" + (2 * maxUserMarks()), e);
  }

  private static long maxUserMarks() {
    try {
      return Long.parseLong(java.nio.file.Files.readString(java.nio.file.Path.of("/proc/sys/fs/fanotify/max_user_marks")).trim());
    } catch (IOException | NumberFormatException e) {
      return 1 << 20;
    }
  }

  /** The file is complete: from its next open on, reads go straight to the disk. */
  void release(Fd stub) throws IOException {
    group.unmarkInode(stub, Fan.FAN_PRE_ACCESS);
  }

  /**
   * Marks every stub of the tree that its recorded map does not show complete; returns how many. Walks only
   * lazydir's directories and files (foreign entries and symlinks are skipped, never followed), on several threads. With
   * {@code forgetListedDirs}, directories lose the open ignore marks a previous holder of the group set, so that
   * their next open is seen again (and refreshed when due). The same walk gives counts their first values, and
   * shows every directory and file to {@code also} too, if not null (the store's usage is counted in this walk).
   */
  int watchIncomplete(StubTree tree, boolean forgetListedDirs, TreeCounts counts, TreeWalk.Visitor also)
      throws IOException {
    return walk(tree, forgetListedDirs, true, counts, also);
  }

  /**
   * The walk of {@link #watchIncomplete} for a tree whose stubs already carry their marks (each marked as the index
   * made it): it only counts.
   */
  void countMarked(StubTree tree, TreeCounts counts, TreeWalk.Visitor also) throws IOException {
    walk(tree, false, false, counts, also);
  }

  private int walk(StubTree tree, boolean forgetListedDirs, boolean mark, TreeCounts counts, TreeWalk.Visitor also)
      throws IOException {
    long t0 = System.nanoTime();
    java.util.concurrent.atomic.AtomicInteger marked = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicInteger files = new java.util.concurrent.atomic.AtomicInteger();
    Object tally = new Object(); // the walk runs on several threads; counts and also are told one at a time
    TreeWalk.walk(tree.root(), new TreeWalk.Visitor() {
      @Override
      public void directory(Fd dir, TreePath path, DirMeta meta) throws IOException {
        synchronized (tally) {
          counts.addDir(meta.listed());
          if (also != null) {
            also.directory(dir, path, meta);
          }
        }
        if (forgetListedDirs) {
          group.removeIgnore(dir, null, Fan.FAN_OPEN_PERM, true);
        }
      }

      @Override
      public void file(Fd dir, TreePath dirPath, String name, Stat st) throws IOException {
        if (also != null) {
          synchronized (tally) {
            also.file(dir, dirPath, name, st);
          }
        }
        if (st.size() > 0 && st.allocatedBytes() == 0) {
          // Not one block: nothing of it was ever fetched (an open gives a stub its blocks), so it is marked by
          // name, without an open and a read of its metadata (a restart on a big tree: ~4 calls a file saved).
          // A foreign sparse file marked so is harmless: its reads find no stub and are let through.
          files.incrementAndGet();
          if (mark) {
            watchAt(dir, name);
          }
          marked.incrementAndGet();
          synchronized (tally) {
            counts.add(new TreeCounts.File(TreeCounts.File.STUB, 0, st.size()));
          }
          return;
        }
        // A file with blocks is opened once, for its metadata, map and mark.
        try (Fd f = TreeWalk.open(dir, name, st)) {
          if (f == null || !(StubTree.metaOf(f).orElse(null) instanceof FileMeta meta)) {
            return;
          }
          TreeCounts.File counted = TreeCounts.classify(meta, f.getXattr(dev.lazydir.tree.EntryMeta.MAP_XATTR));
          synchronized (tally) {
            counts.add(counted);
          }
          if (meta.size() > 0) {
            files.incrementAndGet();
            if (!OpenStub.holdsAllBytes(f, meta)) {
              if (mark) {
                watch(f, meta);
              }
              marked.incrementAndGet();
            }
          }
        }
      }
    }, StubTree.WALK_THREADS);
    int m = marked.get();
    int n = files.get();
    LOG.fine(() -> (mark ? "content marks on " : "counted (marked already) ") + m + " of " + n + " files in "
        + (System.nanoTime() - t0) / 1_000_000 + " ms");
    return m;
  }
}
