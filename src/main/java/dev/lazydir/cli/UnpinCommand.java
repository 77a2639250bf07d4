package dev.lazydir.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "unpin", mixinStandardHelpOptions = true,
    description = {"Let PATH (a file, or every file below a directory) be evicted again. Asks the running serve (root)."},
    footer = {"", ExitCodes.HELP})
final class UnpinCommand implements Callable<Integer> {
  @ParentCommand
  LazydirCommand parent;

  @Parameters(arity = "1..*", paramLabel = "PATH", description = "paths inside a view served by lazydir serve")
  List<Path> paths;

  @Override
  public Integer call() throws Exception {
    for (Path path : paths) {
      parent.out().println(path + ": " + ViewPath.ask("unpin", path));
    }
    return ExitCodes.OK;
  }
}
