package dev.lazydir.cli;

import dev.lazydir.crawl.CrawlReport;
import dev.lazydir.crawl.Crawler;
import dev.lazydir.crawl.Progress;
import dev.lazydir.demo.SampleTree;
import dev.lazydir.demo.StaticOrigin;
import dev.lazydir.origin.OriginClient;
import dev.lazydir.origin.OriginConfig;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Comparator;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "demo", mixinStandardHelpOptions = true,
    description = {"Start an origin on 127.0.0.1 serving a generated sample tree (directories, a compressed"
        + " tarball, an executable, a file eight levels deep) and crawl it into DIR, then say what to look at."},
    footer = {"", ExitCodes.HELP})
final class DemoCommand implements Callable<Integer> {
  @ParentCommand
  LazydirCommand parent;

  @Parameters(index = "0", arity = "0..1", paramLabel = "DIR", description = "where to build the tree (default: ${DEFAULT-VALUE})")
  Path dir = Path.of("lazydir-demo");

  @Option(names = "--tarball-members", hidden = true, description = "64 KiB members in the sample tarball")
  int tarballMembers = 256;

  @Override
  public Integer call() throws Exception {
    PrintStream out = parent.out();
    Path content = Files.createTempDirectory("lazydir-demo-origin");
    try {
      SampleTree.write(content, tarballMembers);
      try (StaticOrigin origin = new StaticOrigin(content);
          OriginClient client = new OriginClient(OriginConfig.builder().userAgent("lazydir/" + Cli.version()).build(), origin.url());
          Crawler crawler = new Crawler(client, Integer.MAX_VALUE, 4, Progress.NONE, Clock.systemUTC())) {
        out.println("origin: " + origin.url() + " (sample tree generated in " + content + ")");
        CrawlReport report = crawler.crawl(origin.url(), dir);
        out.println("crawl:  " + report.summary());
        out.println();
        out.println("DIR " + dir.toAbsolutePath() + " now mirrors the origin's namespace. Try:");
        out.println("  ls -lR " + dir + "              # names, sizes and times from the listings");
        out.println("  du -sh " + dir + "              # stubs hold no data: only directories take space");
        out.println("  getfattr -d -m user.lazydir " + dir + "/data/random.bin   # per-file metadata");
        out.println("  lazydir crawl " + origin.url() + " " + dir + "   # (while an origin runs) update in place");
        out.println("Reading content on demand comes with `lazydir serve` (the fanotify daemon).");
        return report.warnings() > 0 ? ExitCodes.PARTIAL : ExitCodes.OK;
      }
    } finally {
      deleteTree(content);
    }
  }

  private static void deleteTree(Path root) throws IOException {
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
