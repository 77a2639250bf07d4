package dev.lazydir.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.logging.Logger;
import okhttp3.HttpUrl;
import picocli.CommandLine;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParameterException;

/**
 * Runs a lazydir command line and maps every failure to a one-line message and an exit code. A usage error is one
 * line naming the option (and the config file and line it came from) plus a hint where the full help is; the help
 * itself only on --help.
 */
public final class Cli {
  private static final Logger LOG = Logger.getLogger("dev.lazydir");

  private Cli() {}

  /** Runs {@code args} with the given streams; returns the exit code (see {@link ExitCodes}). */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    return run(args, out, err, System.getenv());
  }

  /** As above, with the environment that locates the default config files. */
  static int run(String[] args, PrintStream out, PrintStream err, Map<String, String> env) {
    LazydirCommand top = new LazydirCommand(out, err);
    top.args = args.clone();
    CommandLine cl = new CommandLine(top);
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    cl.setOverwrittenOptionsAllowed(true); // --config values first, the command line's own win
    ConfigFile.Expanded expanded;
    try {
      expanded = ConfigFile.expand(args, Set.copyOf(cl.getSubcommands().keySet()), env,
          name -> cl.getSubcommands().get(name).getCommandSpec());
    } catch (IOException e) {
      err.println("lazydir: " + e.getMessage());
      return ExitCodes.USAGE;
    }
    Map<String, ConfigFile.Entry> sources = expanded.sources();
    cl.setExecutionStrategy(parseResult -> {
      top.verbosity = verbosity(top, parseResult);
      // serve --daemon's child says everything up to ready on stderr (its caller passes it on), then logs to the file
      if (top.logFile != null && System.getenv(ServeCommand.DAEMON_CHILD_ENV) == null) {
        try {
          top.useErr(Logging.toFile(top.verbosity, top.quiet, top.logFile));
        } catch (IOException e) {
          throw new IllegalArgumentException("--log-file " + top.logFile + ": " + e.getMessage());
        }
      } else {
        Logging.configure(top.verbosity, top.quiet, err);
      }
      return new CommandLine.RunLast().execute(parseResult);
    });
    cl.setParameterExceptionHandler((ex, ignoredArgs) -> {
      String message = ex.getMessage();
      if (ex instanceof CommandLine.UnmatchedArgumentException u) {
        for (String arg : u.getUnmatched()) {
          String why = HttpdirfsOptions.refusal(arg);
          if (why != null) {
            message = why;
            break;
          }
        }
      }
      String where = whereOf(ex.getArgSpec(), sources);
      CommandLine sub = ex.getCommandLine();
      err.println("lazydir: " + (where == null ? "" : where + ": ") + message);
      err.println("see " + sub.getCommandSpec().qualifiedName() + " --help");
      return ExitCodes.USAGE;
    });
    cl.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
      PrintStream to = top.err();
      if (e instanceof IllegalArgumentException) {
        String where = whereOf(e.getMessage(), sources);
        to.println("lazydir: " + (where == null ? "" : where + ": ") + e.getMessage());
        to.println("see " + commandLine.getCommandSpec().qualifiedName() + " --help");
        return ExitCodes.USAGE;
      }
      to.println("lazydir: error: " + sentence(e));
      LOG.log(java.util.logging.Level.FINE, "details", e);
      return ExitCodes.ERROR;
    });
    return cl.execute(expanded.args());
  }

  /** -v count; serve's -d (httpdirfs' debug) counts as -vv. */
  private static int verbosity(LazydirCommand top, CommandLine.ParseResult parsed) {
    CommandLine.ParseResult sub = parsed.subcommand();
    boolean debug = sub != null && sub.hasMatchedOption("-d");
    return Math.max(top.verbose.length, debug ? 2 : 0);
  }

  /** "FILE:LINE" of the config line the option came from, if it came from one (and not the command line). */
  private static String whereOf(ArgSpec spec, Map<String, ConfigFile.Entry> sources) {
    if (spec instanceof OptionSpec o) {
      for (String name : o.names()) {
        ConfigFile.Entry e = sources.get(name);
        if (e != null) {
          return e.where();
        }
      }
    }
    return null;
  }

  /** The same for a message that starts with the option's name ("--retries must be at least 1"). */
  private static String whereOf(String message, Map<String, ConfigFile.Entry> sources) {
    if (message == null || !message.startsWith("-")) {
      return null;
    }
    int end = 0;
    while (end < message.length() && (Character.isLetterOrDigit(message.charAt(end)) || message.charAt(end) == '-')) {
      end++;
    }
    ConfigFile.Entry e = sources.get(message.substring(0, end));
    return e == null ? null : e.where();
  }

  /** A failure as one sentence: file errors name the file and what is wrong with it, never a bare path. */
  static String sentence(Exception e) {
    if (e instanceof NoSuchFileException f) {
      return f.getFile() + ": no such file or directory" + (f.getReason() == null ? "" : " (" + f.getReason() + ")");
    }
    if (e instanceof AccessDeniedException f) {
      return f.getFile() + ": permission denied";
    }
    if (e instanceof NotDirectoryException f) {
      return f.getFile() + ": not a directory";
    }
    if (e instanceof FileSystemException f && f.getReason() != null) {
      return f.getFile() + ": " + f.getReason();
    }
    return e.getMessage() == null ? e.toString() : e.getMessage();
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
      return Platform.describe("lazydir " + version()).toArray(String[]::new);
    }
  }
}
