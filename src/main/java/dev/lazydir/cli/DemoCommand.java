package dev.lazydir.cli;

import dev.lazydir.crawl.CrawlReport;
import dev.lazydir.crawl.Crawler;
import dev.lazydir.crawl.Progress;
import dev.lazydir.demo.SampleTree;
import dev.lazydir.demo.StaticOrigin;
import dev.lazydir.serve.NamespaceCrawl;
import dev.lazydir.serve.ServeSession;
import dev.lazydir.serve.StoreLayout;
import dev.lazydir.tree.Access;
import dev.lazydir.serve.TreeStatus;
import dev.lazydir.origin.OriginClient;
import dev.lazydir.origin.OriginConfig;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "demo", mixinStandardHelpOptions = true,
    description = {"Start an origin on 127.0.0.1 serving a generated sample tree (directories, a compressed"
        + " tarball, an executable, a file eight levels deep), serve it into DIR, and run a short tour through"
        + " the view. On a terminal DIR stays live until Ctrl-C. Without root or fanotify pre-content support,"
        + " the demo says why and only crawls the stub tree."},
    footer = {"", ExitCodes.HELP})
final class DemoCommand implements Callable<Integer> {
  @ParentCommand
  LazydirCommand parent;

  @Parameters(index = "0", arity = "0..1", paramLabel = "DIR", description = "where the view appears (default: ${DEFAULT-VALUE})")
  Path dir = Path.of("lazydir-demo");

  @Option(names = "--tarball-members", hidden = true, description = "64 KiB members in the sample tarball")
  int tarballMembers = 512;

  @Option(names = "--wait", description = "keep DIR live after the tour until Ctrl-C (default: only on a terminal)")
  boolean waitForSignal;

  @Option(names = "--crawl-only", description = "only build the stub tree (no daemon)")
  boolean crawlOnly;

  @Override
  public Integer call() throws Exception {
    PrintStream out = parent.out();
    Path content = Files.createTempDirectory("lazydir-demo-origin");
    try {
      SampleTree.write(content, tarballMembers);
      try (StaticOrigin origin = new StaticOrigin(content)) {
        out.println("origin: " + origin.url() + " (a generated sample tree)");
        String why = crawlOnly ? "--crawl-only" : serveUnavailable();
        if (why != null) {
          out.println("not serving: " + why + "; building the stub tree only");
          return crawl(origin, out);
        }
        return serve(origin, out);
      }
    } finally {
      deleteTree(content);
    }
  }

  private int serve(StaticOrigin origin, PrintStream out) throws Exception {
    OriginConfig config = OriginConfig.builder().userAgent("lazydir/" + Cli.version()).build();
    StoreLayout layout = StoreLayout.defaultFor(dir);
    // The origin is new each run: so is the demo's store. Only a store an earlier demo made and no serve
    // holds is removed; anything else is refused before a thing changes.
    layout.removeDemoStore();
    layout.create();
    layout.markAsDemo();
    // The default serve: the whole namespace is listed before ready.
    Access invoker = new AccessOptions().toAccess(System.getenv()).withFileMode(0755);
    long t0 = System.nanoTime();
    try (ServeSession served = ServeSession.start(origin.url(), config, dir, layout, 4 << 20, 4,
        NamespaceCrawl.DEFAULT_MAX_DEPTH, true, invoker, 64 << 10, null)) {
      Path v = served.view();
      String mode = served.awaitNamespace(out, false, () -> false);
      out.println("ready " + v + " (" + mode + ") in " + (System.nanoTime() - t0) / 1_000_000 + " ms  (store: "
          + layout.store() + ")");
      out.println();
      step(out, "ls -l " + v, "files are stubs with the origin's size and time, filled when read");
      step(out, "tar tzf " + v + "/archive/sample.tar.gz | head -3", "streams: the first entries need only the first bytes");
      step(out, "sha256sum " + v + "/data/random.bin", "cold: fetched in segments while being read");
      step(out, "sha256sum " + v + "/data/random.bin", "warm: now a plain local file, no daemon in the path");
      step(out, v + "/bin/hello.sh", "programs run from the view");
      step(out, "cat " + v + "/deep/a/b/c/d/e/f/g/h/treasure.txt", "eight levels down, and nothing opened before");
      step(out, "echo change >> " + v + "/README.txt", "the view is read-only");
      Thread.sleep(1500); // fetched segments are recorded on disk once a second; status reads what is recorded
      TreeStatus t = TreeStatus.of(layout.tree());
      out.println("status: " + t.filesComplete() + " files populated, " + t.filesPartial() + " partial, " + t.filesStub()
          + " stubs; " + (t.bytesPresent() >> 20) + " of " + (t.bytesTotal() >> 20) + " MiB local"
          + "  (lazydir status " + v + " shows the same)");
      out.println();
      if (waitForSignal || System.console() != null) {
        Signals.awaitTermination(() -> out.println(v + " stays live: try it from another shell; Ctrl-C stops the demo."));
      }
      out.println("stopping: " + v + " is unmounted, the store stays in " + layout.store());
    }
    return ExitCodes.OK;
  }

  private int crawl(StaticOrigin origin, PrintStream out) throws IOException {
    try (OriginClient client = new OriginClient(OriginConfig.builder().userAgent("lazydir/" + Cli.version()).build(), origin.url());
        Crawler crawler = new Crawler(client, Integer.MAX_VALUE, 4, Progress.NONE, Clock.systemUTC())) {
      CrawlReport report = crawler.crawl(origin.url(), dir);
      out.println("crawl:  " + report.summary());
      out.println("Try: ls -lR " + dir + "; du -sh " + dir + " (stubs hold no data)");
      return report.warnings() > 0 ? ExitCodes.PARTIAL : ExitCodes.OK;
    }
  }

  /** Why this machine cannot serve (null if it can). */
  private static String serveUnavailable() {
    if (!"root".equals(System.getProperty("user.name"))) {
      return "lazydir serve needs root (CAP_SYS_ADMIN for fanotify pre-content groups and mounts)";
    }
    try (var g = dev.lazydir.fanotify.FanotifyGroup.open(dev.lazydir.fanotify.FanotifyGroup.DEFAULT_INIT_FLAGS,
        dev.lazydir.fanotify.FanotifyGroup.DEFAULT_EVENT_FILE_FLAGS)) {
      return null;
    } catch (IOException e) {
      return "this kernel has no fanotify pre-content events (Linux 6.14+ needed): " + e.getMessage();
    }
  }

  /** Runs one shell command of the tour through the view and shows its output and time. */
  private static void step(PrintStream out, String command, String why) throws Exception {
    out.println("$ " + command + "    # " + why);
    long t0 = System.nanoTime();
    Process p = new ProcessBuilder("bash", "-c", command).redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
    }
    long ms = (System.nanoTime() - t0) / 1_000_000;
    List<String> lines = output.lines().toList();
    lines.stream().limit(12).forEach(l -> out.println("  " + l));
    if (lines.size() > 12) {
      out.println("  ... (" + (lines.size() - 12) + " more lines)");
    }
    out.println("  [" + ms + " ms, exit " + p.exitValue() + "]");
  }

  private static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
