package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The read-ahead window's choice of stream count and span, fed with synthetic clocks and byte counts (no timing). */
class StreamWindowTest {
  static final long SEGMENT = 4 << 20;
  static final long MS = 1_000_000L;
  static final long EPOCH = 200_000_000L; // longer than any epoch here: 2.5 round trips of 50 ms to wait, 100 ms

  /** Runs epochs in which n streams move {@code rate.of(n)} bytes a second; returns the window after them. */
  static StreamWindow run(long roundTrip, int max, Rate rate, int epochs) {
    StreamWindow w = new StreamWindow(StreamWindow.START, max, 4, SEGMENT);
    w.firstByte(roundTrip);
    long now = 0;
    int n = w.streams(now);
    for (int i = 0; i < epochs; i++) {
      now += EPOCH;
      w.wrote((long) (rate.of(n) * EPOCH / 1e9));
      n = w.streams(now);
    }
    return w;
  }

  interface Rate {
    double of(int streams);
  }

  /**
   * A shaped link, a millisecond at a time: each stream delivers {@code perConnection} bytes a second from two round
   * trips after it was added (a new connection's handshake, then its request; its first byte is reported then),
   * all of them together at most {@code link}; the window is asked for its count every millisecond, as a reader's
   * events ask it. Returns the window after {@code millis}.
   */
  static StreamWindow simulate(long roundTrip, double perConnection, double link, int max, long millis) {
    StreamWindow w = new StreamWindow(StreamWindow.START, max, 4, SEGMENT);
    w.firstByte(roundTrip); // the reader's own fetch, on the connection that listed the directory
    List<Long> added = new ArrayList<>();
    List<Boolean> delivering = new ArrayList<>();
    int n = w.streams(0);
    double carry = 0;
    for (long t = 0; t < millis; t++) {
      long now = t * MS;
      while (added.size() < n) {
        added.add(now);
        delivering.add(false);
      }
      while (added.size() > n) {
        added.remove(added.size() - 1);
        delivering.remove(delivering.size() - 1);
      }
      int live = 0;
      for (int i = 0; i < added.size(); i++) {
        if (now - added.get(i) >= 2 * roundTrip) {
          if (!delivering.get(i)) {
            delivering.set(i, true);
            w.firstByte(2 * roundTrip);
          }
          live++;
        }
      }
      carry += Math.min(link, live * perConnection) / 1000;
      long whole = (long) carry;
      carry -= whole;
      w.wrote(whole);
      n = w.streams(now);
    }
    return w;
  }

  @Test
  void aLinkThatHoldsEachConnectionToARateGetsStreamsAddedUpToMaxConns() {
    // 100 Mbit/s per connection, no overall cap below 10 streams; a LAN's round trip: from two streams on
    StreamWindow w = run(5 * MS, 10, n -> n * 12.5e6, 12);
    assertEquals(10, w.streams());
    assertTrue(w.settled());
  }

  @Test
  void overAWanLinkMaxConnsStreamsRunWithinTenRoundTripsOfTheFirstByte() {
    // bench/shape's wan: 50 ms, 100 Mbit/s per connection, 1 Gbit/s link
    StreamWindow w = simulate(50 * MS, 12.5e6, 125e6, 10, 500);
    assertEquals(10, w.streams(), "at max-conns half a second after the reader's first byte");
    assertTrue(simulate(50 * MS, 12.5e6, 125e6, 10, 2000).settled());
  }

  @Test
  void overAFarLinkMaxConnsStreamsRunWithinTenRoundTripsOfTheFirstByte() {
    // bench/shape's far: 150 ms, 20 Mbit/s per connection
    StreamWindow w = simulate(150 * MS, 2.5e6, 125e6, 10, 1500);
    assertEquals(10, w.streams());
  }

  @Test
  void overANetworkTheFirstCountIsNetworkStartWithoutAnEpochAtTheStartCount() {
    StreamWindow w = new StreamWindow(StreamWindow.START, 10, 4, SEGMENT);
    w.firstByte(50 * MS);
    assertEquals(StreamWindow.NETWORK_START, w.streams(0));
    StreamWindow lan = new StreamWindow(StreamWindow.START, 10, 4, SEGMENT);
    lan.firstByte(MS);
    assertEquals(StreamWindow.START, lan.streams(0), "a LAN's round trip: the start count is measured first");
    StreamWindow few = new StreamWindow(StreamWindow.START, 3, 4, SEGMENT);
    few.firstByte(50 * MS);
    assertEquals(3, few.streams(0), "never more than --max-conns");
  }

  @Test
  void aFirstByteSlowedByABusyMachineIsNotTakenForANetwork() {
    // The reader's first byte waited for a loaded machine, later ones take loopback's round trip.
    StreamWindow w = new StreamWindow(StreamWindow.START, 10, 4, SEGMENT);
    w.firstByte(15 * MS);
    long now = 0;
    int n = w.streams(now);
    assertEquals(StreamWindow.NETWORK_START, n);
    w.firstByte(200_000L);
    for (int i = 0; i < 12; i++) {
      now += EPOCH;
      w.wrote((long) (900e6 * EPOCH / 1e9));
      n = w.streams(now);
    }
    assertEquals(StreamWindow.START, n, "back to the start count, then measured as on loopback");
    assertTrue(w.settled());
  }

  @Test
  void streamsStopBeingAddedWhereTheLinkIsFull() {
    // 12.5 MB/s per connection, 60 MB/s for the whole link, a LAN's round trip: 4 streams carry 50, 10 add 10 more;
    // 5 streams at 12.5 MB/s carry what the link does
    StreamWindow w = run(5 * MS, 10, n -> Math.min(60e6, n * 12.5e6), 12);
    assertEquals(5, w.streams());
    assertTrue(w.settled());
  }

  @Test
  void overANetworkWhoseLinkIsFullAtTheNetworkStartNoMoreStreamsAreKept() {
    StreamWindow w = simulate(50 * MS, 12.5e6, 60e6, 10, 3000);
    assertEquals(StreamWindow.NETWORK_START, w.streams());
    assertTrue(w.settled());
  }

  @Test
  void oneStreamAtDiskSpeedKeepsTheStartingCount() {
    // loopback: the aggregate is the disk's (or the cores'), whatever the stream count
    StreamWindow w = run(200_000L, 10, n -> 900e6, 8);
    assertEquals(StreamWindow.START, w.streams());
    assertTrue(w.settled());
  }

  @Test
  void streamsAddedThatNeverDeliverDoNotCountAsGrowth() {
    // The reader, not the link, is the limit: two connections deliver whatever the window allows.
    StreamWindow w = new StreamWindow(StreamWindow.START, 10, 4, SEGMENT);
    w.firstByte(5 * MS);
    w.fetchStarted();
    w.fetchStarted();
    long now = 0;
    w.streams(now);
    for (int i = 0; i < 8; i++) {
      now += EPOCH;
      w.wrote((long) (30e6 * Math.pow(1.6, (i + 1) / 2) * EPOCH / 1e9)); // up 60% an epoch, from the same two
      w.streams(now);
    }
    assertEquals(StreamWindow.START, w.streams());
    assertTrue(w.settled());
  }

  @Test
  void theCountIsNotDecidedBeforeItsStreamsDeliverAndAnEpochHasPassed() {
    StreamWindow w = new StreamWindow(StreamWindow.START, 10, 4, SEGMENT);
    w.firstByte(50 * MS);
    assertEquals(StreamWindow.NETWORK_START, w.streams(0));
    w.wrote(100 << 20);
    assertEquals(StreamWindow.NETWORK_START, w.streams(110 * MS), "a new connection's 2 round trips: not yet");
    assertEquals(StreamWindow.NETWORK_START, w.streams(130 * MS), "2.5 round trips over: measuring starts");
    w.wrote(100 << 20);
    assertEquals(StreamWindow.NETWORK_START, w.streams(220 * MS), "100 ms not over");
    assertFalse(w.settled());
    assertEquals(10, w.streams(231 * MS), "an epoch measured: 8 streams moved 1 GB/s, more are tried");
  }

  @Test
  void streamsAskForMoreSegmentsOnlyWhereMoreStreamsHelped() {
    StreamWindow w = new StreamWindow(StreamWindow.START, 10, 4, SEGMENT);
    w.firstByte(50 * MS);
    w.transferred(8 << 20, 640_000_000L); // 12.5 MiB/s on one connection
    assertEquals(2, w.span(StreamWindow.START, 100), "half the read-ahead while the start count holds");
    assertEquals(2, w.span(8, 100), "10 first-byte latencies of 50 ms at 12.5 MiB/s: 6.25 MiB, 2 segments");
    assertEquals(16, w.ahead(8, 2), "room for every stream");
    w.transferred(8 << 20, 320_000_000L); // 25 MiB/s: the average of the two, 18.75 MiB/s
    assertEquals(3, w.span(8, 100), "10 first-byte latencies of 50 ms at 18.75 MiB/s: 9.4 MiB, 3 segments");
    assertEquals(4, w.ahead(2, 2), "--readahead with the start count");
  }

  @Test
  void nearTheEndOfAFileEveryStreamGetsAShareOfWhatIsLeft() {
    StreamWindow w = new StreamWindow(StreamWindow.START, 10, 4, SEGMENT);
    w.firstByte(50 * MS);
    w.transferred(8 << 20, 400_000_000L); // 20 MiB/s: 3 segments a stream
    assertEquals(3, w.span(10, 100));
    assertEquals(2, w.span(10, 12), "12 segments left for 10 streams: 2 each, not 3 each for 4 of them");
    assertEquals(1, w.span(10, 3), "3 left: one each, they end together");
    assertEquals(1, w.span(10, 0));
    assertEquals(1, w.span(StreamWindow.START, 1));
  }
}
