package dev.lazydir.serve;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * How many range streams fill a sequential reader's way ahead of it, how many segments each asks for, and how far
 * ahead they reach. Where each connection is held to a rate (a shaped link, a window limited by the round trip),
 * the aggregate grows with every stream added; on loopback one stream already runs at disk speed and more only
 * compete for the cores. So a file starts with {@link #START} streams (or with what the last file settled on: the
 * path to the origin is the same; or with {@link #NETWORK_START} where the reader's first byte took a network's
 * round trip) and doubles them after each epoch in which the aggregate throughput grew by at least 40% of what the
 * added streams would add at the same rate each (quadruples them where it grew by 80%, or where nothing was
 * measured yet over a network: each connection is held to its rate and the link has room), up to
 * {@code --max-conns}. The first epoch that did not grow so settles the count between the previous one and this
 * one, at what carries the aggregate it measured at one connection's rate (past that the link is full; on
 * loopback, where nothing grows, it is the previous count). An epoch measures for a round trip (at least 100 ms),
 * from two and a half round trips after its streams were added (a new connection's handshake, then its request),
 * so each count is measured with its streams delivering. A stream asks for enough segments that its round trip is
 * a small part of its transfer, but never more than its share of what nobody fetches yet: a tail carried by one
 * connection while the others idle would cost what the streams gained.
 */
final class StreamWindow {
  private static final java.util.logging.Logger LOG = java.util.logging.Logger.getLogger(StreamWindow.class.getName());
  static final int START = 2;
  /** Shortest epoch: long enough for a few hundred reads on loopback, where a first byte takes microseconds. */
  static final long MIN_EPOCH_NANOS = 100_000_000L;
  /** A round trip this long is a network's (loopback and a LAN answer in well under it). */
  static final long NETWORK_NANOS = 10_000_000L;
  /**
   * Streams a file starts with where the reader's first byte took a network's round trip: what {@code aria2c -x 8}
   * uses. Measuring the start count first would cost an epoch (three and a half round trips) at a quarter of them.
   */
  static final int NETWORK_START = 4 * START;
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
  /** Shortest first-byte latency seen: one round trip on a kept-alive connection (0: none seen yet). */
  private final AtomicLong roundTripNanos = new AtomicLong();
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
  /** Whether the count went straight to {@link #NETWORK_START} at the start. */
  private boolean jumped;
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
    roundTripNanos.accumulateAndGet(Math.max(1, nanos), (old, now) -> old == 0 ? now : Math.min(old, now));
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
      if (!settled && roundTrip() >= NETWORK_NANOS && streams < NETWORK_START) {
        jumped = true; // the reader's first byte took a network's round trip: no epoch at the start count
        streams = Math.min(max, NETWORK_START);
      }
      return streams;
    }
    if (settled) {
      return streams;
    }
    if (measureFrom < 0) {
      // Streams just added bring nothing until their first byte (on a new connection: the handshake's round trip,
      // then the request's): measuring starts once they deliver.
      if (now - epochStart >= deliveryNanos()) {
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
    if (jumped && previousRate < 0 && roundTrip() < NETWORK_NANOS) {
      // The first byte's latency was the machine's, not a network's (later round trips are short): start over.
      jumped = false;
      streams = previousStreams;
      epochStart = now;
      measureFrom = -1;
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
        // The first step has nothing to compare with: over a network (a round trip of NETWORK_NANOS or more) a
        // stream is most likely held to a rate by its window or by shaping, so it quadruples there too.
        boolean linearly = previousRate >= 0 ? rate >= previousRate * (1 + 0.8 * linear) : roundTrip() >= NETWORK_NANOS;
        int factor = linearly ? 4 : 2;
        previousStreams = streams;
        previousRate = rate;
        previousActive = connections;
        streams = Math.min(max, streams * factor);
      }
    } else {
      settled = true;
      // The added streams did not pay in full: as many as carry the aggregate measured at the better of the two
      // per-connection rates (the link is full past that), but no fewer than before. Loopback: the previous count.
      double perConnection = Math.max(previousRate / Math.max(1, previousActive), rate / Math.max(1, connections));
      double others = Math.max(0, connections - streams); // the reader's own fetch
      int needed = (int) Math.ceil(0.95 * rate / perConnection - others);
      streams = Math.max(previousStreams, Math.min(streams, needed));
    }
    int chosen = streams;
    boolean done = settled;
    LOG.fine(() -> String.format(java.util.Locale.ROOT, "read-ahead: %.1f MB/s over %.1f connections; %d streams%s",
        rate / 1e6, connections, chosen, done ? ", settled" : ""));
    epochStart = now;
    measureFrom = -1;
    return streams;
  }

  synchronized int streams() {
    return streams;
  }

  private long epochNanos() {
    return Math.max(MIN_EPOCH_NANOS, roundTrip());
  }

  /** How long after a stream is added it surely delivers: two and a half round trips (a new connection's). */
  private long deliveryNanos() {
    return Math.max(firstByteNanos.get(), roundTrip() * 5 / 2);
  }

  private long roundTrip() {
    long r = roundTripNanos.get();
    return r == 0 ? firstByteNanos.get() : r;
  }

  /**
   * Segments one stream asks for: half the read-ahead; once more streams proved to help (each connection is held
   * to a rate, so its round trips cost), as many as one connection moves in {@code LATENCIES_PER_STREAM} first-byte
   * latencies. Never more than an even share of the {@code remaining} segments (those nobody fetches yet) among the
   * streams: near the end of a file every stream gets some of what is left, and they end together.
   */
  int span(int streams, int remaining) {
    int base = Math.max(1, readahead / START);
    int span = base;
    if (streams > START) {
      double wanted = connectionRate * firstByteNanos.get() / 1e9 * LATENCIES_PER_STREAM;
      int bySpeed = (int) Math.min(MAX_SPAN, Math.ceil(wanted / segmentSize));
      span = Math.max(base, bySpeed);
    }
    int share = (int) Math.max(1, ((long) remaining + streams - 1) / Math.max(1, streams));
    return Math.min(span, share);
  }

  /** Segments fetched ahead of the reader: the read-ahead for {@link #START} streams, and room for every stream. */
  int ahead(int streams, int span) {
    if (readahead <= 0) {
      return 0;
    }
    return Math.max(readahead * streams / START, streams * span);
  }
}
