package dev.lazydir.cli;

import java.util.concurrent.CountDownLatch;
import sun.misc.Signal;

/**
 * SIGINT and SIGTERM end a foreground daemon in order (answer readers, unmount, exit 0) instead of the JVM's
 * default of running hooks and exiting 143. A second signal while stopping falls back to the default.
 */
@SuppressWarnings("restriction")
final class Signals {
  private Signals() {}

  /** Stops this daemon as SIGTERM does (handled by {@link #awaitTermination} once installed). */
  static void stopSelf() {
    Signal.raise(new Signal("TERM"));
  }

  /** Runs {@code ready} once the handlers are installed, then blocks until SIGINT or SIGTERM. */
  static void awaitTermination(Runnable ready) throws InterruptedException {
    awaitTermination(stopAsked -> ready.run());
  }

  /**
   * The same, with {@code ready} told whether a signal has come meanwhile, so that a long wait before ready (the
   * namespace crawl) ends at a stop instead of finishing first.
   */
  static void awaitTermination(java.util.function.Consumer<java.util.function.BooleanSupplier> ready)
      throws InterruptedException {
    CountDownLatch signalled = new CountDownLatch(1);
    for (String name : new String[] {"INT", "TERM"}) {
      Signal.handle(new Signal(name), s -> {
        if (signalled.getCount() == 0) {
          System.exit(128 + s.getNumber());
        }
        signalled.countDown();
      });
    }
    ready.accept(() -> signalled.getCount() == 0);
    signalled.await();
  }
}
