package dev.lazydir.serve;

import dev.lazydir.crawl.Crawler;
import dev.lazydir.crawl.Progress;
import dev.lazydir.fanotify.FanotifyGroup;
import dev.lazydir.index.IndexApplier;
import dev.lazydir.index.IndexDigests;
import dev.lazydir.index.IndexFetch;
import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Posix;
import dev.lazydir.origin.OriginClient;
import dev.lazydir.origin.OriginConfig;
import dev.lazydir.tree.Access;
import dev.lazydir.tree.EntryMeta;
import dev.lazydir.tree.EntryMeta.DirMeta;
import dev.lazydir.tree.StubTree;
import dev.lazydir.tree.TreePath;
import java.io.IOException;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.logging.Logger;
import okhttp3.HttpUrl;

/**
 * A running serve: the store's lock, the origin client, the tree (made from the origin's tree index, or its top
 * level listed, on a first start), the daemon, the namespace crawl and the once-a-second state file that status
 * and wait read; closed in reverse order. The composition root of {@code lazydir serve} and of the demo.
 */
public final class ServeSession implements AutoCloseable {
private static final Logger LOG = Logger.getLogger(ServeSession.class.getName());
  private final StoreLayout layout;
  private final FileLock lock;
  private final OriginClient client;
  private final StubTree tree;
  private final Daemon daemon;
  private final NamespaceCrawl crawl;
  private final boolean crawlBeforeReady;
  private final Path view;
  /** Why the namespace is incomplete whatever the crawl finds (an apply of the tree index stopped halfway), or null. */
  private final String interrupted;
  private final Thread stateWriter;
  private ControlSocket control;
  private MetricsEndpoint metrics;
  private final Thread warmUp;
  private volatile boolean closed;

  private ServeSession(StoreLayout layout, FileLock lock, OriginClient client, StubTree tree, Daemon daemon,
      NamespaceCrawl crawl, boolean crawlBeforeReady, Path view, Thread warmUp, String interrupted) {
    this.interrupted = interrupted;
    this.layout = layout;
    this.lock = lock;
    this.client = client;
    this.tree = tree;
    this.daemon = daemon;
    this.crawl = crawl;
    this.crawlBeforeReady = crawlBeforeReady;
    this.view = view;
    this.warmUp = warmUp;
    this.stateWriter = new Thread(this::writeStateLoop, "lazydir-state");
    stateWriter.setDaemon(true);
    stateWriter.start();
  }

  public Path view() {
    return view;
  }

  /**
   * Starts the Prometheus endpoint ({@code serve --metrics-addr}) on the daemon's counters; it stops with the
   * session. Returns where it listens.
   */
  public synchronized java.net.InetSocketAddress exposeMetrics(java.net.InetSocketAddress at) throws IOException {
    try {
      metrics = MetricsEndpoint.start(at, new MetricsEndpoint.Sources(daemon.stats(), client::requestCount,
          daemon::fetchedBytes, daemon::fetches, daemon::treeCounts));
    } catch (java.net.BindException e) {
      throw new IOException("--metrics-addr " + at.getHostString() + ":" + at.getPort() + " cannot be listened on ("
          + e.getMessage() + "): give a free port, or an address of this machine", e);
    }
    return metrics.address();
  }

  /**
   * Waits for the namespace crawl when it runs before ready (progress on a terminal), and says which mode is in
   * force, for the ready line; null if a stop was asked for meanwhile.
   */
  public String awaitNamespace(java.io.PrintStream progress, boolean terminal, java.util.function.BooleanSupplier stopAsked)
      throws InterruptedException {
    if (crawl == null) {
      return "lazy directories: each is listed when first opened";
    }
    if (!crawlBeforeReady) {
      return "lazy directories, the whole namespace listed in the background: lazydir wait " + view;
    }
    while (!crawl.awaitDone(250)) {
      if (stopAsked.getAsBoolean()) {
        return null; // stopping before ready
      }
      if (terminal) {
        progress.print("\rlisting the namespace: " + crawl.directories() + " directories");
        progress.flush();
      }
    }
    if (terminal) {
      progress.println();
    }
    if (interrupted != null) {
      return "namespace incomplete: " + interrupted;
    }
    return crawl.outcome() == NamespaceCrawl.Outcome.COMPLETE
        ? "namespace complete: " + crawl.directories() + " directories"
        : "namespace incomplete: " + crawl.incompleteBecause() + "; those directories are listed when opened";
  }

  /**
   * crawlDepth: levels the namespace crawl lists at most, 0 for none; beforeReady: the crawl uses every
   * connection and {@link #awaitNamespace} waits for it (else it runs in the background with half of them).
   */
  public static ServeSession start(HttpUrl url, OriginConfig config, Path dir, StoreLayout layout, long segmentSize, int readahead,
      int crawlDepth, boolean beforeReady, Access access, long prefetchSmall, IndexFetch.Where index)
      throws IOException {
    return start(url, config, dir, layout, segmentSize, readahead, crawlDepth, beforeReady, access, prefetchSmall, index,
        Profiles.NONE, false, CacheLimits.NONE);
  }

  /**
   * Access profiles of a run: where to record one (or null), a profile read from a local file (or null), and where
   * the origin may publish one (null: nowhere; explicit: it must be there).
   */
  public record Profiles(Path recordTo, AccessProfile given, IndexFetch.Where published) {
    public static final Profiles NONE = new Profiles(null, null, null);

    /** {@code URL/.lazydir-profile} (the origin URL taken as a directory). */
    public static HttpUrl defaultUrl(HttpUrl origin) {
      HttpUrl dir = origin.encodedPath().endsWith("/") ? origin : origin.newBuilder().addPathSegment("").build();
      return dir.newBuilder().query(null).fragment(null).addPathSegment(AccessProfile.DEFAULT_NAME).build();
    }
  }

  /**
   * As above, recording and prefetching access profiles as {@code profiles} says; singleFile: URL names one file,
   * whatever it holds (see {@link Crawler#singleFile}); the store kept within {@code cache}'s bounds.
   */
  public static ServeSession start(HttpUrl url, OriginConfig config, Path dir, StoreLayout layout, long segmentSize, int readahead,
      int crawlDepth, boolean beforeReady, Access access, long prefetchSmall, IndexFetch.Where index, Profiles profiles,
      boolean singleFile, CacheLimits cache) throws IOException {
    long t0 = System.nanoTime();
    StaleView.detachIfLeftBySystemdKill(dir, layout, System.getenv()); // else the checks below would wait on it
    ServePreflight.check(dir, layout); // before anything is created: a refused start leaves nothing behind
    // A start that fails later (the origin unreachable on a first start) removes what it made: a new store, a new DIR.
    boolean newStore = !Files.exists(layout.store(), java.nio.file.LinkOption.NOFOLLOW_LINKS);
    boolean newDir = !Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS);
    FileLock lock;
    try {
      layout.create();
      lock = layout.lock();
    } catch (IOException | RuntimeException e) {
      undoNew(layout, newStore, dir, newDir);
      throw e;
    }
    // On the other core while this one starts up, lists the top level and mounts. 'ready' does not wait for it
    // (it used to: 0.5-2 s of a start of 0.8-4 s, more on a busy machine; bench/start): the first listings a user
    // asks for within its half second run partly interpreted, which costs less than the wait did.
    Thread warmUp = Daemon.warmUp(layout.run().resolve("warm-up"));
    OriginClient client = null;
    StubTree tree = null;
    FanotifyGroup group = null;
    try {
      prepareView(dir, layout);
      client = new OriginClient(config, url);
      client.warmConnections(); // while the namespace is listed: the first file read costs one round trip
      String origin = Crawler.withoutCredentials(url).toString();
      // Named by the user: fetched (and refused) now. At the default place: asked for in the background, below.
      IndexFetch.Where published = profiles.published();
      AccessProfile profile = profiles.given() != null ? profiles.given()
          : published != null && published.explicit() ? published(client, published) : null;
      long tIndex = System.nanoTime();
      // Opened first, so that the stubs a tree index makes are marked as they are made (a mark is one call on the
      // descriptor in hand), not found by a walk of the whole tree afterwards.
      group = FanotifyGroups.open();
      Applied applied = null;
      if (!singleFile) {
        try {
          applied = fromIndex(client, index, layout, origin, access, new ContentMarks(group));
        } catch (dev.lazydir.origin.OriginException e) {
          // A restart is ready from its stored tree without the network: an origin that does not answer (or
          // answers 5xx) now is asked again as directories are opened and refreshed.
          if (!initialized(layout.tree()) || !(e.status() < 0 || e.status() >= 500)) {
            throw e;
          }
          LOG.warning("the origin did not answer for its tree index (" + e.getMessage() + "); serving the stored tree");
        }
      }
      long tTree = System.nanoTime();
      if (!initialized(layout.tree())) {
        // First start: list the top level now, which also tells a listing from a single file.
        try (Crawler first = new Crawler(client, 1, config.maxConns, Progress.NONE, Clock.systemUTC()).access(access)
            .singleFile(singleFile)) {
          first.crawl(url, layout.tree());
        }
      }
      // Without the index now, a tree whose last apply stopped halfway may lack entries in directories that say
      // they are listed (directories from an index are never listed from index pages): ready must not say complete.
      String interrupted = applied == null && applyInterrupted(layout.tree())
          ? "the last start stopped while it applied the tree index, which the origin does not publish now: directories"
              + " it changed may lack entries until it is applied again" : null;
      tree = StubTree.open(layout.tree(), firstOrigin(layout.tree(), origin));
      tree.access(access);
      // Before DIR shows the tree: a restart with other --uid/--gid/--allow-other never exposes the old access.
      // A tree the index has just made whole was made with this access, entry by entry.
      if (applied == null || !applied.fresh()) {
        int changed = tree.applyAccessToExisting();
        if (changed > 0) {
          LOG.info(layout.tree() + ": " + access + " given to " + changed + " existing entries");
        }
      }
      tree.root().setXattr("user.lazydir.store", layout.store().toAbsolutePath().toString());
      // The digests of the index this tree was made from (this start's, or a previous one's if the index could
      // not be fetched now): every file they name is verified block by block as it is filled.
      IndexDigests digests = layout.openDigests().orElse(null);
      long tDaemon = System.nanoTime();
      FanotifyGroup marked = group;
      group = null; // the daemon's from here on, also if it fails to start
      Daemon daemon = Daemon.start(new Daemon.Settings(dir, segmentSize, readahead,
          config.timeout, config.refreshTimeout, config.maxConns, prefetchSmall, layout.run(), cache), tree, client,
          digests, marked, applied != null && applied.fresh());
      if (profiles.recordTo() != null) {
        daemon.recordProfile(profiles.recordTo());
      }
      if (profile != null) {
        daemon.prefetchProfile(profile);
      } else if (published != null && !published.explicit() && mayPublish(tree)) {
        OriginClient c = client;
        Thread ask = new Thread(() -> {
          try {
            AccessProfile p = published(c, published);
            if (p != null) {
              daemon.prefetchProfile(p);
            }
          } catch (IOException | RuntimeException e) {
            LOG.fine("access profile: " + e.getMessage());
          }
        }, "lazydir-profile-fetch");
        ask.setDaemon(true);
        ask.start();
      }
      // A tree index applied now has listed every directory: no crawl, no walk to find that out.
      NamespaceCrawl crawl = applied != null ? NamespaceCrawl.complete(applied.directories())
          : crawlDepth > 0 ? NamespaceCrawl.start(tree, daemon::ensureListed,
              Math.max(1, beforeReady ? config.maxConns : config.maxConns / 2), crawlDepth) : null;
      ServeSession served = new ServeSession(layout, lock, client, tree, daemon, crawl, beforeReady || applied != null,
          dir.toRealPath(), warmUp, interrupted);
      try {
        served.control = startControl(layout, daemon);
      } catch (IOException | RuntimeException e) {
        served.close(); // the daemon, tree, client and lock with it
        tree = null;
        client = null;
        throw new IOException("could not open the control socket in " + layout.run() + ": " + e.getMessage(), e);
      }
      served.writeState();
      long tEnd = System.nanoTime();
      LOG.fine(() -> String.format("start-up: checks and client %d ms, index %d ms, tree %d ms, daemon %d ms"
          + " (JVM up %d ms)", (tIndex - t0) / 1_000_000, (tTree - tIndex) / 1_000_000,
          (tDaemon - tTree) / 1_000_000, (tEnd - tDaemon) / 1_000_000,
          java.lang.management.ManagementFactory.getRuntimeMXBean().getUptime()));
      return served;
    } catch (IOException | RuntimeException e) {
      OpenStubs.closeQuietly(group);
      if (tree != null) {
        tree.close();
      }
      if (client != null) {
        client.close();
      }
      lock.release();
      lock.channel().close();
      if (newStore) {
        try {
          warmUp.join(10_000); // it works in the store's run directory, which is about to go
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
        }
      }
      undoNew(layout, newStore, dir, newDir);
      throw e;
    }
  }

  /** The commands a running serve answers on its control socket: {@code refresh [PATH...]}. */
  private static ControlSocket startControl(StoreLayout layout, Daemon daemon) throws IOException {
    try (Fd run = layout.openRunDirectory()) {
      return ControlSocket.start(run, java.util.Map.of(
          "refresh", (args, out) -> {
            java.util.List<TreePath> paths = new java.util.ArrayList<>();
            for (String arg : args) {
              paths.add(pathOf(arg));
            }
            TreeRefresh.Report r = daemon.refresh(paths.isEmpty() ? java.util.List.of(TreePath.root()) : paths);
            LOG.info(r.summary());
            out.line("summary " + r.summary());
            out.line("complete " + (r.failed() == 0 && r.filesNotChecked() == 0));
          },
          "evict", (args, out) -> {
            for (String arg : args) {
              out.line(daemon.evict(pathOf(arg)));
            }
          },
          "pin", (args, out) -> {
            for (String arg : args) {
              out.line(daemon.pin(pathOf(arg), true));
            }
          },
          "unpin", (args, out) -> {
            for (String arg : args) {
              out.line(daemon.pin(pathOf(arg), false));
            }
          }));
    }
  }

  /** A path in the view relative to its root ("" for the root), each name checked to be one plain name. */
  private static TreePath pathOf(String relative) {
    return relative.isEmpty() ? TreePath.root() : TreePath.parse(relative);
  }

  /**
   * Whether the origin may publish a profile at the default place: a tree made from a tree index says (the index
   * lists the profile like any file beside it), so only a tree from listings (where nginx hides dotfiles) costs a
   * request to find out.
   */
  private static boolean mayPublish(StubTree tree) throws IOException {
    boolean fromIndex = StubTree.metaOf(tree.root()).orElse(null) instanceof DirMeta d && d.fromIndex();
    return !fromIndex || tree.root().statAt(AccessProfile.DEFAULT_NAME).isPresent();
  }

  /**
   * The access profile the origin publishes, or null if it has none (404 or 410 at the default place). One named
   * with {@code --prefetch-profile URL} must be there and valid; at the default place another failure, or a profile
   * that does not read, is a warning and nothing is prefetched.
   */
  private static AccessProfile published(OriginClient client, IndexFetch.Where where) throws IOException {
    if (where == null) {
      return null;
    }
    String name = dev.lazydir.origin.Redact.url(where.url());
    try {
      java.util.Optional<byte[]> body = client.fetchSmallFile(where.url(), AccessProfile.MAX_BYTES);
      if (body.isEmpty()) {
        if (where.explicit()) {
          throw new IOException("--prefetch-profile " + name + ": not found at the origin");
        }
        return null;
      }
      return AccessProfile.parse(body.get(), name);
    } catch (IOException e) {
      if (where.explicit()) {
        throw e;
      }
      LOG.warning("access profile " + name + ": " + e.getMessage() + "; nothing is fetched ahead");
      return null;
    }
  }

  private static void undoNew(StoreLayout layout, boolean newStore, Path dir, boolean newDir) {
    try {
      if (newStore) {
        layout.removeNew();
      }
      if (newDir) {
        Files.deleteIfExists(dir); // empty: nothing was mounted on it or put in it
      }
    } catch (IOException e) {
      LOG.warning("could not remove what the failed start made (" + e.getMessage() + ")");
    }
  }

  /**
   * The tree as a tree index left it this start: {@code fresh}, made whole now (every entry with this start's
   * access, every stub marked as it was made); {@code directories}, how many it holds, all listed.
   */
  private record Applied(boolean fresh, long directories) {}

  /**
   * Makes (or updates) the whole tree from the origin's tree index when it publishes one: every directory is
   * then listed, so the namespace crawl asks nothing more. A refused index changes nothing and fails the start.
   * Each stub made gets its content mark from {@code marks} as it is made. The same index as the one the tree was
   * last made from (a restart) changes nothing, so it is not applied again. Returns null when the origin
   * publishes no index.
   */
  private static Applied fromIndex(OriginClient client, IndexFetch.Where index, StoreLayout layout,
      String origin, Access access, ContentMarks marks) throws IOException {
    IndexFetch.Fetched fetched = IndexFetch.fetch(client, index, appliedIndex(layout));
    if (fetched.unchanged()) {
      // A 304: the tree, and the digests on disk, are those of this index: nothing to download, check or walk.
      try (Fd root = Posix.open(layout.tree().toString(), Posix.O_RDONLY | Posix.O_DIRECTORY)) {
        java.util.OptionalLong dirs = IndexApplier.recordedDirectories(root);
        if (dirs.isPresent()) {
          LOG.info("tree index: the one the tree was made from; nothing to change (the origin answered 304)");
          return new Applied(false, dirs.getAsLong());
        }
      }
      fetched = IndexFetch.fetch(client, index, null); // no record of what it made: asked for in full
    }
    java.util.Optional<byte[]> gz = fetched.body();
    if (gz.isEmpty()) {
      return null;
    }
    if (Files.isDirectory(layout.tree())) {
      try (Fd root = Posix.open(layout.tree().toString(), Posix.O_RDONLY | Posix.O_DIRECTORY)) {
        java.util.OptionalLong same = IndexApplier.upToDate(root, gz.get());
        if (same.isPresent() && digestsRecorded(layout)) {
          LOG.info("tree index: the one the tree was made from; nothing to change");
          root.setXattr(IndexFetch.APPLIED_XATTR, fetched.validators().encode());
          return new Applied(false, same.getAsLong());
        }
        root.removeXattr(IndexFetch.APPLIED_XATTR); // a crash while applying leaves no claim it was applied
        IndexApplier.forget(root); // the digests change first
      }
    }
    // Validated whole as its digests are written, before the tree changes: every stub the new index makes or
    // keeps has its digests on disk when it is filled.
    long entries = layout.writeDigests(gz.get());
    String withSlash = origin.endsWith("/") ? origin : origin + "/";
    String recorded = Files.isDirectory(layout.tree()) ? firstOrigin(layout.tree(), withSlash) : withSlash;
    try (StubTree t = StubTree.open(layout.tree(), recorded)) {
      t.access(access);
      t.onNewStub(marks::watch);
      IndexApplier.Result r = IndexApplier.applyValidated(gz.get(), t, Clock.systemUTC().instant());
      t.root().setXattr(IndexFetch.APPLIED_XATTR, fetched.validators().encode());
      LOG.info("tree index: " + entries + " entries; " + r.created() + " created, " + r.reset() + " reset, "
          + r.removed() + " removed" + (r.warnings() > 0 ? ", " + r.warnings() + " warnings" : ""));
      return new Applied(r.fresh(), r.directories());
    }
  }

  private static boolean digestsRecorded(StoreLayout layout) throws IOException {
    java.util.Optional<IndexDigests> d = layout.openDigests();
    d.ifPresent(OpenStubs::closeQuietly);
    return d.isPresent();
  }

  /** Whether the tree's last apply of a tree index stopped halfway (see IndexApplier#interrupted). */
  private static boolean applyInterrupted(Path tree) throws IOException {
    try (Fd fd = Posix.open(tree.toString(), Posix.O_RDONLY | Posix.O_DIRECTORY)) {
      return IndexApplier.interrupted(fd);
    }
  }

  /**
   * The tree index the store's tree was made from, if it was made from one and its digests are on disk (a tree
   * whose digests are gone is made again, which writes them).
   */
  private static IndexFetch.Applied appliedIndex(StoreLayout layout) throws IOException {
    if (!Files.isDirectory(layout.tree())) {
      return null;
    }
    try (Fd fd = Posix.open(layout.tree().toString(), Posix.O_RDONLY | Posix.O_DIRECTORY)) {
      if (!(StubTree.metaOf(fd).orElse(null) instanceof DirMeta m && m.fromIndex())) {
        return null;
      }
      java.util.Optional<IndexDigests> digests = layout.openDigests();
      if (digests.isEmpty()) {
        return null;
      }
      digests.get().close();
      return IndexFetch.Applied.of(fd).orElse(null);
    }
  }

  private static boolean initialized(Path tree) throws IOException {
    if (!Files.isDirectory(tree)) {
      return false;
    }
    try (Fd fd = Posix.open(tree.toString(), Posix.O_RDONLY | Posix.O_DIRECTORY)) {
      return fd.getXattr(EntryMeta.ORIGIN_XATTR).isPresent()
          && StubTree.metaOf(fd).orElse(null) instanceof DirMeta m && m.listed();
    }
  }

  /** The origin recorded in the tree (a directory URL gains its slash there), or the given one if none. */
  private static String firstOrigin(Path tree, String given) throws IOException {
    try (Fd fd = Posix.open(tree.toString(), Posix.O_RDONLY | Posix.O_DIRECTORY)) {
      String recorded = fd.getXattrString(EntryMeta.ORIGIN_XATTR).orElse(given);
      String a = recorded.endsWith("/") ? recorded.substring(0, recorded.length() - 1) : recorded;
      String b = given.endsWith("/") ? given.substring(0, given.length() - 1) : given;
      return a.equals(b) ? recorded : given; // a different origin is refused by StubTree.open
    }
  }

  private static void prepareView(Path dir, StoreLayout layout) throws IOException {
    Files.createDirectories(dir);
    ServePreflight.checkDir(dir, layout); // again, now that it exists: nothing put in it since the first check
  }

  private void writeStateLoop() {
    while (!closed) {
      try {
        Thread.sleep(1000);
        writeState();
      } catch (InterruptedException e) {
        return;
      } catch (IOException e) {
        // status is informative; a failed write is retried next second
      }
    }
  }

  /** Synchronized: start-up and the once-a-second writer share one temporary name. */
  private synchronized void writeState() throws IOException {
    if (closed) {
      return; // close() removed it: a writer that waited for the monitor must not bring it back
    }
    Daemon.Stats s = daemon.stats();
    TreeCounts.Snapshot t = daemon.treeCounts();
    layout.writeState("pid=" + ProcessHandle.current().pid() + "\n"
        + "started=" + s.started.getEpochSecond() + "\n"
        + "view=" + view + "\n"
        + "requests=" + client.requestCount() + "\n"
        + "fetched_bytes=" + daemon.fetchedBytes() + "\n"
        + "fetches=" + daemon.fetches() + "\n"
        + "events=" + s.events() + "\n"
        + "denied=" + s.denied() + "\n"
        + "listings=" + s.dirsListed() + "\n"
        // What the tree holds, from the daemon's counters: status reads these instead of walking the tree.
        + "tree.dirs_listed=" + t.dirsListed() + "\n"
        + "tree.dirs_known=" + t.dirsKnown() + "\n"
        + "tree.files_populated=" + t.filesComplete() + "\n"
        + "tree.files_partial=" + t.filesPartial() + "\n"
        + "tree.files_stub=" + t.filesStub() + "\n"
        + "tree.bytes_populated=" + t.bytesPresent() + "\n"
        + "tree.bytes_total=" + t.bytesTotal() + "\n"
        + "crawl=" + (crawl == null ? "off" : interrupted != null && crawl.outcome() == NamespaceCrawl.Outcome.COMPLETE
            ? "incomplete" : crawl.outcome().name().toLowerCase(java.util.Locale.ROOT)) + "\n"
        + "crawl_dirs=" + (crawl == null ? 0 : crawl.directories()) + "\n"
        + (crawl == null ? "" : interrupted != null ? "crawl_incomplete=" + interrupted + "\n"
            : crawl.incompleteBecause().isEmpty() ? "" : "crawl_incomplete=" + crawl.incompleteBecause() + "\n")
        + cacheState(daemon.cacheStats())
        + recentDenials(s));
  }

  /** The store's usage and bounds, evictions and opens (cache_max 0: no such bound). */
  private static String cacheState(Daemon.CacheStats c) {
    return "cache_bytes=" + c.used() + "\n"
        + "cache_max=" + c.limits().maxSize() + "\n"
        + "cache_min_free=" + c.limits().minFree() + "\n"
        + "cache_max_age=" + (c.limits().maxAge() == null ? 0 : c.limits().maxAge().toSeconds()) + "\n"
        + "evictions=" + c.evictions() + "\n"
        + "evicted_bytes=" + c.evictedBytes() + "\n"
        + "opens=" + c.opens() + "\n"
        + "opens_fetching=" + c.fetchingOpens() + "\n";
  }

  /** One line each, "denial.N=EPOCH ERRNO WHY" (newlines in the cause folded). */
  private static String recentDenials(Daemon.Stats s) {
    StringBuilder b = new StringBuilder();
    int i = 0;
    for (Daemon.Stats.Denial d : s.recentDenials()) {
      b.append("denial.").append(i++).append('=').append(d.at().getEpochSecond()).append(' ').append(d.errno())
          .append(' ').append(d.why().replace('\n', ' ')).append('\n');
    }
    return b.toString();
  }

  /** DIR was unmounted by hand while serving (the daemon then stops: the view is gone). */
  public boolean unmountedBehindItsBack() {
    return !closed && !daemon.viewMounted();
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    stateWriter.interrupt();
    try {
      warmUp.join(5000); // it removes its scratch directory in the store when done (about half a second)
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (metrics != null) {
      metrics.close();
    }
    if (control != null) {
      control.close();
      try (Fd run = layout.openRunDirectory()) {
        run.unlinkAt(ControlSocket.NAME, false);
      } catch (IOException e) {
        // a socket left behind refuses connections: a command says "not served"
      }
    }
    if (crawl != null) {
      crawl.close();
    }
    daemon.close();
    try {
      layout.removeState();
      tree.close();
      lock.release();
      lock.channel().close();
    } catch (IOException e) {
      // best effort at exit
    }
    client.close();
  }
}
