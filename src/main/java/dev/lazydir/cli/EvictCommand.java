package dev.lazydir.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "evict", mixinStandardHelpOptions = true,
    description = {"Drop the fetched bytes of each PATH (a file, or every file below a directory) in a served view now; a file open for reading is kept. Its next read fetches again. Asks the running serve (root)."},
    footer = {"", ExitCodes.HELP})
final class EvictCommand implements Callable<Integer> {
  @ParentCommand
  LazydirCommand parent;

  @Parameters(arity = "1..*", paramLabel = "PATH", description = "paths inside a view served by lazydir serve")
  List<Path> paths;

  @Override
  public Integer call() throws Exception {
    for (Path path : paths) {
      parent.out().println(path + ": " + ViewPath.ask("evict", path));
    }
    return ExitCodes.OK;
  }
}
