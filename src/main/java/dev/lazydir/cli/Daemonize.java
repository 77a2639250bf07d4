package dev.lazydir.cli;

import dev.lazydir.serve.StoreLayout;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * serve --daemon, as httpdirfs users expect a mount to behave: the same serve is started again as a child in a
 * session of its own (setsid; stdin /dev/null), and this process returns once the child says ready, passing on what
 * it said until then (a refused start is reported here, with its exit code). From ready on the child writes only to
 * its log (--log-file, or STORE/run/serve.log) and keeps serving until lazydir stop DIR (or SIGTERM).
 */
final class Daemonize {
  private Daemonize() {}

  /** In the caller: starts the child and waits for its ready line or its exit. */
  static int run(LazydirCommand top, StoreLayout layout, Path dir) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    Path setsid = Path.of("/usr/bin/setsid");
    if (Files.isExecutable(setsid)) {
      cmd.add(setsid.toString()); // a session of its own: no SIGHUP when the terminal closes
    }
    cmd.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java")
        .toString()));
    cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(Main.class.getName());
    for (String a : top.args) {
      if (!a.equals("--daemon")) {
        cmd.add(a);
      }
    }
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    pb.environment().put(ServeCommand.DAEMON_CHILD_ENV, "1");
    Process child = pb.start();
    Thread relay = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(child.getErrorStream(), StandardCharsets.UTF_8))) {
        for (String line; (line = r.readLine()) != null; ) {
          top.err().println(line);
        }
      } catch (IOException e) {
        // the child let go of its stderr: it is detached
      }
    }, "lazydir-daemon-relay");
    relay.setDaemon(true);
    relay.start();
    BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
    for (String line; (line = out.readLine()) != null; ) {
      top.out().println(line);
      if (line.startsWith("ready ")) {
        top.out().println("serving in the background as pid " + child.pid() + " (log: " + logOf(top, layout)
            + "); stop it with: lazydir stop" + (hasStore(top.args) ? " --store " + layout.store() : "") + " " + dir);
        top.out().flush();
        return ExitCodes.OK;
      }
    }
    int exit = child.waitFor();
    relay.join(2000);
    return exit == 0 ? ExitCodes.ERROR : exit; // ended without ready: it said why on stderr
  }

  private static boolean hasStore(String[] args) {
    for (String a : args) {
      if (a.equals("--store") || a.startsWith("--store=") || a.equals("--cache-location") || a.startsWith("--cache-location=")) {
        return true;
      }
    }
    return false;
  }

  static Path logOf(LazydirCommand top, StoreLayout layout) {
    return top.logFile != null ? top.logFile.toAbsolutePath() : layout.run().resolve(ServeCommand.DEFAULT_DAEMON_LOG);
  }

  /**
   * In the child, right after its ready line: from now on its messages go to the log (its stdout and stderr were
   * the caller's pipes, which close when the caller returns). Returns the stream for the command's own lines.
   */
  static PrintStream detach(LazydirCommand top, StoreLayout layout) {
    try {
      PrintStream log = Logging.toFile(top.verbosity, top.quiet, logOf(top, layout));
      top.useErr(log);
      System.setOut(log);
      System.setErr(log);
      return log;
    } catch (IOException | RuntimeException e) {
      return top.out(); // keep serving; its lines are lost with the caller's pipe
    }
  }
}
