package dev.lazydir.cli;

import dev.lazydir.serve.StoreLayout;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(name = "wait", mixinStandardHelpOptions = true,
    description = {"Wait until every directory of a served DIR is listed (the crawl of `serve --lazy-dirs"
        + " --crawl`, or the one before ready). Exits 0 once the namespace is complete; 1 if the crawl ended"
        + " incomplete (it says what is missing), DIR is not served, nothing crawls it, or --timeout passes."},
    footer = {"", ExitCodes.HELP})
final class WaitCommand implements Callable<Integer> {
  private static final long POLL_MS = 100;

  @ParentCommand
  LazydirCommand parent;

  @Mixin
  ServedView view = new ServedView();

  @Option(names = "--timeout", paramLabel = "SECONDS", description = "give up after this long (0: never; default: ${DEFAULT-VALUE})")
  double timeout = 0;

  @Override
  public Integer call() throws Exception {
    if (timeout < 0) {
      throw new IllegalArgumentException("--timeout must be 0 (no limit) or more seconds, not " + timeout);
    }
    StoreLayout layout = view.layout();
    Path dir = view.dir;
    long deadline = timeout == 0 ? Long.MAX_VALUE : System.nanoTime() + (long) (timeout * 1e9);
    // The daemon writes its state every second: a state file seen once without a live daemon is a stop.
    for (;;) {
      Map<String, String> state = StatusCommand.parse(layout.readState());
      long pid = Long.parseLong(state.getOrDefault("pid", "-1"));
      if (pid <= 0 || !ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
        parent.err().println("lazydir: " + dir + " is not served (no running lazydir serve for the store "
            + layout.store() + "; pass --store if serve was given one)");
        return ExitCodes.ERROR;
      }
      String crawl = state.getOrDefault("crawl", "off");
      String dirs = state.getOrDefault("crawl_dirs", "0");
      switch (crawl) {
        case "complete" -> {
          parent.out().println("namespace complete: " + dirs + " directories");
          return ExitCodes.OK;
        }
        case "incomplete" -> {
          parent.err().println("lazydir: the crawl of " + dir + " ended incomplete after " + dirs + " directories: "
              + state.getOrDefault("crawl_incomplete", "see the daemon's log") + "; those directories are listed"
              + " when opened");
          return ExitCodes.ERROR;
        }
        case "off" -> {
          parent.err().println("lazydir: nothing lists the whole namespace of " + dir + ": it is served with"
              + " --lazy-dirs and without --crawl, so each directory is listed when first opened");
          return ExitCodes.ERROR;
        }
        default -> {
          if (System.nanoTime() > deadline) {
            parent.err().println("lazydir: " + dir + " is still being listed after " + timeout + " s (" + dirs
                + " directories so far)");
            return ExitCodes.ERROR;
          }
          Thread.sleep(POLL_MS);
        }
      }
    }
  }
}
