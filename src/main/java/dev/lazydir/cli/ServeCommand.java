package dev.lazydir.cli;

import dev.lazydir.crawl.Crawler;
import dev.lazydir.crawl.Progress;
import dev.lazydir.serve.NamespaceCrawl;
import dev.lazydir.serve.AccessProfile;
import dev.lazydir.serve.ServeSession;
import dev.lazydir.serve.Daemon;
import dev.lazydir.serve.MetricsEndpoint;
import dev.lazydir.serve.StoreLayout;
import dev.lazydir.serve.SystemdNotify;
import dev.lazydir.index.IndexApplier;
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
import java.io.PrintStream;
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
        + " SIGTERM (or, with --daemon, in the background until lazydir stop DIR); prints a line starting with"
        + " 'ready' when DIR is live. Needs root and Linux 6.14+. httpdirfs' options work too (see the README's"
        + " table).",
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

  @Option(names = {"--store", "--cache-location"}, paramLabel = "PATH",
      description = "where the stub tree and fetched bytes live (default: .DIR.lazydir beside DIR);"
          + " --cache-location is httpdirfs' name for it")
  Path store;

  @Option(names = "--dl-seg-size", paramLabel = "SIZE",
      description = "bytes fetched per request: a size with a unit (512K, 8M) or a bare number of MiB, as httpdirfs"
          + " reads it; a multiple of 4 KiB, at most 1 GiB (default: ${DEFAULT-VALUE})")
  String segmentSize = "4M";

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

  @Option(names = "--prefetch-small", paramLabel = "SIZE",
      description = "fetch files up to this size in the background when their directory is opened (a bare number"
          + " is KiB; 0: off; default: ${DEFAULT-VALUE})")
  String prefetchSmall = "64";

  @Option(names = "--daemon", description = "return once DIR is ready and keep serving in the background (messages"
      + " go to --log-file, default STORE/run/serve.log); stop it with lazydir stop DIR. Without it serve stays in"
      + " the foreground")
  boolean daemon;

  @Mixin
  HttpdirfsOptions httpdirfs = new HttpdirfsOptions();

  @Option(names = "--record-profile", paramLabel = "FILE",
      description = "write which files and ranges readers asked for, in order, to FILE (every few seconds and at stop);"
          + " publish it beside the tree as " + AccessProfile.DEFAULT_NAME + " or give it to --prefetch-profile")
  Path recordProfile;

  @Option(names = "--prefetch-profile", paramLabel = "FILE|URL",
      description = "fetch the ranges of this access profile at start, in its order, ahead of readers (default: URL/"
          + AccessProfile.DEFAULT_NAME + " when the origin publishes one)")
  String prefetchProfile;

  @Option(names = "--no-prefetch-profile", description = "do not look for an access profile at the origin")
  boolean noPrefetchProfile;

  @Option(names = "--metrics-addr", paramLabel = "[HOST:]PORT",
      description = "serve Prometheus metrics at http://HOST:PORT/metrics (HOST: 127.0.0.1 unless given; off by default)")
  String metricsAddr;

  @Option(names = "--cache-max-size", paramLabel = "SIZE",
      description = "keep the disk blocks of the store's files (preallocation included) within SIZE (8M, 2G...):"
          + " least recently used files are evicted before a fetch would cross it; a file larger than SIZE is refused"
          + " with ENOSPC (default: no bound)")
  String cacheMaxSize;

  @Option(names = "--min-free-space", paramLabel = "SIZE",
      description = "keep at least SIZE free on the store's filesystem, evicting least recently used files (default: no bound)")
  String minFreeSpace;

  @Option(names = "--cache-max-age", paramLabel = "DURATION",
      description = "evict files unused for longer than DURATION (30m, 2h, 7d; default: never)")
  String cacheMaxAge;

  @Mixin
  AccessOptions access = new AccessOptions();

  @Mixin
  IndexOptions index = new IndexOptions();

  @Mixin
  OriginOptions origin = new OriginOptions();

  /** Set in the process --daemon starts: it says ready on stdout, then writes only to its log. */
  static final String DAEMON_CHILD_ENV = "LAZYDIR_DAEMON_CHILD";
  static final String DEFAULT_DAEMON_LOG = "serve.log";

  @Override
  public Integer call() throws Exception {
    dev.lazydir.internal.StartTrace.mark("command line parsed");
    long segment = Sizes.parse("--dl-seg-size", segmentSize, 1L << 20);
    if (segment < 4096 || segment % 4096 != 0 || segment > 1L << 30) {
      throw new IllegalArgumentException("--dl-seg-size " + segmentSize + " is " + Sizes.show(segment) + "; it must be a"
          + " multiple of 4 KiB from 4 KiB to 1 GiB (e.g. 4M)");
    }
    long prefetch = Sizes.parse("--prefetch-small", prefetchSmall, 1L << 10);
    if (readahead < 0) {
      throw new IllegalArgumentException("--readahead must be 0 (none) or more segments, not " + readahead);
    }
    if (maxDepth < 1) {
      throw new IllegalArgumentException("--max-depth must be at least 1, not " + maxDepth);
    }
    if (crawl && !lazyDirs) {
      LOG.fine("--crawl without --lazy-dirs: the namespace is listed before ready anyway");
    }
    boolean daemonCaller = daemon && System.getenv(DAEMON_CHILD_ENV) == null;
    if (daemonCaller) {
      httpdirfs.checkForeground(daemon); // the rest (and its warnings) in the daemon, whose words are passed on
    } else {
      httpdirfs.applyTo(access, daemon);
    }
    java.net.InetSocketAddress metricsAt = metricsAddr == null ? null : MetricsEndpoint.parseAddress(metricsAddr);
    dev.lazydir.serve.CacheLimits cache = new dev.lazydir.serve.CacheLimits(
        cacheMaxSize == null ? 0 : dev.lazydir.serve.CacheLimits.parseSize("--cache-max-size", cacheMaxSize),
        minFreeSpace == null ? 0 : dev.lazydir.serve.CacheLimits.parseSize("--min-free-space", minFreeSpace),
        cacheMaxAge == null ? null : dev.lazydir.serve.CacheLimits.parseAge("--cache-max-age", cacheMaxAge));
    HttpUrl parsed = Cli.parseUrl(url);
    if (httpdirfs.singleFileMode && parsed.encodedPath().endsWith("/") && !httpdirfs.cacheClear) {
      throw new IllegalArgumentException("--single-file-mode: " + dev.lazydir.origin.Redact.url(parsed) + " ends with"
          + " '/', so it names a directory, not one file; give the file's URL, or leave out --single-file-mode");
    }
    ServeSession.Profiles profiles = profiles(parsed);
    if (httpdirfs.singleFileMode && prefetchProfile == null) {
      profiles = new ServeSession.Profiles(profiles.recordTo(), null, null); // one file: no tree to publish one beside
    }
    OriginConfig config = origin.toConfig(parsed, System.getenv(), Cli.version());
    StoreLayout layout = store == null ? StoreLayout.defaultFor(dir) : new StoreLayout(store);
    if (httpdirfs.cacheClear) {
      return clearCache(layout);
    }
    IndexFetch.Where where = httpdirfs.singleFileMode ? null : index.where(parsed);
    if (daemonCaller) {
      return Daemonize.run(parent, layout, dir);
    }
    PrintStream out = parent.out();
    ServeSession served = ServeSession.start(parsed, config, dir, layout, segment, readahead,
        lazyDirs && !crawl ? 0 : maxDepth, !lazyDirs, access.toAccess(System.getenv()), prefetch, where, profiles,
        httpdirfs.singleFileMode, cache);
    PrintStream[] to = {out};
    java.util.Optional<SystemdNotify> systemd = SystemdNotify.fromEnvironment(System.getenv());
    try (served) {
      if (metricsAt != null) {
        java.net.InetSocketAddress at = served.exposeMetrics(metricsAt);
        parent.err().println("metrics at http://" + at.getHostString() + ":" + at.getPort() + "/metrics");
      }
      boolean unmounted = Signals.awaitTermination(stopAsked -> {
        try {
          String mode = served.awaitNamespace(parent.err(), System.console() != null, stopAsked);
          if (mode != null) {
            String ready = "ready " + served.view() + " (" + mode + ")";
            to[0].println(ready);
            dev.lazydir.internal.StartTrace.mark("ready");
            to[0].flush();
            systemd.ifPresent(n -> n.ready(ready));
            if (System.getenv(DAEMON_CHILD_ENV) != null) {
              to[0] = Daemonize.detach(parent, layout);
            }
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }, served::unmountedBehindItsBack);
      systemd.ifPresent(SystemdNotify::stopping);
      if (unmounted) {
        LOG.warning(served.view() + " was unmounted by hand; stopping (start serve again to show the view)");
        to[0].println("stopping: answering pending readers (" + served.view() + " is unmounted already)");
      } else {
        to[0].println("stopping: answering pending readers, unmounting " + served.view());
      }
    }
    return ExitCodes.OK;
  }

  /** The profile options, checked before anything is made: a local profile is read (and refused) now. */
  private ServeSession.Profiles profiles(HttpUrl origin) throws IOException {
    if (noPrefetchProfile && prefetchProfile != null) {
      throw new IllegalArgumentException("--prefetch-profile and --no-prefetch-profile exclude each other");
    }
    if (recordProfile != null) {
      Path parent = recordProfile.toAbsolutePath().getParent();
      if (Files.isDirectory(recordProfile) || parent == null || !Files.isDirectory(parent)) {
        throw new IllegalArgumentException("--record-profile " + recordProfile + ": not a file in an existing"
            + " directory; name a file whose directory exists");
      }
    }
    AccessProfile given = null;
    dev.lazydir.index.IndexFetch.Where published = null;
    if (prefetchProfile != null && (prefetchProfile.startsWith("http://") || prefetchProfile.startsWith("https://"))) {
      published = new dev.lazydir.index.IndexFetch.Where(Cli.parseUrl(prefetchProfile), true);
    } else if (prefetchProfile != null) {
      Path file = Path.of(prefetchProfile);
      if (!Files.isRegularFile(file)) {
        throw new IllegalArgumentException("--prefetch-profile " + prefetchProfile + ": no such file; give a profile"
            + " written by --record-profile, or a URL");
      }
      try {
        given = AccessProfile.parse(Files.readAllBytes(file), prefetchProfile);
      } catch (AccessProfile.ProfileException e) {
        throw new IllegalArgumentException("--prefetch-profile " + e.getMessage());
      }
    } else if (!noPrefetchProfile) {
      published = new dev.lazydir.index.IndexFetch.Where(ServeSession.Profiles.defaultUrl(origin), false);
    }
    return new ServeSession.Profiles(recordProfile, given, published);
  }

  /** httpdirfs' --cache-clear: removes DIR's store (never one a serve is using) and exits. */
  private int clearCache(StoreLayout layout) throws IOException {
    if (!java.nio.file.Files.exists(layout.store(), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      parent.out().println("nothing to clear: " + layout.store() + " does not exist");
      return ExitCodes.OK;
    }
    layout.removeStore();
    parent.out().println("cleared " + layout.store());
    return ExitCodes.OK;
  }
}
