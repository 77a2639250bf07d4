package dev.lazydir.cli;

import dev.lazydir.crawl.Crawler;
import dev.lazydir.crawl.Progress;
import dev.lazydir.hsm.NamespaceCrawl;
import dev.lazydir.hsm.Daemon;
import dev.lazydir.hsm.StoreLayout;
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
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import okhttp3.HttpUrl;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "serve", sortOptions = false, mixinStandardHelpOptions = true,
    description = {"Make DIR a live, read-only view of URL: directories are listed when opened, file bytes are"
        + " fetched when read, and what is local is read at disk speed. Runs in the foreground until SIGINT or"
        + " SIGTERM; prints a line starting with 'ready' when DIR is live. Needs root and Linux 6.14+.",
        "",
        "Every path of the origin exists in DIR when 'ready' is printed: the whole namespace is listed first"
            + " (a restart lists only what is missing). For trees too large for that, --lazy-dirs lists each"
            + " directory when it is first opened (Linux has no lookup event: a path below a directory never opened"
            + " does not exist yet; add --crawl to list everything in the background, `lazydir wait DIR` waits"
            + " for it).",
        "",
        "If the daemon dies, a guard process detaches DIR at once: it becomes an empty directory (ENOENT), never"
            + " a tree of zero-filled files; readers still inside get EIO until a restarted serve takes over."},
    footer = {"", ExitCodes.HELP})
final class ServeCommand implements Callable<Integer> {
  private static final java.util.logging.Logger LOG = java.util.logging.Logger.getLogger(ServeCommand.class.getName());

  @ParentCommand
  LazydirCommand parent;

  @Parameters(index = "0", paramLabel = "URL", description = "http(s) URL of a directory listing or of one file")
  String url;

  @Parameters(index = "1", paramLabel = "DIR", description = "empty directory where the view appears (created if missing)")
  Path dir;

  @Option(names = "--store", paramLabel = "PATH",
      description = "where the stub tree and fetched bytes live (default: .DIR.lazydir beside DIR)")
  Path store;

  @Option(names = "--dl-seg-size", paramLabel = "MiB", description = "bytes fetched per request, in MiB (default: ${DEFAULT-VALUE})")
  int segmentMiB = 4;

  @Option(names = "--readahead", paramLabel = "N", description = "segments fetched ahead of a sequential reader (default: ${DEFAULT-VALUE})")
  int readahead = 4;

  @Option(names = "--lazy-dirs", description = "print ready at once and list each directory when it is first opened,"
      + " instead of listing the whole namespace first (for trees too large to list up front)")
  boolean lazyDirs;

  @Option(names = "--crawl", description = "with --lazy-dirs: list the whole namespace in the background")
  boolean crawl;

  @Option(names = "--max-depth", paramLabel = "N",
      description = "levels the namespace is listed to at most; deeper directories are listed when opened (default: ${DEFAULT-VALUE})")
  int maxDepth = NamespaceCrawl.DEFAULT_MAX_DEPTH;

  @Option(names = "--prefetch-small", paramLabel = "KiB",
      description = "fetch files up to this size in the background when their directory is opened (0: off; default: ${DEFAULT-VALUE})")
  long prefetchSmallKiB = 64;

  @Mixin
  AccessOptions access = new AccessOptions();

  @Mixin
  IndexOptions index = new IndexOptions();

  @Mixin
  OriginOptions origin = new OriginOptions();

  @Override
  public Integer call() throws Exception {
    if (maxDepth < 1) {
      throw new IllegalArgumentException("--max-depth must be at least 1");
    }
    HttpUrl parsed = Cli.parseUrl(url);
    OriginConfig config = origin.toConfig(parsed, System.getenv(), Cli.version());
    Served served = Served.start(parsed, config, dir, store == null ? StoreLayout.defaultFor(dir) : new StoreLayout(store),
        (long) segmentMiB << 20, readahead, lazyDirs && !crawl ? 0 : maxDepth, !lazyDirs,
        access.toAccess(System.getenv()), prefetchSmallKiB << 10, index.where(parsed));
    try (served) {
      Signals.awaitTermination(stopAsked -> {
        try {
          String mode = served.awaitNamespace(parent.err(), System.console() != null, stopAsked);
          if (mode != null) {
            parent.out().println("ready " + served.view() + " (" + mode + ")");
            parent.out().flush();
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      });
      parent.out().println("stopping: answering pending readers, unmounting " + served.view());
    }
    return ExitCodes.OK;
  }

  /** A running daemon with everything it holds, closed in reverse order. Also used by the demo. */
  static final class Served implements AutoCloseable {
    private final StoreLayout layout;
    private final FileLock lock;
    private final OriginClient client;
    private final StubTree tree;
    private final Daemon daemon;
    private final NamespaceCrawl crawl;
    private final boolean crawlBeforeReady;
    private final Path view;
    private final Thread stateWriter;
    private volatile boolean closed;

    private Served(StoreLayout layout, FileLock lock, OriginClient client, StubTree tree, Daemon daemon,
        NamespaceCrawl crawl, boolean crawlBeforeReady, Path view) {
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

    Path view() {
      return view;
    }

    /**
     * Waits for the namespace crawl when it runs before ready (progress on a terminal), and says which mode is in
     * force, for the ready line; null if a stop was asked for meanwhile.
     */
    String awaitNamespace(java.io.PrintStream progress, boolean terminal, java.util.function.BooleanSupplier stopAsked)
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

    /** The demo's: the view is the invoking user's, with file stubs of the given mode; lazy directories. */
    static Served start(HttpUrl url, OriginConfig config, Path dir, StoreLayout layout, long chunkSize, int readahead,
        int crawlDepth, int fileMode, long prefetchSmall) throws IOException {
      Access invoker = new AccessOptions().toAccess(System.getenv()).withFileMode(fileMode);
      return start(url, config, dir, layout, chunkSize, readahead, crawlDepth, false, invoker, prefetchSmall, null);
    }

    /**
     * crawlDepth: levels the namespace crawl lists at most, 0 for none; beforeReady: the crawl uses every
     * connection and {@link #awaitNamespace} waits for it (else it runs in the background with half of them).
     */
    static Served start(HttpUrl url, OriginConfig config, Path dir, StoreLayout layout, long chunkSize, int readahead,
        int crawlDepth, boolean beforeReady, Access access, long prefetchSmall, IndexFetch.Where index)
        throws IOException {
      layout.create();
      FileLock lock = layout.lock();
      // On the other core while this one starts up, lists the top level and mounts; 'ready' waits for it, so
      // that the first things a user does are served by compiled code with the whole machine.
      Thread warmUp = Daemon.warmUp(layout.run().resolve("warm-up"));
      OriginClient client = null;
      StubTree tree = null;
      try {
        prepareView(dir, layout);
        client = new OriginClient(config, url);
        String origin = Crawler.withoutCredentials(url).toString();
        fromIndex(client, index, layout, origin, access);
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
        Daemon daemon = Daemon.start(new Daemon.Settings(dir, chunkSize, readahead,
            config.timeout, config.refreshTimeout, config.maxConns, prefetchSmall, layout.run()), tree, client,
            digests);
        NamespaceCrawl crawl = crawlDepth > 0 ? NamespaceCrawl.start(tree, daemon::ensureListed,
            Math.max(1, beforeReady ? config.maxConns : config.maxConns / 2), crawlDepth) : null;
        Served served = new Served(layout, lock, client, tree, daemon, crawl, beforeReady, dir.toRealPath());
        served.writeState();
        try {
          warmUp.join(3000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
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
}
