package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The read-ahead window's choice of stream count, fed with synthetic clocks and byte counts (no timing). */
class StreamWindowTest {
  static final long SEGMENT = 4 << 20;
  static final long EPOCH = 200_000_000L; // longer than any epoch here: 2 first-byte latencies of 50 ms

  /** Runs epochs in which n streams move {@code rate.of(n)} bytes a second; returns the window after them. */
  static StreamWindow run(int start, int max, Rate rate, int epochs) {
    StreamWindow w = new StreamWindow(start, max, 4, SEGMENT);
    w.firstByte(50_000_000L);
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

  @Test
  void aLinkThatHoldsEachConnectionToARateGetsStreamsAddedUpToMaxConns() {
    // 100 Mbit/s per connection, no overall cap below 10 streams
    StreamWindow w = run(StreamWindow.START, 10, n -> n * 12.5e6, 12);
    assertEquals(10, w.streams());
    assertTrue(w.settled());
  }

  @Test
  void streamsStopBeingAddedWhereTheLinkIsFull() {
    // 12.5 MB/s per connection, 60 MB/s for the whole link: 4 streams fill most of it, 8 add too little
    StreamWindow w = run(StreamWindow.START, 10, n -> Math.min(60e6, n * 12.5e6), 12);
    assertEquals(4, w.streams());
    assertTrue(w.settled());
  }

  @Test
  void oneStreamAtDiskSpeedKeepsTheStartingCount() {
    // loopback: the aggregate is the disk's (or the cores'), whatever the stream count
    StreamWindow w = run(StreamWindow.START, 10, n -> 900e6, 8);
    assertEquals(StreamWindow.START, w.streams());
    assertTrue(w.settled());
  }

  @Test
  void streamsAddedThatNeverDeliverDoNotCountAsGrowth() {
    // The reader, not the link, is the limit: two connections deliver whatever the window allows.
    StreamWindow w = new StreamWindow(StreamWindow.START, 10, 4, SEGMENT);
    w.firstByte(50_000_000L);
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
  void theCountIsNotDecidedBeforeAnEpochHasPassed() {
    StreamWindow w = new StreamWindow(StreamWindow.START, 10, 4, SEGMENT);
    w.firstByte(50_000_000L);
    w.streams(0);
    w.wrote(100 << 20);
    assertEquals(StreamWindow.START, w.streams(60_000_000L), "a first-byte latency over: measuring starts");
    assertEquals(StreamWindow.START, w.streams(150_000_000L), "two first-byte latencies (100 ms) not over");
    assertFalse(w.settled());
  }

  @Test
  void streamsAskForMoreSegmentsOnlyWhereMoreStreamsHelped() {
    StreamWindow w = new StreamWindow(StreamWindow.START, 10, 4, SEGMENT);
    w.firstByte(50_000_000L);
    w.transferred(8 << 20, 640_000_000L); // 12.5 MiB/s on one connection
    assertEquals(2, w.span(StreamWindow.START), "half the read-ahead while the start count holds");
    assertEquals(2, w.span(8), "10 latencies of 50 ms at 12.5 MiB/s: 6.25 MiB, 2 segments");
    assertEquals(16, w.ahead(8, 2), "room for every stream");
    w.transferred(8 << 20, 320_000_000L); // 25 MiB/s: the average of the two, 18.75 MiB/s
    assertEquals(3, w.span(8), "10 latencies of 50 ms at 18.75 MiB/s: 9.4 MiB, 3 segments");
    assertEquals(4, w.ahead(2, 2), "--readahead with the start count");
  }
}
