package dev.lazydir.serve;

import dev.lazydir.crawl.Crawler;
import dev.lazydir.crawl.Progress;
import dev.lazydir.crawl.Relisting;
import dev.lazydir.crawl.TreeUrls;
import dev.lazydir.fanotify.Fan;
import dev.lazydir.fanotify.FanotifyGroup;
import dev.lazydir.internal.Threads;
import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Stat;
import dev.lazydir.origin.OriginClient;
import dev.lazydir.tree.EntryMeta.DirMeta;
import dev.lazydir.tree.StubTree;
import dev.lazydir.tree.TreePath;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import java.util.logging.Logger;

/**
 * Directories as they are opened. A directory is listed from the origin when first opened or when due for a
 * refresh (one listing however many openers wait), keeps its previous listing while the origin fails, then carries
 * an open ignore mark until the refresh timeout. Off the opener's path, subdirectories are listed ahead (a walk
 * finds each level ready: one level on the same machine, two over a network, where a listing costs a round trip,
 * not CPU) and the directory's small files are handed to {@link SmallFilePrefetch}.
 */
final class DirectoryOpens implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(DirectoryOpens.class.getName());
  /** How many levels below an opened directory are listed ahead of a walker, on the same machine or a LAN. */
  static final int LIST_AHEAD_DEPTH = 1; // 2 measured slower on 2 cores: more listings compete with the one the walker needs
  /**
   * The same over a network (answers take {@link #NETWORK_MILLIS} or more): there a listing costs a round trip,
   * not CPU, and a walker like ls -lR that finds the level below its next directory listed already waits for none
   * (measured through bench/shape at 50 ms: see bench/run --net).
   */
  static final int LIST_AHEAD_DEPTH_NETWORK = 2;
  static final double NETWORK_MILLIS = 5;

  private final StubTree tree;
  private final Daemon.Settings settings;
  private final Clock clock;
  private final FanotifyGroup group;
  private final OpenStubs stubs;
  private final ContentFiller filler;
  private final ScheduledExecutorService timers;
  private final Daemon.Stats stats;
  private final BooleanSupplier stopping;
  private final Crawler lister;
  private final OriginClient client;
  private final ThreadPoolExecutor listAheadPool;
  private final ConcurrentHashMap<TreePath, CompletableFuture<Relisting>> listing = new ConcurrentHashMap<>();
  private final SmallFilePrefetch smallFiles;

  DirectoryOpens(StubTree tree, Daemon.Settings settings, Clock clock, OriginClient client, FanotifyGroup group,
      OpenStubs stubs, ContentFiller filler, ScheduledExecutorService timers, Daemon.Stats stats,
      BooleanSupplier stopping) {
    this.tree = tree;
    this.settings = settings;
    this.clock = clock;
    this.group = group;
    this.stubs = stubs;
    this.filler = filler;
    this.timers = timers;
    this.stats = stats;
    this.stopping = stopping;
    this.client = client;
    this.lister = new Crawler(client, 1, Math.max(1, settings.maxConns()), Progress.NONE, clock);
    // A bounded queue, dropping work when full: list-ahead is an optimisation and must never pile up.
    int listers = Math.max(2, settings.maxConns() / 2); // all of them over a network, see listAheadDepth
    this.listAheadPool = new ThreadPoolExecutor(listers, listers, 0, TimeUnit.SECONDS, new ArrayBlockingQueue<>(4096),
        Threads.daemon("lazydir-list-ahead"), new ThreadPoolExecutor.DiscardPolicy());
    this.smallFiles = new SmallFilePrefetch(tree, settings, clock, client, stubs, filler, stopping,
        () -> !listing.isEmpty(), listAheadPool);
  }

  /**
   * Whether a directory's listing is still good at {@code now}: listed, and less than {@code refresh} ago (or made
   * from the tree index).
   */
  static boolean isFresh(DirMeta meta, Instant now, Duration refresh) {
    // a directory made from the tree index is refreshed by the next start's index, not by opens
    return meta.listed() && (meta.fromIndex() || now.isBefore(Instant.ofEpochSecond(meta.listedEpochSeconds()).plus(refresh)));
  }

  /** FAN_OPEN_PERM on a directory of the view: list it if it needs it, then let the opener in. */
  int onOpen(int eventFd, int pid) throws IOException {
    TreePath path = stubs.pathOf(eventFd);
    LOG.fine(() -> "opendir " + (path == null ? "(not in the view)" : path.toString()) + " by pid " + pid);
    if (path == null) {
      return Fan.FAN_ALLOW;
    }
    DirMeta meta;
    try (Fd dir = tree.openDir(path)) {
      if (!(StubTree.metaOf(dir).orElse(null) instanceof DirMeta m) || dir.stat().dev() != tree.device()) {
        return Fan.FAN_ALLOW;
      }
      meta = m;
    }
    if (path.isRoot() && TreeUrls.singleFile(tree)) {
      return Fan.FAN_ALLOW; // a single-file tree has no listing to refresh
    }
    if (!isFresh(meta, clock.instant(), settings.refresh())) {
      boolean ok;
      try {
        ok = ensureListed(path);
      } catch (IOException e) {
        if (!meta.listed()) {
          throw e;
        }
        // The origin down is not the cache down: the previous listing stays, and is tried again when due.
        LOG.warning(path + ": could not be listed again (" + e.getMessage() + "); the previous listing stays");
        ok = false;
      }
      if (!ok && !meta.listed()) {
        throw new IOException(path + ": could not be listed");
      }
    }
    ignoreUntilDue(path);
    prefetchAhead(path);
    return Fan.FAN_ALLOW;
  }

  /** Lists a directory once however many openers ask at the same time. */
  boolean ensureListed(TreePath path) throws IOException {
    return relist(path).listed();
  }

  /**
   * Lists a directory now (once however many ask at the same time), asking the origin whether the listing
   * applied last still holds: then nothing below it is looked at. Says what the listing changed.
   */
  Relisting relist(TreePath path) throws IOException {
    CompletableFuture<Relisting> mine = new CompletableFuture<>();
    CompletableFuture<Relisting> running = listing.putIfAbsent(path, mine);
    if (running != null) {
      return waitFor(running, path);
    }
    long t0 = System.nanoTime();
    try {
      Relisting r = lister.relist(tree, path);
      LOG.info(() -> "listed " + path + (r.unchanged() ? " (unchanged)" : "") + " in "
          + (System.nanoTime() - t0) / 1_000_000 + " ms");
      if (r.listed()) {
        stats.dirsListed.incrementAndGet();
        if (!r.unchanged()) {
          stubs.forgetIn(path);
        }
        client.warmConnections(); // a file of it is likely read next: its first byte costs one round trip
      }
      mine.complete(r);
      return r;
    } catch (IOException | RuntimeException e) {
      mine.completeExceptionally(e);
      throw e;
    } finally {
      listing.remove(path, mine);
    }
  }

  /** Lists the directory of a file again in the background (its origin answered with another version). */
  void relistSoon(TreePath file) {
    TreePath dir = file.parent();
    try {
      listAheadPool.execute(() -> {
        try {
          ensureListed(dir);
        } catch (IOException e) {
          LOG.fine("listing " + dir + " again: " + e.getMessage());
        }
      });
    } catch (RejectedExecutionException e) {
      // shutting down
    }
  }

  /**
   * Checks the version of each file of a listed directory that has bytes on disk (see
   * {@link Crawler#checkLocalFiles}); files replaced by a stub of a new version are let go by the cache.
   */
  Crawler.FileChecks checkLocalFiles(TreePath path, java.util.function.Predicate<String> wanted)
      throws IOException {
    Crawler.FileChecks c = lister.checkLocalFiles(tree, path, wanted);
    if (c.replaced() > 0) {
      stubs.forgetIn(path);
    }
    return c;
  }

  private Relisting waitFor(CompletableFuture<Relisting> f, TreePath what) throws IOException {
    try {
      return f.get(settings.timeout().toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      throw new IOException(what + ": listing took longer than " + settings.timeout().toSeconds() + " s");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException();
    } catch (ExecutionException e) {
      throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
    }
  }

  /** A listed directory needs no event until it is due for a refresh. */
  private void ignoreUntilDue(TreePath path) {
    String rel = path.isRoot() ? null : path.toString();
    try {
      group.ignoreInode(tree.root(), rel, Fan.FAN_OPEN_PERM, true);
      timers.schedule(() -> {
        try {
          group.removeIgnore(tree.root(), rel, Fan.FAN_OPEN_PERM, true);
        } catch (IOException e) {
          LOG.fine("refresh of " + path + ": " + e.getMessage());
        }
      }, settings.refresh().toMillis(), TimeUnit.MILLISECONDS);
    } catch (IOException e) {
      LOG.fine("ignore mark on " + path + ": " + e.getMessage());
    }
  }

  /** Whether the origin's answers take a network's round trip ({@link #NETWORK_MILLIS} or more). */
  static boolean overNetwork(OriginClient client) {
    return client.roundTripMillis() >= NETWORK_MILLIS;
  }

  /** A file with bytes to fetch is being opened: see {@link SmallFilePrefetch#fileOpening}. */
  void fileOpening(TreePath file) {
    smallFiles.fileOpening(file);
  }

  /**
   * Never holding up the opener: the subdirectories of an opened directory are listed ahead (a walk like ls -lR
   * or find then finds each level ready), and its small files are fetched ahead.
   */
  private void prefetchAhead(TreePath path) {
    int depth = listAheadDepth();
    List<Runnable> listings = new ArrayList<>();
    List<SmallFilePrefetch.Prefetch> files = new ArrayList<>();
    try (Fd dir = tree.openDir(path)) {
      for (String name : dir.list()) {
        // A stat decides for files (size, blocks: the prefetch opens and checks the stub itself); only
        // directories are opened, for their metadata.
        Stat st = dir.statAt(name).orElse(null);
        if (st == null) {
          continue;
        }
        if (st.isDirectory()) {
          // a listed one only to reach the level below it
          if (tree.inspect(dir, name).meta() instanceof DirMeta d && (!d.listed() || depth > 1)) {
            TreePath child = path.child(name);
            listings.add(() -> listAhead(child, 1, depth));
          }
        } else {
          smallFiles.addIfSmall(st, path, name, files);
        }
      }
    } catch (IOException e) {
      LOG.fine("prefetch in " + path + ": " + e.getMessage());
      return;
    }
    // Listings on their own pool: a walker's next step waits on them; file bytes are wanted a little later.
    try {
      listings.forEach(listAheadPool::execute);
    } catch (RejectedExecutionException e) {
      // shutting down
    }
    smallFiles.directoryOpened(path, files);
  }

  /**
   * How many levels below an opened directory to list ahead: {@link #LIST_AHEAD_DEPTH}, or over a network
   * {@link #LIST_AHEAD_DEPTH_NETWORK} with as many listings at once as --max-conns allows.
   */
  private int listAheadDepth() {
    if (!overNetwork(client)) {
      return LIST_AHEAD_DEPTH;
    }
    int all = Math.max(2, settings.maxConns());
    if (listAheadPool.getMaximumPoolSize() < all) {
      listAheadPool.setMaximumPoolSize(all);
      listAheadPool.setCorePoolSize(all);
    }
    return LIST_AHEAD_DEPTH_NETWORK;
  }

  /**
   * Lists a directory ahead of a walker unless it is listed already (a walker or another list-ahead got there
   * first), then its unlisted subdirectories, down to {@code maxDepth} levels below the directory that was opened.
   */
  private void listAhead(TreePath dir, int depth, int maxDepth) {
    try {
      if (!listedNow(dir)) {
        ensureListed(dir);
      }
    } catch (IOException e) {
      LOG.fine("listing ahead " + dir + ": " + e.getMessage());
      return;
    }
    if (depth >= maxDepth || stopping.getAsBoolean()) {
      return;
    }
    List<TreePath> next = new ArrayList<>();
    try (Fd fd = tree.openDir(dir)) {
      for (String name : fd.list()) {
        // a listed one only to reach the level below it
        if (tree.inspect(fd, name).meta() instanceof DirMeta d && (!d.listed() || depth + 1 < maxDepth)) {
          next.add(dir.child(name));
        }
      }
    } catch (IOException e) {
      LOG.fine("listing ahead below " + dir + ": " + e.getMessage());
      return;
    }
    try {
      next.forEach(child -> listAheadPool.execute(() -> listAhead(child, depth + 1, maxDepth)));
    } catch (RejectedExecutionException e) {
      // shutting down
    }
  }

  /** Whether a directory is listed and not due for a refresh. */
  private boolean listedNow(TreePath dir) throws IOException {
    try (Fd fd = tree.openDir(dir)) {
      return StubTree.metaOf(fd).orElse(null) instanceof DirMeta m && isFresh(m, clock.instant(), settings.refresh());
    }
  }

  @Override
  public void close() {
    smallFiles.close();
    listAheadPool.shutdownNow();
    lister.close();
  }
}
