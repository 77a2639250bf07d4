package dev.lazydir.serve;

import dev.lazydir.internal.Threads;
import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Stat;
import dev.lazydir.origin.OriginClient;
import dev.lazydir.tree.StubTree;
import dev.lazydir.tree.TreePath;
import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.logging.Logger;

/**
 * Small files fetched ahead of their readers (serve --prefetch-small): a build or a grep reads a directory's small
 * files right after it opens the directory or one of them. Apart from {@link DirectoryOpens} because its rules are
 * about order and bounds, not listings: newest directory first, names in order, never a file above the limit, a
 * bounded queue that drops the oldest, and as many at once as the origin's round trip calls for (two on the same
 * machine, where fetches compete with readers for CPU; over a network all of --max-conns but two, since each
 * costs a round trip, also when a file is opened by name, as a compiler opens headers, and the next directory of
 * its parent one step ahead). It holds back while listings run: a walker waits on those.
 */
final class SmallFilePrefetch implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(SmallFilePrefetch.class.getName());

  /** Small files fetched at once on the same machine or a LAN, where the fetches compete with readers for CPU. */
  static final int PREFETCH_AT_ONCE = 2;
  /**
   * Connections left to readers while small files are fetched ahead over a network, where the rest of
   * --max-conns fetch them: one round trip each, so it is the number in flight that counts (a build waited
   * 50 ms per file at 2: see bench/run --net wan).
   */
  static final int CONNECTIONS_FOR_READERS = 2;
  /** Files queued for prefetch at most; beyond, the oldest are dropped. */
  static final int PREFETCH_QUEUE = 4096;
  /** Directories remembered as prefetched at most (then forgotten all at once: it only saves a scan). */
  static final int PREFETCHED_DIRS = 4096;

  private final StubTree tree;
  private final Daemon.Settings settings;
  private final Clock clock;
  private final OriginClient client;
  private final OpenStubs stubs;
  private final ContentFiller filler;
  private final BooleanSupplier stopping;
  /** Whether listings run now (prefetch waits for them, bounded). */
  private final BooleanSupplier listingsRun;
  /** Where a directory is scanned for its small files, off the opener's path. */
  private final Executor scans;
  private final ThreadPoolExecutor prefetchPool;
  /** Directories whose small files were queued, and until when that holds (their refresh). */
  private final ConcurrentHashMap<TreePath, Instant> prefetched = new ConcurrentHashMap<>();
  /** Small files waiting to be fetched ahead, newest directory first. */
  private final NewestFirstBatches waiting = new NewestFirstBatches(PREFETCH_QUEUE);
  private final NextDirectories nextDirectories;

  SmallFilePrefetch(StubTree tree, Daemon.Settings settings, Clock clock, OriginClient client, OpenStubs stubs,
      ContentFiller filler, BooleanSupplier stopping, BooleanSupplier listingsRun, Executor scans) {
    this.tree = tree;
    this.settings = settings;
    this.clock = clock;
    this.client = client;
    this.stubs = stubs;
    this.filler = filler;
    this.stopping = stopping;
    this.listingsRun = listingsRun;
    this.scans = scans;
    this.nextDirectories = new NextDirectories(tree);
    // A bounded queue, dropping work when full: prefetch is an optimisation and must never pile up. Its tasks only
    // say "fetch the next waiting file": which one is decided when a thread is free (see waiting).
    this.prefetchPool = new ThreadPoolExecutor(PREFETCH_AT_ONCE, PREFETCH_AT_ONCE, 0, TimeUnit.SECONDS,
        new ArrayBlockingQueue<>(PREFETCH_QUEUE), Threads.daemon("lazydir-prefetch"), new ThreadPoolExecutor.DiscardPolicy());
  }

  /**
   * A directory was opened and listed: a file of it opened next finds its small files queued ({@code files}, found
   * by the opener's own scan), and over a network the next directory's follow, looked for off the opener's path.
   */
  void directoryOpened(TreePath path, List<Prefetch> files) {
    if (settings.prefetchSmall() <= 0) {
      return;
    }
    firstPrefetchOf(path);
    try {
      if (DirectoryOpens.overNetwork(client)) {
        scans.execute(() -> queueFiles(files, path));
      } else {
        queueFiles(files);
      }
    } catch (RejectedExecutionException e) {
      // shutting down
    }
  }

  /**
   * A file with bytes to fetch is being opened (its path in the tree): over a network, the other small files of
   * its directory are fetched ahead, once until the directory's refresh, without holding up the opener. A
   * compiler opens its sources and headers by name, never their directory, and reads the rest of it next.
   */
  void fileOpening(TreePath file) {
    if (settings.prefetchSmall() <= 0 || !DirectoryOpens.overNetwork(client)) {
      return;
    }
    TreePath dir = file.parent();
    if (!firstPrefetchOf(dir)) {
      return;
    }
    try {
      scans.execute(() -> {
        try {
          queueFiles(smallFilesOf(dir), dir);
        } catch (IOException | RuntimeException e) {
          LOG.fine("prefetch in " + dir + ": " + e.getMessage());
        }
      });
    } catch (RejectedExecutionException e) {
      // shutting down
    }
  }

  /** Prefetches of the small files of a directory (see {@link #addIfSmall}). */
  private List<Prefetch> smallFilesOf(TreePath dir) throws IOException {
    List<Prefetch> files = new ArrayList<>();
    try (Fd fd = tree.openDir(dir)) {
      for (String name : fd.list()) {
        addIfSmall(fd, dir, name, files);
      }
    }
    return files;
  }

  /** Whether the small files of directory {@code key} are due to be queued now (and notes that they are). */
  private boolean firstPrefetchOf(TreePath key) {
    Instant now = clock.instant();
    Instant until = prefetched.get(key);
    if (until != null && now.isBefore(until)) {
      return false;
    }
    if (prefetched.size() >= PREFETCHED_DIRS) {
      prefetched.clear();
    }
    Instant next = now.plus(settings.refresh());
    return until == null ? prefetched.putIfAbsent(key, next) == null : prefetched.replace(key, until, next);
  }

  private void addIfSmall(Fd dir, TreePath path, String name, List<Prefetch> files) throws IOException {
    Stat st = dir.statAt(name).orElse(null);
    if (st != null) {
      addIfSmall(st, path, name, files);
    }
  }

  /**
   * A prefetch of {@code path/name} if it is a file of at most --prefetch-small bytes without its blocks (one
   * opened through DIR has them: its reader fetches it); never a larger file.
   */
  void addIfSmall(Stat st, TreePath path, String name, List<Prefetch> files) {
    if (settings.prefetchSmall() > 0 && st.isRegularFile() && st.size() > 0
        && st.size() <= settings.prefetchSmall() && st.allocatedBytes() < st.size()) {
      files.add(new Prefetch(name, () -> prefetch(path, name)));
    }
  }

  /** A small file's prefetch, with its name for the order a batch runs in. */
  record Prefetch(String name, Runnable fetch) implements Runnable {
    @Override
    public void run() {
      fetch.run();
    }
  }

  /**
   * As {@link #queueFiles(List)}, followed by the small files of the directory after {@code dir} (see
   * {@link NextDirectories}) when the origin is a network away: a build goes through its modules in order, and
   * the next one's files are on their way while this one compiles, not a round trip after make first looks into it.
   */
  private void queueFiles(List<Prefetch> files, TreePath dir) {
    List<Prefetch> all = new ArrayList<>(files);
    all.sort(java.util.Comparator.comparing(Prefetch::name));
    if (settings.prefetchSmall() > 0 && DirectoryOpens.overNetwork(client)) {
      try {
        java.util.Optional<TreePath> next = nextDirectories.after(dir);
        if (next.isPresent() && firstPrefetchOf(next.get())) {
          List<Prefetch> more = smallFilesOf(next.get());
          more.sort(java.util.Comparator.comparing(Prefetch::name));
          all.addAll(more);
        }
      } catch (IOException | RuntimeException e) {
        LOG.fine("prefetch after " + dir + ": " + e.getMessage());
      }
    }
    queueInOrder(all);
  }

  /**
   * Queues a directory's small files ahead of those queued before (the newest directory is the one read now), in
   * name order (the order a build or a sorted walk reads them in), with as many fetched at once as the origin's
   * round trip calls for (see {@link #prefetchAtOnce}).
   */
  private void queueFiles(List<Prefetch> files) {
    List<Prefetch> sorted = new ArrayList<>(files);
    sorted.sort(java.util.Comparator.comparing(Prefetch::name));
    queueInOrder(sorted);
  }

  private void queueInOrder(List<Prefetch> files) {
    if (files.isEmpty()) {
      return;
    }
    int atOnce = prefetchAtOnce();
    if (prefetchPool.getMaximumPoolSize() < atOnce) {
      prefetchPool.setMaximumPoolSize(atOnce);
      prefetchPool.setCorePoolSize(atOnce);
    }
    waiting.addFirst(files);
    try {
      for (int i = 0; i < files.size(); i++) {
        prefetchPool.execute(this::prefetchNext);
      }
    } catch (RejectedExecutionException e) {
      // shutting down
    }
  }

  private void prefetchNext() {
    Runnable next = waiting.poll();
    if (next != null) {
      next.run();
    }
  }

  /**
   * Small files fetched at once: {@link #PREFETCH_AT_ONCE} on the same machine or a LAN; over a network, where
   * each costs a round trip, all of --max-conns but {@link #CONNECTIONS_FOR_READERS}.
   */
  int prefetchAtOnce() {
    return DirectoryOpens.overNetwork(client) ? Math.max(PREFETCH_AT_ONCE, settings.maxConns() - CONNECTIONS_FOR_READERS)
        : PREFETCH_AT_ONCE;
  }

  private void prefetch(TreePath parent, String name) {
    try {
      // Listings first: a walker (ls -lR, find, a build's first pass) waits on them, while prefetched bytes
      // are wanted later. On two cores the two compete, so prefetch holds back while listings run; over a
      // network too, where they compete for --max-conns.
      for (int waited = 0; listingsRun.getAsBoolean() && waited < 2000 && !stopping.getAsBoolean(); waited += 5) {
        Thread.sleep(5);
      }
      OpenStub stub = stubs.open(parent, name);
      // Checked again on the stub: a listing since the scan may have put a larger file at that name.
      if (stub.mapView().fileSize() <= settings.prefetchSmall()) {
        filler.ensure(stub, 0, 0);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IOException e) {
      LOG.fine("prefetch of " + name + ": " + e.getMessage());
    }
  }

  @Override
  public void close() {
    prefetchPool.shutdownNow();
  }
}
