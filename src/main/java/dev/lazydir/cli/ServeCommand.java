package dev.lazydir.cli;

import dev.lazydir.crawl.Crawler;
import dev.lazydir.crawl.Progress;
import dev.lazydir.serve.NamespaceCrawl;
import dev.lazydir.serve.ServeSession;
import dev.lazydir.serve.Daemon;
import dev.lazydir.serve.StoreLayout;
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

  @Override
  public Integer call() throws Exception {
    if (maxDepth < 1) {
      throw new IllegalArgumentException("--max-depth must be at least 1");
    }
    dev.lazydir.serve.CacheLimits cache = new dev.lazydir.serve.CacheLimits(
        cacheMaxSize == null ? 0 : dev.lazydir.serve.CacheLimits.parseSize("--cache-max-size", cacheMaxSize),
        minFreeSpace == null ? 0 : dev.lazydir.serve.CacheLimits.parseSize("--min-free-space", minFreeSpace),
        cacheMaxAge == null ? null : dev.lazydir.serve.CacheLimits.parseAge("--cache-max-age", cacheMaxAge));
    HttpUrl parsed = Cli.parseUrl(url);
    OriginConfig config = origin.toConfig(parsed, System.getenv(), Cli.version());
    ServeSession served = ServeSession.start(parsed, config, dir, store == null ? StoreLayout.defaultFor(dir) : new StoreLayout(store),
        (long) segmentMiB << 20, readahead, lazyDirs && !crawl ? 0 : maxDepth, !lazyDirs,
        access.toAccess(System.getenv()), prefetchSmallKiB << 10, index.where(parsed), cache);
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
}
