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
    CountDownLatch signalled = handled();
    ready.accept(() -> signalled.getCount() == 0);
    signalled.await();
  }

  /**
   * The same, also ending once {@code gone} says the view was taken away behind the daemon's back (checked every
   * second); true if that is why it ended.
   */
  static boolean awaitTermination(java.util.function.Consumer<java.util.function.BooleanSupplier> ready,
      java.util.function.BooleanSupplier gone) throws InterruptedException {
    CountDownLatch signalled = handled();
    ready.accept(() -> signalled.getCount() == 0 || gone.getAsBoolean());
    while (!signalled.await(1, java.util.concurrent.TimeUnit.SECONDS)) {
      if (gone.getAsBoolean()) {
        return true;
      }
    }
    return false;
  }

  /** Installs the handlers: the first SIGINT or SIGTERM counts the latch down, a second one exits at once. */
  private static CountDownLatch handled() {
    CountDownLatch signalled = new CountDownLatch(1);
    for (String name : new String[] {"INT", "TERM"}) {
      Signal.handle(new Signal(name), s -> {
        if (signalled.getCount() == 0) {
          System.exit(128 + s.getNumber());
        }
        signalled.countDown();
      });
    }
    return signalled;
  }
}
