package dev.lazydir.index;

import dev.lazydir.internal.Failures;
import dev.lazydir.internal.Threads;
import dev.lazydir.internal.posix.Fd;
import dev.lazydir.tree.EntryMeta.DirMeta;
import dev.lazydir.tree.EntryMeta.FileMeta;
import dev.lazydir.tree.EntryMeta.TimePrecision;
import dev.lazydir.tree.LocalName;
import dev.lazydir.tree.Staging;
import dev.lazydir.tree.StubTree;
import dev.lazydir.tree.TreePath;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Logger;

/**
 * Makes a whole tree from a validated index in a tree that holds nothing yet (a first start), several directories
 * at a time. Each stub costs the calls that give it its size, metadata and mtime and no more: nothing is looked up
 * first (there is nothing), and entries are made under their own names in a {@link Staging} directory, moved into
 * the root once all are finished, so a crash never leaves a directory that says it is listed and lacks entries.
 *
 * <p>One thread reads the index (depth first, a directory before its entries) and hands the work out: a directory
 * is made once its parent is, its files and links in batches once it is, and it is finished (metadata, mode, mtime)
 * once everything in it is made. Bounded: at most {@link #MAX_OPEN_DIRS} directories are open (more than the deepest path an index can
 * hold has names, so the reader never waits for itself) and {@link #MAX_QUEUED} entries wait in batches.
 */
final class FreshBuild {
  private static final Logger LOG = Logger.getLogger(FreshBuild.class.getName());
  /**
   * Threads making entries: one a core, at most four. Measured on 2 cores (68,001 entries, ext4): about 2 s of CPU
   * whatever the threads, two thirds of it in the kernel; more threads than cores did not finish sooner.
   */
  static final int THREADS = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));
  static final int BATCH = 64;
  /** A path of 4,095 bytes has at most 2,048 names: the directories open along it never exhaust this. */
  static final int MAX_OPEN_DIRS = 4096;
  static final int MAX_QUEUED = 16384;

  private final StubTree tree;
  private final Instant now;
  private final Staging staging;
  private final ExecutorService pool;
  private final Semaphore openDirs = new Semaphore(MAX_OPEN_DIRS);
  private final Semaphore queued = new Semaphore(MAX_QUEUED);
  private final AtomicReference<Throwable> failure = new AtomicReference<>();
  private final Deque<Dir> stack = new ArrayDeque<>();
  /** Directories not finished yet (guarded by this). */
  private long unfinished;
  private long directories;
  private long files;
  private long symlinks;
  private long bytes;
  private long warnings;
  private Dir root;

  /** A directory being made: made once its parent is; the work on what it holds; entries not yet handed out. */
  private final class Dir {
    final TreeIndex.Entry entry;
    final CompletableFuture<Fd> made;
    final List<CompletableFuture<?>> work = new ArrayList<>();
    List<TreeIndex.Entry> batch = new ArrayList<>();

    Dir(TreeIndex.Entry entry, CompletableFuture<Fd> made) {
      this.entry = entry;
      this.made = made;
    }
  }

  private FreshBuild(StubTree tree, Instant now, Staging staging, int threads) {
    this.tree = tree;
    this.now = now;
    this.staging = staging;
    this.pool = Executors.newFixedThreadPool(threads, Threads.daemon("lazydir-build"));
  }

  /** Whether a tree holds nothing but temporaries: then {@link #build} makes it. */
  static boolean empty(Fd root) throws IOException {
    return root.list().stream().allMatch(n -> n.startsWith(LocalName.TEMP_PREFIX));
  }

  /** Makes the tree {@code gz} describes in the empty {@code tree}. */
  static IndexApplier.Result build(byte[] gz, StubTree tree, Instant now) throws IOException {
    return build(gz, tree, now, THREADS);
  }

  static IndexApplier.Result build(byte[] gz, StubTree tree, Instant now, int threads) throws IOException {
    tree.sweepTemporaries(tree.root()); // a staging directory a crash left
    try (Staging staging = Staging.open(tree)) {
      FreshBuild b = new FreshBuild(tree, now, staging, threads);
      try {
        b.run(gz);
      } finally {
        b.pool.shutdownNow();
      }
      int moved = staging.publish();
      DirMeta old = StubTree.metaOf(tree.root()).orElse(null) instanceof DirMeta m ? m : new DirMeta(0, null, null);
      tree.finishDir(tree.root(), new DirMeta(Math.max(1, now.getEpochSecond()), null, old.url(), true,
          b.root.entry.mode()), b.root.entry.mtime());
      LOG.fine(() -> "tree made from the index: " + b.directories + " directories, " + b.files + " files, "
          + b.symlinks + " links; " + moved + " moved into place");
      long entries = b.directories + b.files + b.symlinks;
      return new IndexApplier.Result(b.directories, b.files, b.symlinks, b.bytes, entries - 1, 0, 0, 0, 0,
          b.warnings, true);
    }
  }

  private void run(byte[] gz) throws IOException {
    try {
      TreeIndex.read(new ByteArrayInputStream(gz), this::entry);
      while (!stack.isEmpty()) {
        finish(stack.pop(), false);
      }
    } catch (IOException | RuntimeException e) {
      failure.compareAndSet(null, e);
      while (!stack.isEmpty()) {
        finish(stack.pop(), true); // closes what is open once the work handed out has ended
      }
    }
    awaitFinished();
    Throwable t = failure.get();
    if (t != null) {
      throw Failures.unwrapped(t);
    }
  }

  private void entry(TreeIndex.Entry e) throws IOException {
    Throwable failed = failure.get();
    if (failed != null) {
      throw Failures.unwrapped(failed);
    }
    try {
      if (e.path().isRoot()) {
        directories++;
        root = new Dir(e, CompletableFuture.completedFuture(staging.dir()));
        stack.push(root);
        return;
      }
      TreePath parentPath = e.path().parent();
      while (!stack.peek().entry.path().equals(parentPath)) {
        finish(stack.pop(), false);
      }
      Dir parent = stack.peek();
      switch (e.type()) {
        case DIR -> {
          directories++;
          openDirs.acquire();
          synchronized (this) {
            unfinished++;
          }
          String name = e.path().name();
          Dir d = new Dir(e, parent.made.thenApplyAsync(fd -> io(() -> staging.makeDir(fd, name, e.mode())), pool));
          parent.work.add(d.made);
          stack.push(d);
        }
        case FILE -> {
          files++;
          bytes += e.size();
          add(parent, e);
        }
        case SYMLINK -> {
          Optional<String> escapes = IndexApplier.escapes(e);
          if (escapes.isPresent()) {
            warnings++;
            LOG.warning(e.path().printable() + " -> " + LocalName.printable(e.target())
                + ": symlink not made (" + escapes.get() + ")");
            return;
          }
          symlinks++;
          add(parent, e);
        }
      }
    } catch (InterruptedException ie) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while making the tree");
    }
  }

  private void add(Dir d, TreeIndex.Entry e) throws InterruptedException {
    d.batch.add(e);
    if (d.batch.size() >= BATCH) {
      handOut(d);
    }
  }

  /** The directory's pending files and links, made by one task once the directory is. */
  private void handOut(Dir d) throws InterruptedException {
    List<TreeIndex.Entry> batch = d.batch;
    if (batch.isEmpty()) {
      return;
    }
    d.batch = new ArrayList<>();
    queued.acquire(batch.size());
    d.work.add(d.made.thenAcceptAsync(fd -> io(() -> make(fd, batch)), pool)
        .whenComplete((r, t) -> queued.release(batch.size())));
  }

  private Void make(Fd dir, List<TreeIndex.Entry> batch) throws IOException {
    for (TreeIndex.Entry e : batch) {
      if (failure.get() != null) {
        return null;
      }
      String name = e.path().name();
      if (e.type() == TreeIndex.Type.FILE) {
        staging.makeStub(dir, name,
            new FileMeta(e.size(), e.mtime(), TimePrecision.NANOS, null, null, false, e.mode()), e.mtime());
      } else {
        staging.makeSymlink(dir, name, e.target(), e.mtime());
      }
    }
    return null;
  }

  /**
   * Everything in the directory is handed out: once it is made, the directory is finished and closed. On abort
   * nothing more is handed out (so this never waits), and the directory is only closed.
   */
  private void finish(Dir d, boolean abort) {
    if (!abort) {
      try {
        handOut(d);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        failure.compareAndSet(null, new IOException("interrupted while making the tree"));
      }
    }
    if (d == root) {
      synchronized (this) {
        unfinished++;
      }
      CompletableFuture.allOf(d.work.toArray(CompletableFuture[]::new)).whenComplete((r, t) -> finished(t));
      return;
    }
    List<CompletableFuture<?>> all = new ArrayList<>(d.work);
    all.add(d.made);
    DirMeta meta = new DirMeta(Math.max(1, now.getEpochSecond()), null, null, true, d.entry.mode());
    CompletableFuture.allOf(all.toArray(CompletableFuture[]::new))
        .thenRunAsync(() -> io(() -> {
          if (failure.get() == null) {
            staging.finishDir(d.made.join(), meta, d.entry.mtime());
          }
          return null;
        }), pool)
        .whenComplete((r, t) -> {
          Fd fd = d.made.isDone() && !d.made.isCompletedExceptionally() ? d.made.join() : null;
          if (fd != null) {
            try {
              fd.close();
            } catch (IOException e) {
              t = t == null ? e : t;
            }
          }
          openDirs.release();
          finished(t);
        });
  }

  private synchronized void finished(Throwable t) {
    if (t != null) {
      failure.compareAndSet(null, t);
    }
    unfinished--;
    notifyAll();
  }

  private synchronized void awaitFinished() throws IOException {
    boolean interrupted = false;
    while (unfinished > 0) {
      try {
        wait();
      } catch (InterruptedException e) {
        interrupted = true; // the tasks hold directories open: they end first
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
      failure.compareAndSet(null, new IOException("interrupted while making the tree"));
    }
  }

  @FunctionalInterface
  private interface Io<T> {
    T run() throws IOException;
  }

  private static <T> T io(Io<T> op) {
    try {
      return op.run();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
