package dev.lazydir.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * Makes deep paths of a served view appear. Linux has no lookup event, so the daemon cannot see
 * {@code stat DIR/a/b/c}; but it sees every directory being opened. This command opens each ancestor in turn
 * (each open lists that directory), and with --content reads files through the view (each read fetches).
 */
@Command(name = "populate", mixinStandardHelpOptions = true,
    description = {"List every ancestor of each PATH inside a served view (so deep paths appear), and with"
        + " --content fetch the content of each PATH (every file below it, for a directory)."},
    footer = {"", ExitCodes.HELP})
final class PopulateCommand implements Callable<Integer> {
  @ParentCommand
  LazydirCommand parent;

  @Parameters(arity = "1..*", paramLabel = "PATH", description = "paths inside a view served by lazydir serve")
  List<Path> paths;

  @Option(names = "--content", description = "also fetch the content of files (through the view)")
  boolean content;

  @Override
  public Integer call() throws Exception {
    PrintStream out = parent.out();
    boolean terminal = System.console() != null;
    int missing = 0;
    for (Path path : paths) {
      Path abs = path.toAbsolutePath().normalize();
      if (!reach(abs)) {
        parent.err().println("lazydir: " + path + ": no such file or directory at the origin");
        missing++;
        continue;
      }
      if (content) {
        if (Files.isDirectory(abs)) {
          try (Stream<Path> walk = Files.walk(abs)) {
            for (Path p : (Iterable<Path>) walk::iterator) {
              if (Files.isRegularFile(p)) {
                fetch(p, out, terminal);
              }
            }
          }
        } else {
          fetch(abs, out, terminal);
        }
      } else if (Files.isDirectory(abs)) {
        list(abs);
      }
      out.println("populated " + path);
    }
    return missing > 0 ? ExitCodes.PARTIAL : ExitCodes.OK;
  }

  /** Opens each ancestor from the top (listing it); true if the full path then exists. */
  private static boolean reach(Path abs) throws IOException {
    Path current = abs.getRoot();
    for (Path part : abs) {
      if (Files.isDirectory(current)) {
        list(current);
      }
      current = current.resolve(part);
      if (!Files.exists(current)) {
        return false;
      }
    }
    return true;
  }

  private static void list(Path dir) throws IOException {
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      entries.forEach(e -> { });
    } catch (NoSuchFileException e) {
      // vanished meanwhile: the caller's exists() check reports it
    }
  }

  private static void fetch(Path file, PrintStream out, boolean terminal) throws IOException {
    long size = Files.size(file);
    long done = 0;
    long lastDraw = 0;
    byte[] buf = new byte[1 << 20];
    try (InputStream in = Files.newInputStream(file)) {
      for (int n; (n = in.read(buf)) > 0; ) {
        done += n;
        long now = System.nanoTime();
        if (terminal && now - lastDraw > 100_000_000L) {
          lastDraw = now;
          out.print("\r\033[K" + file.getFileName() + ": " + (size == 0 ? 100 : done * 100 / size) + "% ("
              + (done >> 20) + " of " + (size >> 20) + " MiB)");
          out.flush();
        }
      }
    }
    if (terminal) {
      out.print("\r\033[K");
    }
  }
}
