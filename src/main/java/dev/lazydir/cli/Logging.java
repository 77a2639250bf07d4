package dev.lazydir.cli;

import java.io.PrintStream;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.StreamHandler;

/** One line per message on stderr: "lazydir: warning: ...". Verbosity: warnings, -v info, -vv debug. */
final class Logging {
  private Logging() {}

  static void configure(int verbosity, boolean quiet, PrintStream err) {
    Logger root = Logger.getLogger("");
    for (Handler h : root.getHandlers()) {
      root.removeHandler(h);
    }
    Level level = quiet ? Level.SEVERE : verbosity >= 3 ? Level.FINEST : verbosity >= 2 ? Level.FINE : verbosity == 1 ? Level.INFO : Level.WARNING;
    // Not ConsoleHandler: its setOutputStream closes System.err, which would silence every later message.
    Formatter oneLine = new Formatter() {
      @Override
      public String format(LogRecord r) {
        String kind = r.getLevel() == Level.SEVERE ? "error: " : r.getLevel() == Level.WARNING ? "warning: " : "";
        String line = "lazydir: " + kind + formatMessage(r) + System.lineSeparator();
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
