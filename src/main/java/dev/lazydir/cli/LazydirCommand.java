package dev.lazydir.cli;

import java.io.PrintStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "lazydir", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class,
    description = {"A local directory that fills itself from an HTTP directory tree, lazily, without FUSE."},
    subcommands = {CrawlCommand.class, ServeCommand.class, DemoCommand.class},
    footer = {"", ExitCodes.HELP})
final class LazydirCommand {
  @Option(names = {"-v", "--verbose"}, description = "more messages (-vv: debug)", scope = picocli.CommandLine.ScopeType.INHERIT)
  boolean[] verbose = new boolean[0];

  @Option(names = {"-q", "--quiet"}, description = "errors only", scope = picocli.CommandLine.ScopeType.INHERIT)
  boolean quiet;

  private final PrintStream out;

  LazydirCommand(PrintStream out) {
    this.out = out;
  }

  PrintStream out() {
    return out;
  }
}
