package dev.lazydir.cli;

import java.io.PrintStream;
import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/** One line per message on stderr: "lazydir: warning: ...". Verbosity: warnings, -v info, -vv debug. */
final class Logging {
  private Logging() {}

  static void configure(int verbosity, boolean quiet, PrintStream err) {
    Logger root = Logger.getLogger("");
    for (Handler h : root.getHandlers()) {
      root.removeHandler(h);
    }
    Level level = quiet ? Level.SEVERE : verbosity >= 2 ? Level.FINE : verbosity == 1 ? Level.INFO : Level.WARNING;
    Handler handler = new ConsoleHandler() {
      {
        setOutputStream(err);
      }
    };
    handler.setLevel(level);
    handler.setFormatter(new Formatter() {
      @Override
      public String format(LogRecord r) {
        String kind = r.getLevel() == Level.SEVERE ? "error: " : r.getLevel() == Level.WARNING ? "warning: " : "";
        return "lazydir: " + kind + formatMessage(r) + System.lineSeparator();
      }
    });
    root.addHandler(handler);
    Logger.getLogger("dev.lazydir").setLevel(level);
    Logger.getLogger("okhttp3").setLevel(Level.SEVERE);
  }
}
