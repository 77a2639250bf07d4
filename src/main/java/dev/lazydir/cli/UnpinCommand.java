package dev.lazydir.cli;

import picocli.CommandLine.Command;

@Command(name = "unpin", mixinStandardHelpOptions = true,
    description = {"Let PATH (a file, or every file below a directory) be evicted again. Asks the running serve (root)."},
    footer = {"", ExitCodes.HELP})
final class UnpinCommand extends ViewPathCommand {
  @Override
  String command() {
    return "unpin";
  }
}
