package dev.lazydir.cli;

import dev.lazydir.internal.posix.Fd;
import dev.lazydir.serve.ControlSocket;
import dev.lazydir.serve.StoreLayout;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
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
    try (Fd run = layout.openRunDirectory();
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      try {
        ch.connect(ControlSocket.address(run));
      } catch (IOException e) {
        return notServed(layout);
      }
      OutputStream out = Channels.newOutputStream(ch);
      StringBuilder request = new StringBuilder("refresh\0");
      relative.forEach(r -> request.append(r).append('\0'));
      out.write(request.toString().getBytes(StandardCharsets.UTF_8));
      out.flush();
      ch.shutdownOutput();
      answer = new ArrayList<>();
      BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch), StandardCharsets.UTF_8));
      for (String line; (line = in.readLine()) != null; ) {
        answer.add(line);
      }
    }
    boolean complete = true;
    for (String line : answer) {
      if (line.startsWith("summary ")) {
        parent.out().println(line.substring("summary ".length()));
      } else if (line.startsWith("complete ")) {
        complete = Boolean.parseBoolean(line.substring("complete ".length()));
      } else if (line.startsWith("error ")) {
        parent.err().println("lazydir: " + line.substring("error ".length()));
        return ExitCodes.ERROR;
      } else if (line.equals("ok")) {
        return complete ? ExitCodes.OK : ExitCodes.PARTIAL;
      }
    }
    parent.err().println("lazydir: the serve of " + view.dir + " stopped before the refresh was done");
    return ExitCodes.ERROR;
  }

  private int notServed(StoreLayout layout) {
    parent.err().println("lazydir: " + view.dir + " is not served (no running lazydir serve for the store "
        + layout.store() + "; pass --store if serve was given one)");
    return ExitCodes.ERROR;
  }
}
