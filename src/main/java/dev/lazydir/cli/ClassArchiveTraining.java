package dev.lazydir.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The run whose loaded classes become the class-data-sharing archive the launcher maps at every start
 * ({@code LAZYDIR_CDS=dump lazydir}, run by {@code mvn package} and by the Docker image's build). A JVM spends most
 * of a short command's time reading, parsing and verifying classes from the jar; with the archive they are mapped
 * ready-made. So this run loads what the commands load: every command's options (each one's help), the short
 * commands' failure paths on a directory that is no view, and the serving path (the daemon's warm-up, which lists
 * and fills stubs in a scratch directory against an origin on a loopback socket of its own). Needs no privilege and
 * touches nothing but a scratch directory it removes; prints nothing.
 */
public final class ClassArchiveTraining {
  private ClassArchiveTraining() {}

  public static void main(String[] args) throws IOException, InterruptedException {
    PrintStream quiet = new PrintStream(OutputStream.nullOutputStream(), true, "UTF-8");
    Path scratch = Files.createTempDirectory("lazydir-cds-training");
    try {
      for (String command : new String[] {"serve", "crawl", "status", "populate", "wait", "index", "demo"}) {
        Cli.run(new String[] {command, "--help"}, quiet, quiet);
      }
      Cli.run(new String[] {"--help"}, quiet, quiet);
      Cli.run(new String[] {"--version"}, quiet, quiet);
      String notAView = scratch.toString();
      Cli.run(new String[] {"status", notAView}, quiet, quiet);
      Cli.run(new String[] {"status", "--json", notAView}, quiet, quiet);
      Cli.run(new String[] {"wait", "--timeout", "0", notAView}, quiet, quiet);
      Cli.run(new String[] {"populate", notAView}, quiet, quiet);
      Thread warmUp = dev.lazydir.serve.Daemon.warmUp(scratch.resolve("warm-up"));
      warmUp.join(60_000);
    } finally {
      try (var all = Files.walk(scratch)) {
        all.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
    System.exit(0);
  }
}
