package dev.lazydir.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * evict, pin and unpin: one control command, sent for each PATH to the serve whose view holds it (see
 * {@link ViewPath}), whose answer is printed beside the path.
 */
abstract class ViewPathCommand implements Callable<Integer> {
  @ParentCommand
  LazydirCommand parent;

  @Parameters(arity = "1..*", paramLabel = "PATH", description = "paths inside a view served by lazydir serve")
  List<Path> paths;

  /** The control socket's name of the command. */
  abstract String command();

  @Override
  public Integer call() throws Exception {
    for (Path path : paths) {
      parent.out().println(path + ": " + ViewPath.ask(command(), path));
    }
    return ExitCodes.OK;
  }
}
