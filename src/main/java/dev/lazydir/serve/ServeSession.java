package dev.lazydir.serve;

import dev.lazydir.crawl.Crawler;
import dev.lazydir.crawl.Progress;
import dev.lazydir.index.IndexApplier;
import dev.lazydir.index.IndexDigests;
import dev.lazydir.index.IndexFetch;
import dev.lazydir.index.TreeIndex;
import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Posix;
import dev.lazydir.origin.OriginClient;
import dev.lazydir.origin.OriginConfig;
import dev.lazydir.tree.Access;
import dev.lazydir.tree.EntryMeta;
import dev.lazydir.tree.EntryMeta.DirMeta;
import dev.lazydir.tree.StubTree;
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
  private final Thread stateWriter;
  private final Thread warmUp;
  private volatile boolean closed;

  private ServeSession(StoreLayout layout, FileLock lock, OriginClient client, StubTree tree, Daemon daemon,
      NamespaceCrawl crawl, boolean crawlBeforeReady, Path view, Thread warmUp) {
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
    long t0 = System.nanoTime();
    ServePreflight.check(dir, layout); // before anything is created: a refused start leaves nothing behind
    layout.create();
    FileLock lock = layout.lock();
    // On the other core while this one starts up, lists the top level and mounts. 'ready' does not wait for it
    // (it used to: 0.5-2 s of a start of 0.8-4 s, more on a busy machine; bench/start): the first listings a user
    // asks for within its half second run partly interpreted, which costs less than the wait did.
    Thread warmUp = Daemon.warmUp(layout.run().resolve("warm-up"));
    OriginClient client = null;
    StubTree tree = null;
    try {
      prepareView(dir, layout);
      client = new OriginClient(config, url);
      String origin = Crawler.withoutCredentials(url).toString();
      long tIndex = System.nanoTime();
      fromIndex(client, index, layout, origin, access);
      long tTree = System.nanoTime();
      if (!initialized(layout.tree())) {
        // First start: list the top level now, which also tells a listing from a single file.
        try (Crawler first = new Crawler(client, 1, config.maxConns, Progress.NONE, Clock.systemUTC()).access(access)) {
          first.crawl(url, layout.tree());
        }
      }
      tree = StubTree.open(layout.tree(), firstOrigin(layout.tree(), origin));
      tree.access(access);
      // Before DIR shows the tree: a restart with other --uid/--gid/--allow-other never exposes the old access.
      int changed = tree.applyAccessToExisting();
      if (changed > 0) {
        LOG.info(layout.tree() + ": " + access + " given to " + changed + " existing entries");
      }
      tree.root().setXattr("user.lazydir.store", layout.store().toAbsolutePath().toString());
      // The digests of the index this tree was made from (this start's, or a previous one's if the index could
      // not be fetched now): every file they name is verified block by block as it is filled.
      IndexDigests digests = layout.openDigests().orElse(null);
      long tDaemon = System.nanoTime();
      Daemon daemon = Daemon.start(new Daemon.Settings(dir, segmentSize, readahead,
          config.timeout, config.refreshTimeout, config.maxConns, prefetchSmall, layout.run()), tree, client,
          digests);
      NamespaceCrawl crawl = crawlDepth > 0 ? NamespaceCrawl.start(tree, daemon::ensureListed,
          Math.max(1, beforeReady ? config.maxConns : config.maxConns / 2), crawlDepth) : null;
      ServeSession served = new ServeSession(layout, lock, client, tree, daemon, crawl, beforeReady, dir.toRealPath(), warmUp);
      served.writeState();
      long tEnd = System.nanoTime();
      LOG.fine(() -> String.format("start-up: checks and client %d ms, index %d ms, tree %d ms, daemon %d ms"
          + " (JVM up %d ms)", (tIndex - t0) / 1_000_000, (tTree - tIndex) / 1_000_000,
          (tDaemon - tTree) / 1_000_000, (tEnd - tDaemon) / 1_000_000,
          java.lang.management.ManagementFactory.getRuntimeMXBean().getUptime()));
      return served;
    } catch (IOException | RuntimeException e) {
      if (tree != null) {
        tree.close();
      }
      if (client != null) {
        client.close();
      }
      lock.release();
      lock.channel().close();
      throw e;
    }
  }

  /**
   * Makes (or updates) the whole tree from the origin's tree index when it publishes one: every directory is
   * then listed, so the namespace crawl asks nothing more. A refused index changes nothing and fails the start.
   */
  private static void fromIndex(OriginClient client, IndexFetch.Where index, StoreLayout layout, String origin,
      Access access) throws IOException {
    java.util.Optional<byte[]> gz = IndexFetch.fetch(client, index);
    if (gz.isEmpty()) {
      return;
    }
    long entries = TreeIndex.validate(gz.get());
    // Before the tree changes: every stub the new index makes or keeps has its digests on disk when it is filled.
    layout.writeDigests(gz.get());
    String withSlash = origin.endsWith("/") ? origin : origin + "/";
    String recorded = Files.isDirectory(layout.tree()) ? firstOrigin(layout.tree(), withSlash) : withSlash;
    try (StubTree t = StubTree.open(layout.tree(), recorded)) {
      t.access(access);
      IndexApplier.Result r = IndexApplier.applyValidated(gz.get(), t, Clock.systemUTC().instant());
      LOG.info("tree index: " + entries + " entries; " + r.created() + " created, " + r.reset() + " reset, "
          + r.removed() + " removed" + (r.warnings() > 0 ? ", " + r.warnings() + " warnings" : ""));
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
    Path real = dir.toRealPath();
    if (real.startsWith(layout.store().toAbsolutePath().normalize())) {
      throw new IllegalArgumentException(dir + " is inside the store " + layout.store());
    }
    try (var entries = Files.list(real)) {
      if (entries.findAny().isPresent()) {
        boolean crawled;
        try (Fd fd = Posix.open(real.toString(), Posix.O_RDONLY | Posix.O_DIRECTORY)) {
          crawled = fd.getXattr(EntryMeta.ORIGIN_XATTR).isPresent();
        }
        throw new IOException(dir + " is not empty; serve needs an empty directory to show the view in"
            + (crawled ? ". It holds a tree made by `lazydir crawl`: to serve that tree, make it a store's tree:"
                + " mkdir S && mv " + dir + " S/tree && mkdir " + dir + " && lazydir serve --store S URL " + dir
                : " (is another lazydir serve using it?)"));
      }
    }
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
    layout.writeState("pid=" + ProcessHandle.current().pid() + "\n"
        + "started=" + s.started.getEpochSecond() + "\n"
        + "view=" + view + "\n"
        + "requests=" + client.requestCount() + "\n"
        + "fetched_bytes=" + daemon.fetchedBytes() + "\n"
        + "fetches=" + daemon.fetches() + "\n"
        + "events=" + s.events() + "\n"
        + "denied=" + s.denied() + "\n"
        + "dirs_listed=" + s.dirsListed() + "\n"
        + "crawl=" + (crawl == null ? "off" : crawl.outcome().name().toLowerCase(java.util.Locale.ROOT)) + "\n"
        + "crawl_dirs=" + (crawl == null ? 0 : crawl.directories()) + "\n"
        + (crawl == null || crawl.incompleteBecause().isEmpty() ? "" : "crawl_incomplete=" + crawl.incompleteBecause() + "\n")
        + recentDenials(s));
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
