package dev.lazydir.origin;

/**
 * An estimate of how long an origin takes to answer: the shortest of its last {@link #WINDOW} answer times. A
 * network's round trip is a floor under every answer while a busy CPU or a large listing only adds to some, so
 * the shortest recent one tells the same machine from a network even on a loaded machine; recent, so that it
 * follows a link that changes.
 */
final class RoundTrips {
  static final int WINDOW = 8;
  private final long[] recent = new long[WINDOW];
  private int count;

  synchronized void add(long answerMillis) {
    if (answerMillis >= 0) {
      recent[count++ % WINDOW] = answerMillis;
    }
  }

  /** Milliseconds; 0 before the first answer. */
  synchronized double millis() {
    long min = Long.MAX_VALUE;
    for (int i = 0; i < Math.min(count, WINDOW); i++) {
      min = Math.min(min, recent[i]);
    }
    return count == 0 ? 0 : min;
  }
}
