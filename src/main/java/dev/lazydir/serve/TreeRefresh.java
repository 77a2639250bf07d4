package dev.lazydir.serve;

import dev.lazydir.crawl.Crawler;
import dev.lazydir.crawl.Relisting;
import dev.lazydir.internal.Threads;
import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Stat;
import dev.lazydir.tree.EntryMeta.DirMeta;
import dev.lazydir.tree.StubTree;
import dev.lazydir.tree.TreePath;
import dev.lazydir.tree.TreeWalk;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code lazydir refresh}: revalidates the listings and file versions of parts of the view now, ahead of
 * {@code --refresh-timeout}. Each listed directory below the paths asked for is listed again through the daemon's
 * single-flight listing (a 304 or the same bytes cost no parsing and no look at the entries), then each of its
 * files with bytes on disk is asked for its version (one HEAD each: a listing cannot show a file rewritten within
 * its minute at the same size); a changed file becomes a new inode, as when a listing replaces it. Directories
 * not listed yet are left for their first open; directories made from the tree index are refreshed by the next
 * start's index. Runs level by level, several directories at a time.
 */
final class TreeRefresh {
  private final StubTree tree;
  private final DirectoryOpens directories;
  private final int parallelism;

  /** What one refresh did, for the command's summary line. */
  record Report(long directories, long unchanged, long created, long replaced, long removed, long failed,
      long notListedYet, long fromIndex, long filesChecked, long filesReplaced, long filesNotChecked) {
    String summary() {
      StringBuilder sb = new StringBuilder("refreshed " + directories + " director" + (directories == 1 ? "y" : "ies")
          + ": " + unchanged + " unchanged, " + (directories - unchanged - failed) + " read again (" + created
          + " entries created, " + replaced + " files replaced, " + removed + " removed); " + filesChecked
          + " local files checked, " + filesReplaced + " replaced");
      if (failed > 0) {
        sb.append("; ").append(failed).append(" could not be listed (their previous listing stays; see the daemon's log)");
      }
      if (filesNotChecked > 0) {
        sb.append("; ").append(filesNotChecked).append(" files could not be checked (see the daemon's log)");
      }
      if (notListedYet > 0) {
        sb.append("; ").append(notListedYet).append(" not listed yet (listed when first opened)");
      }
      if (fromIndex > 0) {
        sb.append("; ").append(fromIndex).append(" from the tree index (refreshed by the next start's index)");
      }
      return sb.toString();
    }
  }

  private final AtomicLong dirs = new AtomicLong();
  private final AtomicLong unchanged = new AtomicLong();
  private final AtomicLong created = new AtomicLong();
  private final AtomicLong replaced = new AtomicLong();
  private final AtomicLong removed = new AtomicLong();
  private final AtomicLong failed = new AtomicLong();
  private final AtomicLong notListedYet = new AtomicLong();
  private final AtomicLong fromIndex = new AtomicLong();
  private final AtomicLong filesChecked = new AtomicLong();
  private final AtomicLong filesReplaced = new AtomicLong();
  private final AtomicLong filesNotChecked = new AtomicLong();

  TreeRefresh(StubTree tree, DirectoryOpens directories, int parallelism) {
    this.tree = tree;
    this.directories = directories;
    this.parallelism = Math.max(1, parallelism);
  }

  /**
   * Checks that every path is in the tree (a missing one is named, and nothing is refreshed), then refreshes
   * each: a directory with everything listed below it, a file with its directory's listing and its own version.
   */
  Report run(List<TreePath> paths) throws IOException, InterruptedException {
    List<TreePath> dirsToWalk = new ArrayList<>();
    List<TreePath> files = new ArrayList<>();
    for (TreePath path : paths) {
      if (path.isRoot()) {
        dirsToWalk.add(path);
        continue;
      }
      Optional<Stat> st;
      try (Fd dir = tree.openDir(path.parent())) {
        st = dir.statAt(path.name());
      } catch (IOException e) {
        st = Optional.empty();
      }
      if (st.isEmpty() || !(st.get().isDirectory() || st.get().isRegularFile())) {
        throw new IllegalArgumentException(path + " is not in the view (no such file or"
            + " directory; a directory not listed yet shows no entries: open it or run lazydir populate first)");
      }
      (st.get().isDirectory() ? dirsToWalk : files).add(path);
    }
    ExecutorService pool = Executors.newFixedThreadPool(parallelism, Threads.daemon("lazydir-refresh"));
    try {
      for (TreePath file : files) {
        String name = file.name();
        one(file.parent(), name::equals);
      }
      List<TreePath> level = dirsToWalk;
      while (!level.isEmpty()) {
        List<Future<List<TreePath>>> futures = new ArrayList<>();
        for (TreePath dir : level) {
          futures.add(pool.submit(() -> {
            one(dir, name -> true);
            return subdirectories(dir);
          }));
        }
        List<TreePath> next = new ArrayList<>();
        for (Future<List<TreePath>> f : futures) {
          try {
            next.addAll(f.get());
          } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
          }
        }
        level = next;
      }
    } finally {
      pool.shutdownNow();
    }
    return new Report(dirs.get(), unchanged.get(), created.get(), replaced.get(), removed.get(), failed.get(),
        notListedYet.get(), fromIndex.get(), filesChecked.get(), filesReplaced.get(), filesNotChecked.get());
  }

  /** Lists one directory again (if it is listed, and not from the index), then checks its local files. */
  private void one(TreePath dir, java.util.function.Predicate<String> files) throws IOException {
    DirMeta meta;
    try (Fd fd = tree.openDir(dir)) {
      if (!(StubTree.metaOf(fd).orElse(null) instanceof DirMeta m)) {
        return;
      }
      meta = m;
    }
    if (meta.fromIndex()) {
      fromIndex.incrementAndGet();
      return;
    }
    if (!meta.listed()) {
      notListedYet.incrementAndGet();
      return;
    }
    dirs.incrementAndGet();
    Relisting r;
    try {
      r = directories.relist(dir);
    } catch (IOException e) {
      r = Relisting.NOT_LISTED;
    }
    if (!r.listed()) {
      failed.incrementAndGet();
      return;
    }
    if (r.unchanged()) {
      unchanged.incrementAndGet();
    }
    created.addAndGet(r.created());
    replaced.addAndGet(r.replaced());
    removed.addAndGet(r.removed());
    Crawler.FileChecks c = directories.checkLocalFiles(dir, files);
    filesChecked.addAndGet(c.checked());
    filesReplaced.addAndGet(c.replaced());
    filesNotChecked.addAndGet(c.failed());
  }

  /** The lazydir subdirectories of a directory, listed or not (those not listed are counted, not listed). */
  private List<TreePath> subdirectories(TreePath dir) throws IOException {
    List<TreePath> out = new ArrayList<>();
    try (Fd fd = tree.openDir(dir)) {
      TreeWalk.entries(tree, fd, new TreeWalk.Entries() {
        @Override
        public void file(String name, Stat st) {}

        @Override
        public void directory(String name, DirMeta meta) {
          out.add(dir.child(name));
        }
      });
    }
    return out;
  }
}
