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
  private volatile boolean closed;

  private ServeSession(StoreLayout layout, FileLock lock, OriginClient client, StubTree tree, Daemon daemon,
      NamespaceCrawl crawl, boolean crawlBeforeReady, Path view, String interrupted) {
    this.interrupted = interrupted;
    this.layout = layout;
    this.lock = lock;
    this.client = client;
    this.tree = tree;
    this.daemon = daemon;
    this.crawl = crawl;
    this.crawlBeforeReady = crawlBeforeReady;
    this.view = view;
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
    ServePreflight.check(dir, layout); // before anything is created: a refused start leaves nothing behind
    layout.create();
    FileLock lock = layout.lock();
    // On the other core while this one starts up, lists the top level and mounts; 'ready' waits for it, so
    // that the first things a user does are served by compiled code with the whole machine.
    Thread warmUp = Daemon.warmUp(layout.run().resolve("warm-up"));
    OriginClient client = null;
    StubTree tree = null;
    FanotifyGroup group = null;
    try {
      long t0 = System.nanoTime();
      prepareView(dir, layout);
      client = new OriginClient(config, url);
      String origin = Crawler.withoutCredentials(url).toString();
      // Opened first, so that the stubs a tree index makes are marked as they are made (a mark is one call on the
      // descriptor in hand), not found by a walk of the whole tree afterwards.
      group = FanotifyGroups.open();
      Applied applied = fromIndex(client, index, layout, origin, access, new ContentMarks(group));
      long t1 = System.nanoTime();
      if (!initialized(layout.tree())) {
        // First start: list the top level now, which also tells a listing from a single file.
        try (Crawler first = new Crawler(client, 1, config.maxConns, Progress.NONE, Clock.systemUTC()).access(access)) {
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
      long t2 = System.nanoTime();
      FanotifyGroup marked = group;
      group = null; // the daemon's from here on, also if it fails to start
      Daemon daemon = Daemon.start(new Daemon.Settings(dir, segmentSize, readahead,
          config.timeout, config.refreshTimeout, config.maxConns, prefetchSmall, layout.run()), tree, client,
          digests, marked, applied != null && applied.fresh());
      // A tree index applied now has listed every directory: no crawl, no walk to find that out.
      NamespaceCrawl crawl = applied != null ? NamespaceCrawl.complete(applied.directories())
          : crawlDepth > 0 ? NamespaceCrawl.start(tree, daemon::ensureListed,
              Math.max(1, beforeReady ? config.maxConns : config.maxConns / 2), crawlDepth) : null;
      long t3 = System.nanoTime();
      LOG.fine(() -> "start: tree index " + (t1 - t0) / 1_000_000 + " ms, tree " + (t2 - t1) / 1_000_000
          + " ms, daemon " + (t3 - t2) / 1_000_000 + " ms");
      ServeSession served = new ServeSession(layout, lock, client, tree, daemon, crawl, beforeReady || applied != null,
          dir.toRealPath(), interrupted);
      served.writeState();
      try {
        warmUp.join(3000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
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
      throw e;
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
    java.util.Optional<byte[]> gz = IndexFetch.fetch(client, index);
    if (gz.isEmpty()) {
      return null;
    }
    if (Files.isDirectory(layout.tree())) {
      try (Fd root = Posix.open(layout.tree().toString(), Posix.O_RDONLY | Posix.O_DIRECTORY)) {
        java.util.OptionalLong same = IndexApplier.upToDate(root, gz.get());
        if (same.isPresent() && digestsRecorded(layout)) {
          LOG.info("tree index: the one the tree was made from; nothing to change");
          return new Applied(false, same.getAsLong());
        }
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
        + "crawl=" + (crawl == null ? "off" : interrupted != null && crawl.outcome() == NamespaceCrawl.Outcome.COMPLETE
            ? "incomplete" : crawl.outcome().name().toLowerCase(java.util.Locale.ROOT)) + "\n"
        + "crawl_dirs=" + (crawl == null ? 0 : crawl.directories()) + "\n"
        + (crawl == null ? "" : interrupted != null ? "crawl_incomplete=" + interrupted + "\n"
            : crawl.incompleteBecause().isEmpty() ? "" : "crawl_incomplete=" + crawl.incompleteBecause() + "\n")
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
