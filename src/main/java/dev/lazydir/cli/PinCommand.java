package dev.lazydir.cli;

import picocli.CommandLine.Command;

@Command(name = "pin", mixinStandardHelpOptions = true,
    description = {"Never evict PATH (a file, or every file below a directory) from a served view, whatever the cache bounds. Asks the running serve (root)."},
    footer = {"", ExitCodes.HELP})
final class PinCommand extends ViewPathCommand {
  @Override
  String command() {
    return "pin";
  }
}
