package dev.lazydir.cli;

import dev.lazydir.serve.StoreLayout;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * Stops the serve of a DIR (one started with --daemon, or in another terminal) as SIGTERM would: pending readers are
 * answered, DIR is unmounted, the store stays. The pid comes from the store's state and is trusted only while that
 * serve holds the store's lock and the process is a JVM running lazydir; returns once it has exited.
 */
@Command(name = "stop", mixinStandardHelpOptions = true,
    description = {"Stop the lazydir serve of DIR cleanly (as SIGTERM: readers answered, DIR unmounted, the store"
        + " kept) and wait until it has exited."},
    footer = {"", ExitCodes.HELP})
final class StopCommand implements Callable<Integer> {
  @ParentCommand
  LazydirCommand parent;

  @Mixin
  ServedView view = new ServedView();

  @Option(names = "--timeout", paramLabel = "SECONDS", description = "give up waiting after this long (default: ${DEFAULT-VALUE})")
  double timeout = 60;

  @Override
  public Integer call() throws Exception {
    if (!(timeout > 0)) {
      throw new IllegalArgumentException("--timeout must be more than 0 seconds, not " + timeout);
    }
    StoreLayout layout = view.layout();
    Optional<String> locked = layout.servingPidIfLocked();
    Map<String, String> state = StatusCommand.parse(layout.readState());
    long pid = parsePid(state.getOrDefault("pid", locked.orElse("-1")));
    Optional<ProcessHandle> serve = locked.isPresent() && pid > 0 ? ProcessHandle.of(pid) : Optional.empty();
    if (serve.isEmpty() || !serve.get().isAlive() || !isLazydir(serve.get())) {
      parent.err().println("lazydir: " + view.dir + " is not served (no running lazydir serve holds the store "
          + layout.store() + "; pass --store if serve was given one)");
      return ExitCodes.ERROR;
    }
    if (!serve.get().destroy()) { // SIGTERM: the serve's clean stop
      parent.err().println("lazydir: error: cannot signal the serve of " + view.dir + " (pid " + pid + "); run lazydir"
          + " stop as the user running it (root, usually: sudo lazydir stop " + view.dir + ")");
      return ExitCodes.ERROR;
    }
    try {
      serve.get().onExit().get((long) (timeout * 1000), java.util.concurrent.TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      parent.err().println("lazydir: error: the serve of " + view.dir + " (pid " + pid + ") has not stopped after "
          + timeout + " s; it is still answering readers (see its log), or run kill " + pid);
      return ExitCodes.ERROR;
    }
    parent.out().println("stopped " + view.dir + " (pid " + pid + ")");
    return ExitCodes.OK;
  }

  private static long parsePid(String s) {
    try {
      return Long.parseLong(s.strip());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** A pid from a state file may have been reused: only a process running lazydir's main class is signalled. */
  private static boolean isLazydir(ProcessHandle p) {
    try {
      String cmdline = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/" + p.pid() + "/cmdline"));
      return cmdline.contains("dev.lazydir") || cmdline.contains("lazydir");
    } catch (java.io.IOException e) {
      return false;
    }
  }
}
