package dev.lazydir.serve;

import dev.lazydir.crawl.Ancestry;
import dev.lazydir.internal.posix.Fd;
import dev.lazydir.tree.EntryMeta.DirMeta;
import dev.lazydir.tree.StubTree;
import dev.lazydir.tree.TreePath;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionService;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import java.util.logging.Logger;

/**
 * Lists the whole namespace breadth first, several directories at a time (a directory's subdirectories queued as
 * soon as it is listed, not once its whole level is), through the daemon's own single-flight
 * listing, so that every path exists without anyone opening its ancestors: before {@code ready} by default, in the
 * background with {@code serve --lazy-dirs --crawl}. Directories already listed cost no request (a restart is
 * ready from its stored tree). It lists at most {@code maxDepth} levels, and does not descend into a directory
 * that lists what one of its ancestors listed (a loop on the server, see {@link Ancestry}): either would otherwise
 * list forever. What it leaves unlisted is still listed when opened. Its progress and outcome are counters, read
 * by {@code status} and {@code wait} without a walk of the tree.
 */
public final class NamespaceCrawl implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(NamespaceCrawl.class.getName());
  /** serve --max-depth's default: deeper than real trees go, far short of what a loop would reach. */
  public static final int DEFAULT_MAX_DEPTH = 64;

  /** How a crawl ended: every directory listed, or some not (a failed listing, the depth bound, a loop). */
  enum Outcome { RUNNING, COMPLETE, INCOMPLETE }

  private final ExecutorService pool;
  private final Thread driver;
  private final java.util.concurrent.atomic.AtomicLong directories = new java.util.concurrent.atomic.AtomicLong();
  private volatile Outcome outcome = Outcome.RUNNING;
  private volatile String incompleteBecause = "";

  /** Lists one directory of the tree if it is not listed yet (the daemon's ensureListed). */
  @FunctionalInterface
  interface Lister {
    boolean ensureListed(TreePath path) throws IOException;
  }

  /** A directory to list, with the listings above it. */
  private record Pending(TreePath path, Ancestry above) {}

  /** What a listed directory holds: its digest and its subdirectories. */
  private record Listed(byte[] digest, List<TreePath> subdirectories) {}

  private NamespaceCrawl(StubTree tree, Lister lister, int parallelism, int maxDepth) {
    if (maxDepth < 1) {
      throw new IllegalArgumentException("--max-depth must be at least 1");
    }
    this.pool = Executors.newFixedThreadPool(parallelism, dev.lazydir.internal.Threads.daemon("lazydir-crawl"));
    this.driver = new Thread(() -> run(tree, lister, maxDepth), "lazydir-crawl-driver");
    driver.setDaemon(true);
  }

  /** A crawl with nothing to do: every directory of the tree is listed (a tree index was just applied). */
  private NamespaceCrawl(long directories) {
    this.pool = null;
    this.driver = null;
    this.directories.set(directories);
    this.outcome = Outcome.COMPLETE;
  }

  /**
   * The outcome of a crawl for a tree that a tree index has just made or brought up to date: every directory in it
   * is listed, so there is nothing to walk.
   */
  public static NamespaceCrawl complete(long directories) {
    return new NamespaceCrawl(directories);
  }

  public static NamespaceCrawl start(StubTree tree, Lister lister, int parallelism, int maxDepth) {
    NamespaceCrawl c = new NamespaceCrawl(tree, lister, parallelism, maxDepth);
    c.driver.start();
    return c;
  }

  /** Waits up to millis for the crawl to end; true if it has. */
  public boolean awaitDone(long millis) throws InterruptedException {
    if (driver == null) {
      return true;
    }
    driver.join(millis);
    return !driver.isAlive();
  }

  /** Directories listed (or found listed) so far. */
  public long directories() {
    return directories.get();
  }

  public Outcome outcome() {
    return outcome;
  }

  /** Why an INCOMPLETE crawl is: what was left unlisted. */
  public String incompleteBecause() {
    return incompleteBecause;
  }

  private void run(StubTree tree, Lister lister, int maxDepth) {
    // No barrier between levels: a directory's subdirectories are asked for as soon as it is listed, so over a
    // network a deep branch does not wait for the slowest listing of the level above (the pool's queue keeps the
    // order breadth first).
    CompletionService<Listed> done = new ExecutorCompletionService<>(pool);
    Map<Future<Listed>, Pending> running = new HashMap<>();
    Consumer<Pending> submit = p -> running.put(done.submit(() -> {
      if (!isListed(tree, p.path())) {
        lister.ensureListed(p.path());
      }
      return contents(tree, p.path());
    }), p);
    submit.accept(new Pending(TreePath.root(), Ancestry.NONE));
    boolean cut = false;
    int failed = 0;
    int loops = 0;
    try {
      while (!running.isEmpty()) {
        Future<Listed> f = done.take();
        Pending p = running.remove(f);
        try {
          Listed listed = f.get();
          directories.incrementAndGet();
          if (listed.subdirectories().isEmpty()) {
            continue;
          }
          if (p.path().names().size() + 1 >= maxDepth) {
            cut = true;
            continue;
          }
          var same = p.above().listed(listed.digest());
          if (same.isPresent()) {
            LOG.warning(display(p.path()) + ": lists the same entries as " + display(same.get())
                + " above it (a loop on the server?); the crawl does not descend into it");
            loops++;
            continue;
          }
          Ancestry above = p.above().below(p.path(), listed.digest());
          listed.subdirectories().forEach(child -> submit.accept(new Pending(child, above)));
        } catch (java.util.concurrent.ExecutionException e) {
          LOG.warning("crawl: " + display(p.path()) + ": " + e.getCause().getMessage());
          failed++;
        }
      }
      List<String> because = new ArrayList<>();
      if (failed > 0) {
        because.add(failed + " director" + (failed == 1 ? "y" : "ies") + " could not be listed (see the log)");
      }
      if (cut) {
        because.add("it stopped at --max-depth " + maxDepth);
      }
      if (loops > 0) {
        because.add(loops + " listing loop" + (loops == 1 ? "" : "s") + " not descended into");
      }
      incompleteBecause = String.join("; ", because);
      outcome = because.isEmpty() ? Outcome.COMPLETE : Outcome.INCOMPLETE;
      LOG.info("crawl done: " + directories.get() + " directories" + (because.isEmpty() ? ""
          : "; " + incompleteBecause + " (those are listed when opened)"));
    } catch (InterruptedException | java.util.concurrent.RejectedExecutionException e) {
      incompleteBecause = "interrupted";
      outcome = Outcome.INCOMPLETE;
      Thread.currentThread().interrupt();
    }
  }

  private static boolean isListed(StubTree tree, TreePath path) throws IOException {
    try (Fd dir = tree.openDir(path)) {
      return StubTree.metaOf(dir).orElse(null) instanceof DirMeta m && m.listed();
    }
  }

  /** The digest of a listed directory's entries as they are on disk, and its subdirectories. */
  private static Listed contents(StubTree tree, TreePath path) throws IOException {
    List<TreePath> subdirectories = new ArrayList<>();
    // A stat sorts entries and gives a file's size and time (lazydir keeps the origin's on the stub); only
    // directories are opened, to see they are lazydir's: a restart on a big tree opens no file.
    try (Fd dir = tree.openDir(path)) {
      byte[] digest = Ancestry.digestOnDisk(tree, dir, (name, meta) -> subdirectories.add(path.child(name)));
      return new Listed(digest, subdirectories);
    }
  }

  private static String display(TreePath path) {
    return path.isRoot() ? "./" : "./" + path.printable() + "/";
  }

  @Override
  public void close() {
    if (driver != null) {
      driver.interrupt();
      pool.shutdownNow();
    }
  }
}
