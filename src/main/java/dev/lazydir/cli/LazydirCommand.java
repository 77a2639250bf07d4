package dev.lazydir.cli;

import java.io.PrintStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "lazydir", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class,
    description = {"A local directory that fills itself from an HTTP directory tree, lazily, without FUSE."},
    subcommands = {CrawlCommand.class, ServeCommand.class, IndexCommand.class, PopulateCommand.class, StatusCommand.class, WaitCommand.class, EvictCommand.class, PinCommand.class, UnpinCommand.class,
        DemoCommand.class},
    footer = {"", ExitCodes.HELP})
final class LazydirCommand {
  @Option(names = {"-v", "--verbose"}, description = "more messages (-vv: debug)", scope = picocli.CommandLine.ScopeType.INHERIT)
  boolean[] verbose = new boolean[0];

  @Option(names = {"-q", "--quiet"}, description = "errors only", scope = picocli.CommandLine.ScopeType.INHERIT)
  boolean quiet;

  private final PrintStream out;
  private final PrintStream err;

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
}
