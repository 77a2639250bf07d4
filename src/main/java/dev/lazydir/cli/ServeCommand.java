package dev.lazydir.cli;

import dev.lazydir.crawl.Crawler;
import dev.lazydir.crawl.Progress;
import dev.lazydir.serve.NamespaceCrawl;
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

  @Option(names = "--metrics-addr", paramLabel = "[HOST:]PORT",
      description = "serve Prometheus metrics at http://HOST:PORT/metrics (HOST: 127.0.0.1 unless given; off by default)")
  String metricsAddr;

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
    java.net.InetSocketAddress metricsAt = metricsAddr == null ? null : MetricsEndpoint.parseAddress(metricsAddr);
    HttpUrl parsed = Cli.parseUrl(url);
    OriginConfig config = origin.toConfig(parsed, System.getenv(), Cli.version());
    ServeSession served = ServeSession.start(parsed, config, dir, store == null ? StoreLayout.defaultFor(dir) : new StoreLayout(store),
        (long) segmentMiB << 20, readahead, lazyDirs && !crawl ? 0 : maxDepth, !lazyDirs,
        access.toAccess(System.getenv()), prefetchSmallKiB << 10, index.where(parsed));
    java.util.Optional<SystemdNotify> systemd = SystemdNotify.fromEnvironment(System.getenv());
    try (served) {
      served.onViewUnmounted(Signals::stopSelf);
      if (metricsAt != null) {
        java.net.InetSocketAddress at = served.exposeMetrics(metricsAt);
        parent.err().println("metrics at http://" + at.getHostString() + ":" + at.getPort() + "/metrics");
      }
      Signals.awaitTermination(stopAsked -> {
        try {
          String mode = served.awaitNamespace(parent.err(), System.console() != null, stopAsked);
          if (mode != null) {
            String ready = "ready " + served.view() + " (" + mode + ")";
            parent.out().println(ready);
            parent.out().flush();
            systemd.ifPresent(n -> n.ready(ready));
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      });
      systemd.ifPresent(SystemdNotify::stopping);
      parent.out().println("stopping: answering pending readers, unmounting " + served.view());
    }
    return ExitCodes.OK;
  }
}
