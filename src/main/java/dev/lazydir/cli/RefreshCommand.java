package dev.lazydir.cli;

import dev.lazydir.internal.posix.Fd;
import dev.lazydir.serve.ControlSocket;
import dev.lazydir.serve.StoreLayout;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * Asks a running serve to revalidate listings and file versions now, ahead of --refresh-timeout, over the
 * store's control socket (see dev.lazydir.serve.ControlSocket): the daemon does the work, so the listing is the
 * one its openers share and the view changes as a re-listing changes it; the command waits for the summary.
 */
@Command(name = "refresh", mixinStandardHelpOptions = true,
    description = {"Revalidate the listings and file versions of a served DIR now, ahead of --refresh-timeout:"
        + " every listed directory below each PATH (default: all of DIR) is asked for again (a listing that has not"
        + " changed costs no parsing), and every file with bytes on disk is asked for its version (one HEAD each);"
        + " a changed file is replaced by a stub of its new version (readers holding the old one keep its bytes)."
        + " Prints what changed."},
    footer = {"", ExitCodes.HELP})
final class RefreshCommand implements Callable<Integer> {
  @ParentCommand
  LazydirCommand parent;

  @Mixin
  ServedView view = new ServedView();

  @Parameters(index = "1..*", paramLabel = "PATH",
      description = "files or directories inside DIR (absolute, or relative to the current directory)")
  List<Path> paths = new ArrayList<>();

  @Override
  public Integer call() throws Exception {
    StoreLayout layout = view.layout();
    Map<String, String> state = StatusCommand.parse(layout.readState());
    long pid = Long.parseLong(state.getOrDefault("pid", "-1"));
    if (pid <= 0 || !ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
      return notServed(layout);
    }
    Path viewPath = Path.of(state.getOrDefault("view", view.dir.toAbsolutePath().normalize().toString()));
    List<String> relative = new ArrayList<>();
    for (Path p : paths) {
      Path abs = p.toAbsolutePath().normalize();
      if (!abs.startsWith(viewPath)) {
        throw new IllegalArgumentException(p + " is not inside the view " + viewPath
            + "; give paths inside it, or none to refresh all of it");
      }
      relative.add(viewPath.relativize(abs).toString());
    }
    List<String> answer;
    try (Fd run = layout.openRunDirectory()) {
      answer = ControlSocket.ask(run, "refresh", relative);
    } catch (ControlSocket.NotServedException e) {
      return notServed(layout);
    } catch (IOException e) {
      parent.err().println("lazydir: " + e.getMessage()); // the daemon's error, or its end before it answered
      return ExitCodes.ERROR;
    }
    boolean complete = true;
    for (String line : answer) {
      if (line.startsWith("summary ")) {
        parent.out().println(line.substring("summary ".length()));
      } else if (line.startsWith("complete ")) {
        complete = Boolean.parseBoolean(line.substring("complete ".length()));
      }
    }
    return complete ? ExitCodes.OK : ExitCodes.PARTIAL;
  }

  private int notServed(StoreLayout layout) {
    parent.err().println("lazydir: " + view.dir + " is not served (no running lazydir serve for the store "
        + layout.store() + "; pass --store if serve was given one)");
    return ExitCodes.ERROR;
  }
}
