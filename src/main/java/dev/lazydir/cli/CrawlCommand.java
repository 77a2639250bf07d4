package dev.lazydir.cli;

import dev.lazydir.crawl.CrawlReport;
import dev.lazydir.crawl.Crawler;
import dev.lazydir.crawl.Progress;
import dev.lazydir.origin.OriginClient;
import dev.lazydir.origin.OriginConfig;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.Callable;
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
  FileModeOption mode = new FileModeOption();

  @Mixin
  OriginOptions origin = new OriginOptions();

  @Override
  public Integer call() throws Exception {
    HttpUrl parsed = Cli.parseUrl(url);
    OriginConfig config = origin.toConfig(parsed, System.getenv(), Cli.version());
    Progress progress = System.console() != null ? Progress.terminal(System.err) : Progress.NONE;
    try (OriginClient client = new OriginClient(config, parsed);
        Crawler crawler = new Crawler(client, depth, config.maxConns, progress, Clock.systemUTC()).fileMode(mode.fileMode)) {
      CrawlReport report = crawler.crawl(parsed, dir);
      parent.out().println(report.summary());
      return report.warnings() > 0 ? ExitCodes.PARTIAL : ExitCodes.OK;
    }
  }
}
