package dev.lazydir.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.StreamHandler;

/**
 * One line per message, with its time and level: "2026-11-29 23:10:05.123 WARN message". Verbosity: warnings (and
 * errors), -v info (a line per listing and per fetch), -vv debug, -vvv every event; -q errors only. Lines go to stderr,
 * or to the file --log-file names (appended; a daemon's log).
 */
final class Logging {
  private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSS");

  private Logging() {}

  static void configure(int verbosity, boolean quiet, PrintStream err) {
    install(verbosity, quiet, err);
  }

  /** Sends the log to {@code file} (appended, created 0600 if missing); returns the stream, for the command's own errors. */
  static PrintStream toFile(int verbosity, boolean quiet, Path file) throws IOException {
    Path parent = file.toAbsolutePath().getParent();
    if (parent != null && !Files.isDirectory(parent)) {
      throw new IllegalArgumentException("--log-file " + file + ": the directory " + parent + " does not exist;"
          + " create it or give another path");
    }
    if (!Files.exists(file)) {
      try {
        Files.createFile(file, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
            java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
      } catch (java.nio.file.FileAlreadyExistsException raced) {
        // appended to below
      }
    }
    OutputStream out;
    try {
      out = Files.newOutputStream(file, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
    } catch (java.nio.file.AccessDeniedException e) {
      throw new IllegalArgumentException("--log-file " + file + ": permission denied; give a path this user can write");
    } catch (java.nio.file.FileSystemException e) {
      throw new IllegalArgumentException("--log-file " + file + ": cannot be opened for writing ("
          + (e.getReason() == null ? e.getClass().getSimpleName() : e.getReason()) + ")");
    }
    PrintStream stream = new PrintStream(out, true, java.nio.charset.StandardCharsets.UTF_8);
    install(verbosity, quiet, stream);
    return stream;
  }

  static Level levelFor(int verbosity, boolean quiet) {
    return quiet ? Level.SEVERE : verbosity >= 3 ? Level.FINEST : verbosity >= 2 ? Level.FINE
        : verbosity == 1 ? Level.INFO : Level.WARNING;
  }

  /** The level's name as a log line shows it. */
  static String name(Level level) {
    int v = level.intValue();
    return v >= Level.SEVERE.intValue() ? "ERROR" : v >= Level.WARNING.intValue() ? "WARN"
        : v >= Level.INFO.intValue() ? "INFO" : v >= Level.FINE.intValue() ? "DEBUG" : "TRACE";
  }

  static String line(LogRecord r, String message) {
    return TIME.format(LocalDateTime.ofInstant(r.getInstant(), java.time.ZoneId.systemDefault())) + " "
        + name(r.getLevel()) + " " + message;
  }

  private static void install(int verbosity, boolean quiet, PrintStream err) {
    Logger root = Logger.getLogger("");
    for (Handler h : root.getHandlers()) {
      root.removeHandler(h);
    }
    Level level = levelFor(verbosity, quiet);
    // Not ConsoleHandler: its setOutputStream closes System.err, which would silence every later message.
    Formatter oneLine = new Formatter() {
      @Override
      public String format(LogRecord r) {
        String line = line(r, formatMessage(r).replace('\n', ' ')) + System.lineSeparator();
        if (r.getThrown() != null) {
          java.io.StringWriter trace = new java.io.StringWriter();
          r.getThrown().printStackTrace(new java.io.PrintWriter(trace));
          line += trace;
        }
        return line;
      }
    };
    Handler handler = new StreamHandler(err, oneLine) {
      @Override
      public synchronized void publish(LogRecord record) {
        super.publish(record);
        flush();
      }
    };
    handler.setLevel(level);
    root.addHandler(handler);
    Logger.getLogger("dev.lazydir").setLevel(level);
    Logger.getLogger("okhttp3").setLevel(Level.SEVERE);
  }
}
