package dev.lazydir.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "pin", mixinStandardHelpOptions = true,
    description = {"Never evict PATH (a file, or every file below a directory) from a served view, whatever the cache bounds. Asks the running serve (root)."},
    footer = {"", ExitCodes.HELP})
final class PinCommand implements Callable<Integer> {
  @ParentCommand
  LazydirCommand parent;

  @Parameters(arity = "1..*", paramLabel = "PATH", description = "paths inside a view served by lazydir serve")
  List<Path> paths;

  @Override
  public Integer call() throws Exception {
    for (Path path : paths) {
      parent.out().println(path + ": " + ViewPath.ask("pin", path));
    }
    return ExitCodes.OK;
  }
}
