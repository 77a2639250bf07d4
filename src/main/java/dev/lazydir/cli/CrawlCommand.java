package dev.lazydir.cli;

import dev.lazydir.crawl.CrawlReport;
import dev.lazydir.crawl.Crawler;
import dev.lazydir.crawl.Progress;
import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Posix;
import dev.lazydir.origin.OriginClient;
import dev.lazydir.origin.OriginConfig;
import dev.lazydir.tree.Access;
import dev.lazydir.tree.StubTree;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.Callable;
import java.util.logging.Logger;
import okhttp3.HttpUrl;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "crawl", sortOptions = false, mixinStandardHelpOptions = true,
    description = {"Create or update a stub tree of URL in DIR: directories, and sparse files with the origin's"
        + " size and mtime that hold no data yet.",
        "Re-running updates DIR: new entries appear, vanished ones go, changed files become stubs again;"
        + " nothing outside DIR and nothing lazydir did not make is touched.",
        "A URL naming a single file gives a DIR holding that file."},
    footer = {"", ExitCodes.HELP})
final class CrawlCommand implements Callable<Integer> {
  private static final Logger LOG = Logger.getLogger(CrawlCommand.class.getName());

  @ParentCommand
  LazydirCommand parent;

  @Parameters(index = "0", paramLabel = "URL", description = "http(s) URL of a directory listing or of one file")
  String url;

  @Parameters(index = "1", paramLabel = "DIR", description = "local directory to fill (created if missing)")
  Path dir;

  @Option(names = "--depth", paramLabel = "N",
      description = "list at most N levels (1: only URL itself); deeper directories are created unlisted")
  int depth = Integer.MAX_VALUE;

  @Mixin
  AccessOptions access = new AccessOptions();

  @Mixin
  IndexOptions index = new IndexOptions();

  @Mixin
  OriginOptions origin = new OriginOptions();

  @Override
  public Integer call() throws Exception {
    HttpUrl parsed = Cli.parseUrl(url);
    OriginConfig config = origin.toConfig(parsed, System.getenv(), Cli.version());
    Access wanted = access.toAccess(System.getenv());
    Progress progress = System.console() != null ? Progress.terminal(System.err) : Progress.NONE;
    applyToExisting(wanted);
    try (OriginClient client = new OriginClient(config, parsed);
        Crawler crawler = new Crawler(client, depth, config.maxConns, progress, Clock.systemUTC()).access(wanted)
            .index(index.where(parsed))) {
      CrawlReport report = crawler.crawl(parsed, dir);
      parent.out().println(report.summary());
      return report.warnings() > 0 ? ExitCodes.PARTIAL : ExitCodes.OK;
    }
  }

  /** A tree crawled before gets the access asked for now, before anything is listed into it. */
  private void applyToExisting(Access wanted) throws IOException {
    if (!Files.isDirectory(dir)) {
      return;
    }
    try (Fd root = Posix.open(dir.toString(), Posix.O_RDONLY | Posix.O_DIRECTORY)) {
      int changed = StubTree.applyAccess(root, wanted);
      if (changed > 0) {
        LOG.info(dir + ": " + wanted + " given to " + changed + " existing entries");
      }
    }
  }
}
