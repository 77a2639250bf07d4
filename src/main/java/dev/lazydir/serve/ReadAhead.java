package dev.lazydir.serve;

/**
 * The read-ahead of sequential readers: each stub read in order gets a {@link StreamWindow} of range streams that
 * follow the reader, each over the next segments nobody fetches yet, up to the window's reach past the reader's
 * last segment, refilled as each stream ends, so a stream never waits for a round trip. Apart from
 * {@link ContentFiller} (which segments a reader needs, who waits for them) because how many streams run and how
 * far ahead is a policy of its own, tuned by measurement; the number of streams a window settled on is where the
 * next file's window starts.
 */
final class ReadAhead {
  private final ContentFiller filler;
  private final int readaheadSegments;
  private final int maxStreams;
  /** Streams the last sequential reader's window settled on: the next file starts there. */
  private volatile int learnedStreams = StreamWindow.START;

  ReadAhead(ContentFiller filler, int readaheadSegments, int maxStreams) {
    this.filler = filler;
    this.readaheadSegments = readaheadSegments;
    this.maxStreams = maxStreams;
  }

  boolean on() {
    return readaheadSegments > 0;
  }

  /** The stub's window, made at its first sequential read. */
  StreamWindow window(OpenStub stub) {
    return stub.window(() -> new StreamWindow(learnedStreams, maxStreams, readaheadSegments,
        stub.mapView().segmentSize()));
  }

  /**
   * Keeps the stub's window of read-ahead streams full: as many as its {@link StreamWindow} allows now, each over
   * the next segments nobody fetches yet, up to its reach past the reader's last segment. Run after a sequential
   * reader's bytes are down and whenever one of the window's streams ends, so the streams follow the reader
   * without waiting for its next read.
   */
  void fill(OpenStub stub) {
    if (readaheadSegments <= 0) {
      return;
    }
    StreamWindow w = window(stub);
    SegmentMap map = stub.mapView();
    synchronized (w) {
      boolean wasSettled = w.settled();
      int n = w.streams(System.nanoTime());
      if (!wasSettled && w.settled()) {
        learnedStreams = n;
      }
      int span = w.span(n);
      int reader = stub.lastSegment;
      int reach = Math.min(map.segmentCount() - 1, reader + w.ahead(n, span));
      for (int c = Math.max(0, reader + 1); c <= reach && w.inFlight() < n; c++) {
        if (stub.has(c) || stub.inflight.containsKey(c)) {
          continue;
        }
        SegmentFetch f = filler.request(stub, c, Math.min(reach + 1, c + span));
        if (f.countedBy(w)) {
          filler.record(stub, f.segment, f.end);
          f.whenComplete((v, e) -> {
            w.ended();
            if (e == null && !stub.isComplete()) {
              fill(stub);
            }
          });
        }
        c = Math.max(c, f.end - 1);
      }
    }
  }
}
