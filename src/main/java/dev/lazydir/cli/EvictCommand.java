package dev.lazydir.cli;

import picocli.CommandLine.Command;

@Command(name = "evict", mixinStandardHelpOptions = true,
    description = {"Drop the fetched bytes of each PATH (a file, or every file below a directory) in a served view now; a file open for reading is kept. Its next read fetches again. Asks the running serve (root)."},
    footer = {"", ExitCodes.HELP})
final class EvictCommand extends ViewPathCommand {
  @Override
  String command() {
    return "evict";
  }
}
