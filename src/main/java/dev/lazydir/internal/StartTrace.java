package dev.lazydir.internal;

/**
 * Marks of a start-up timeline, for finding where a start's time goes: with {@code -Dlazydir.trace} (e.g.
 * {@code JAVA_TOOL_OPTIONS=-Dlazydir.trace ./lazydir serve ...}) each mark prints one line on stderr, "trace
 * EPOCH_MS +MS_SINCE_MAIN what", which bench/start-net lines up with the launch; without it a mark costs one
 * field read.
 */
public final class StartTrace {
  private static final boolean ON = System.getProperty("lazydir.trace") != null;
  private static final long T0 = System.nanoTime();

  private StartTrace() {}

  public static void mark(String what) {
    if (ON) {
      System.err.printf("trace %d +%.1f %s%n", System.currentTimeMillis(), (System.nanoTime() - T0) / 1e6, what);
    }
  }
}
