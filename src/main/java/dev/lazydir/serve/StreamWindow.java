package dev.lazydir.serve;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * How many range streams fill a sequential reader's way ahead of it, how many segments each asks for, and how far
 * ahead they reach. Where each connection is held to a rate (a shaped link, a window limited by the round trip),
 * the aggregate grows with every stream added; on loopback one stream already runs at disk speed and more only
 * compete for the cores. So a file starts with {@link #START} streams (or with what the last file settled on: the
 * path to the origin is the same) and doubles them after each epoch in which the aggregate throughput grew by at
 * least 40% of what the added streams would add at the same rate each (quadruples them where it grew by 80%: each
 * connection is held to its rate and the link has room), up to {@code --max-conns}; the first epoch that did not
 * grow so settles the count back to the previous one. An epoch measures for two first-byte latencies (at least
 * 100 ms), from one after its streams were added, so each count is measured with its streams delivering. A stream asks for enough segments that its round trip is a small part of its transfer.
 */
final class StreamWindow {
  static final int START = 2;
  /** Shortest epoch: long enough for a few hundred reads on loopback, where a first byte takes microseconds. */
  static final long MIN_EPOCH_NANOS = 100_000_000L;
  /** A stream transfers for at least this many first-byte latencies, so the request's round trip costs little. */
  static final int LATENCIES_PER_STREAM = 10;
  /** Most segments one stream asks for (a failed stream is asked again from where it stopped). */
  static final int MAX_SPAN = 16;

  private final int max;
  private final int readahead;
  private final long segmentSize;
  /** Body bytes written for this file by every fetch, read ahead or not: the aggregate. */
  private final AtomicLong bytes = new AtomicLong();
  /** Recent first-byte latency (a moving average), and the recent rate of one connection (bytes per second). */
  private final AtomicLong firstByteNanos = new AtomicLong();
  private volatile double connectionRate;
  private final AtomicInteger inFlight = new AtomicInteger();
  /** Fetches of the file transferring now, the reader's own included: the connections the aggregate comes from. */
  private final AtomicInteger active = new AtomicInteger();
  private long activeSum;
  private int activeSamples;
  private double previousActive = -1;
  private int streams;
  private int previousStreams;
  private double previousRate = -1;
  private boolean settled;
  private long epochStart = -1;
  /** When this epoch's measurement began (-1: its new streams are not delivering yet), and the bytes then. */
  private long measureFrom = -1;
  private long epochBytes;

  /**
   * @param start streams to begin with
   * @param max the most streams ({@code --max-conns})
   * @param readahead {@code --readahead}: segments ahead of the reader with {@link #START} streams
   */
  StreamWindow(int start, int max, int readahead, long segmentSize) {
    this.max = Math.max(1, max);
    this.streams = Math.max(1, Math.min(this.max, start));
    this.previousStreams = streams;
    this.readahead = readahead;
    this.segmentSize = segmentSize;
  }

  /** Body bytes of this file written by any fetch. */
  void wrote(long n) {
    bytes.addAndGet(n);
  }

  /** A fetch's first byte came this long after it was sent. */
  void firstByte(long nanos) {
    firstByteNanos.accumulateAndGet(nanos, (old, now) -> old == 0 ? now : (3 * old + now) / 4);
  }

  /** A fetch moved {@code n} bytes in {@code nanos} after its first byte: one connection's rate. */
  void transferred(long n, long nanos) {
    if (n >= segmentSize / 2 && nanos > 0) {
      double rate = n * 1e9 / nanos;
      double old = connectionRate;
      connectionRate = old == 0 ? rate : (old + rate) / 2;
    }
  }

  int inFlight() {
    return inFlight.get();
  }

  /** A fetch of the file (read ahead or not) began transferring; {@link #fetchEnded} follows. */
  void fetchStarted() {
    active.incrementAndGet();
  }

  void fetchEnded() {
    active.decrementAndGet();
  }

  void started() {
    inFlight.incrementAndGet();
  }

  void ended() {
    inFlight.decrementAndGet();
  }

  /** Whether the count is settled; then it is what the next file starts with. */
  synchronized boolean settled() {
    return settled;
  }

  /** Streams to keep in flight now, after closing the epoch if it is over. */
  synchronized int streams(long now) {
    if (epochStart < 0) {
      epochStart = now;
      measureFrom = -1;
      return streams;
    }
    if (settled) {
      return streams;
    }
    if (measureFrom < 0) {
      // Streams just added bring nothing for a first-byte latency: measuring starts once they deliver.
      if (now - epochStart >= firstByteNanos.get()) {
        measureFrom = now;
        epochBytes = bytes.get();
        activeSum = 0;
        activeSamples = 0;
      }
      return streams;
    }
    activeSum += active.get();
    activeSamples++;
    if (now - measureFrom < epochNanos()) {
      return streams;
    }
    long b = bytes.get();
    double rate = (b - epochBytes) * 1e9 / (now - measureFrom);
    // The connections that actually delivered (the reader's own fetch counts too; a window the reader keeps from
    // filling has fewer): what the rate is compared by.
    double connections = activeSum == 0 ? streams : (double) activeSum / activeSamples;
    // Grown enough: by at least 40% of what the added connections would add if each kept its rate; by 80% or more
    // (each connection is held to its rate, the link has room), four times the streams are tried next.
    double linear = previousActive <= 0 ? 0 : connections / previousActive - 1;
    if (previousRate < 0 || (linear > 0.1 && rate >= previousRate * (1 + 0.4 * linear))) {
      if (streams == max) {
        settled = true;
      } else {
        int factor = previousRate >= 0 && rate >= previousRate * (1 + 0.8 * linear) ? 4 : 2;
        previousStreams = streams;
        previousRate = rate;
        previousActive = connections;
        streams = Math.min(max, streams * factor);
      }
    } else {
      settled = true;
      streams = previousStreams; // the added streams did not pay: fewer do as well
    }
    epochStart = now;
    measureFrom = -1;
    return streams;
  }

  synchronized int streams() {
    return streams;
  }

  private long epochNanos() {
    return Math.max(MIN_EPOCH_NANOS, 2 * firstByteNanos.get());
  }

  /**
   * Segments one stream asks for: half the read-ahead; once more streams proved to help (each connection is held
   * to a rate, so its round trips cost), as many as one connection moves in {@code LATENCIES_PER_STREAM} first-byte
   * latencies.
   */
  int span(int streams) {
    int base = Math.max(1, readahead / START);
    if (streams <= START) {
      return base;
    }
    double wanted = connectionRate * firstByteNanos.get() / 1e9 * LATENCIES_PER_STREAM;
    int bySpeed = (int) Math.min(MAX_SPAN, Math.ceil(wanted / segmentSize));
    return Math.max(base, bySpeed);
  }

  /** Segments fetched ahead of the reader: the read-ahead for {@link #START} streams, and room for every stream. */
  int ahead(int streams, int span) {
    if (readahead <= 0) {
      return 0;
    }
    return Math.max(readahead * streams / START, streams * span);
  }
}
