package dev.lazydir.crawl;

import java.io.PrintStream;

/** Receives crawl progress. The terminal version redraws one status line; elsewhere progress is silent. */
public interface Progress {
  Progress NONE = (dirsListed, entries, dirsToGo) -> {};

  void update(long dirsListed, long entries, long dirsToGo);

  default void done() {}

  /** A single self-overwriting line on {@code out} (a terminal), at most ten redraws a second. */
  static Progress terminal(PrintStream out) {
    return new Progress() {
      private long lastDraw;
      private boolean drawn;

      @Override
      public synchronized void update(long dirsListed, long entries, long dirsToGo) {
        long now = System.nanoTime();
        if (drawn && now - lastDraw < 100_000_000L) {
          return;
        }
        lastDraw = now;
        drawn = true;
        out.print("\r\033[Klisted " + dirsListed + " directories, " + entries + " entries; " + dirsToGo + " directories to go");
        out.flush();
      }

      @Override
      public synchronized void done() {
        if (drawn) {
          out.print("\r\033[K");
          out.flush();
        }
      }
    };
  }
}
