package dev.lazydir.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.Properties;
import java.util.Set;
import java.util.logging.Logger;
import okhttp3.HttpUrl;
import picocli.CommandLine;
import picocli.CommandLine.IVersionProvider;

/** Runs a lazydir command line and maps every failure to a one-line message and an exit code. */
public final class Cli {
  private static final Logger LOG = Logger.getLogger("dev.lazydir");

  private Cli() {}

  /** Runs {@code args} with the given streams; returns the exit code (see {@link ExitCodes}). */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    LazydirCommand top = new LazydirCommand(out, err);
    CommandLine cl = new CommandLine(top);
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    cl.setOverwrittenOptionsAllowed(true); // --config values first, the command line's own win
    cl.setExecutionStrategy(parseResult -> {
      Logging.configure(top.verbose.length, top.quiet, err);
      return new CommandLine.RunLast().execute(parseResult);
    });
    cl.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
      if (e instanceof IllegalArgumentException) {
        err.println("lazydir: " + e.getMessage());
        return ExitCodes.USAGE;
      }
      String message = e.getMessage() == null ? e.toString() : e.getMessage();
      err.println("lazydir: error: " + message);
      LOG.log(java.util.logging.Level.FINE, "details", e);
      return ExitCodes.ERROR;
    });
    String[] expanded;
    try {
      expanded = ConfigFile.expand(args, Set.copyOf(cl.getSubcommands().keySet()));
    } catch (IOException e) {
      err.println("lazydir: --config: " + e.getMessage());
      return ExitCodes.USAGE;
    }
    return cl.execute(expanded);
  }

  static HttpUrl parseUrl(String url) {
    HttpUrl parsed = HttpUrl.parse(url);
    if (parsed == null) {
      throw new IllegalArgumentException("not an http(s) URL: " + url);
    }
    return parsed;
  }

  static String version() {
    Properties p = new Properties();
    try (InputStream in = Cli.class.getResourceAsStream("/dev/lazydir/version.properties")) {
      if (in != null) {
        p.load(in);
      }
    } catch (IOException e) {
      // fall through to "unknown"
    }
    return p.getProperty("version", "unknown");
  }

  static final class Version implements IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"lazydir " + version()};
    }
  }
}
