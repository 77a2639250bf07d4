package dev.lazydir.cli;

import java.io.PrintStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "lazydir", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class,
    description = {"A local directory that fills itself from an HTTP directory tree, lazily, without FUSE."},
    subcommands = {CrawlCommand.class, ServeCommand.class, StopCommand.class, IndexCommand.class, PopulateCommand.class, StatusCommand.class, WaitCommand.class, RefreshCommand.class, EvictCommand.class, PinCommand.class, UnpinCommand.class,
        DemoCommand.class},
    footer = {"", ExitCodes.HELP})
final class LazydirCommand {

  @Option(names = {"-v", "--verbose"}, description = "more messages (-vv: debug)", scope = picocli.CommandLine.ScopeType.INHERIT)
  boolean[] verbose = new boolean[0];

  @Option(names = {"-q", "--quiet"}, description = "errors only", scope = picocli.CommandLine.ScopeType.INHERIT)
  boolean quiet;

  @Option(names = "--log-file", paramLabel = "PATH", scope = picocli.CommandLine.ScopeType.INHERIT,
      description = "append messages (with -v/-vv, and errors) to PATH instead of stderr")
  java.nio.file.Path logFile;

  /** The command line as given (before --config expansion), for serve --daemon to start itself again. */
  String[] args = new String[0];
  /** -v count in force (serve's -d counts as -vv). */
  int verbosity;

  private final PrintStream out;
  private PrintStream err;

  /** For tools that build the command by reflection (picocli's AutoComplete, {@link Docs}): the process's streams. */
  LazydirCommand() {
    this(System.out, System.err);
  }

  LazydirCommand(PrintStream out, PrintStream err) {
    this.out = out;
    this.err = err;
  }

  PrintStream out() {
    return out;
  }

  PrintStream err() {
    return err;
  }

  /** Where the command's own messages go from now on (--log-file). */
  void useErr(PrintStream to) {
    err = to;
  }
}
