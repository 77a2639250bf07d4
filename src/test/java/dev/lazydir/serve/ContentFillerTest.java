package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.crawl.Crawler;
import dev.lazydir.crawl.Progress;
import dev.lazydir.origin.OriginClient;
import dev.lazydir.origin.OriginConfig;
import dev.lazydir.testing.FakeOrigin;
import dev.lazydir.testing.FakeOrigin.Fault;
import dev.lazydir.testing.LocalTree;
import dev.lazydir.testing.ScriptedOrigin;
import dev.lazydir.tree.StubTree;
import dev.lazydir.tree.TreePath;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Filling stubs through the private store path, without fanotify: the logic the daemon runs per event. */
class ContentFillerTest {
  static final int CHUNK = 64 * 1024;
  static final Instant T = Instant.parse("2024-03-05T06:07:08Z");
  static final byte[] DATA = new byte[10 * CHUNK + 123];

  static {
    new Random(3).nextBytes(DATA);
  }

  @TempDir Path tmp;
  FakeOrigin origin;
  OriginClient client;
  StubTree tree;
  ExecutorService pool;
  AtomicInteger completed = new AtomicInteger();

  @BeforeEach
  void setUp() throws Exception {
    origin = new FakeOrigin();
    origin.file("/f.bin", DATA, T).file("/g.bin", "small", T).file("/h.bin", DATA, T);
    OriginConfig config = OriginConfig.builder().retries(2).retryWait(Duration.ZERO).build();
    client = new OriginClient(config, origin.url("/"), d -> {}, Clock.systemUTC());
    try (Crawler c = new Crawler(client, 5, 2, Progress.NONE, Clock.systemUTC())) {
      c.crawl(origin.url("/"), tmp.resolve("m"));
    }
    tree = StubTree.open(tmp.resolve("m"), origin.url("/").toString());
    pool = Executors.newFixedThreadPool(4);
  }

  @AfterEach
  void tearDown() throws Exception {
    pool.shutdownNow();
    tree.close();
    client.close();
    origin.close();
  }

  OpenStub open(String name) throws IOException {
    return OpenStub.open(tree, TreePath.of(List.of(name)), CHUNK, OpenStub.DigestsOf.NONE);
  }

  /** ensure() returns once the reader's bytes are written; the segment is recorded just after: wait for that. */
  static void settle(OpenStub stub) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    // In flight, or still holding the stub for its last writes (a close meanwhile would be deferred to them).
    while ((!stub.inflight.isEmpty() || stub.writing()) && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    assertTrue(stub.inflight.isEmpty() && !stub.writing(), "fetches finished");
  }

  ContentFiller filler(int readahead, Duration timeout) {
    return new ContentFiller(client, pool, readahead, timeout, s -> completed.incrementAndGet());
  }

  @Test
  void rangeReadFetchesOnlyItsSegmentsAndRecordsThemAfterWriting() throws Exception {
    try (OpenStub stub = open("f.bin")) {
      filler(0, Duration.ofSeconds(10)).ensure(stub, 3 * CHUNK + 10, 100);
      settle(stub);
      byte[] local = Files.readAllBytes(tmp.resolve("m/f.bin"));
      assertArrayEquals(Arrays.copyOfRange(DATA, 3 * CHUNK, 4 * CHUNK), Arrays.copyOfRange(local, 3 * CHUNK, 4 * CHUNK));
      assertEquals(1, origin.count("GET", "/f.bin"));
      stub.persist();
      SegmentMap map = SegmentMap.decode(LocalTree.xattrBytes(tmp.resolve("m/f.bin"), "user.lazydir.map").orElseThrow(),
          DATA.length, SegmentMap.tagOf(stub.meta())).orElseThrow();
      assertTrue(map.has(3) && !map.has(2) && !map.has(4), "the map on disk names exactly segment 3");
      assertEquals(T, Files.getLastModifiedTime(tmp.resolve("m/f.bin")).toInstant(), "origin mtime kept");
    }
  }

  @Test
  void wholeFileAndRestartResumeWithoutRefetching() throws Exception {
    try (OpenStub stub = open("f.bin")) {
      filler(0, Duration.ofSeconds(10)).ensure(stub, 0, 5 * CHUNK);
      settle(stub);
    }
    long before = origin.bodyBytesSent();
    try (OpenStub again = open("f.bin")) {
      assertTrue(again.has(0) && again.has(4) && !again.has(5), "the map survived the close");
      filler(0, Duration.ofSeconds(10)).ensure(again, 0, 0);
      settle(again);
      assertTrue(again.isComplete());
    }
    assertEquals(DATA.length - 5 * CHUNK, origin.bodyBytesSent() - before, "only the 6 missing segments were fetched");
    assertArrayEquals(DATA, Files.readAllBytes(tmp.resolve("m/f.bin")));
    assertEquals(1, completed.get());
  }

  @Test
  void readPastEofNeedsNothing() throws Exception {
    try (OpenStub stub = open("g.bin")) {
      filler(0, Duration.ofSeconds(10)).ensure(stub, 4096, 4096);
      assertEquals(0, origin.count("GET", "/g.bin"));
    }
  }

  /**
   * Waits until each thread waits (a timed wait: ContentFiller's for a fetch's bytes); fails after 10 s. A reader
   * of a stub waits nowhere else, so the threads are then all waiting for fetches.
   */
  static void awaitAllWaitingForBytes(List<Thread> threads) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!threads.stream().allMatch(t -> t.getState() == Thread.State.TIMED_WAITING)) {
      assertTrue(System.nanoTime() < deadline, "threads not all waiting: "
          + threads.stream().map(t -> t.getState().toString()).toList());
      Thread.sleep(1);
    }
  }

  @Test
  void readersOfTheSameSegmentShareOneFetch() throws Exception {
    FakeOrigin.Hold answer = origin.fault("/f.bin", Fault.hold().on("GET"));
    try (OpenStub stub = open("f.bin")) {
      ContentFiller f = filler(0, Duration.ofSeconds(10));
      List<FutureTask<Void>> done = new ArrayList<>();
      List<Thread> readers = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        int off = i * 1000;
        FutureTask<Void> read = new FutureTask<>(() -> {
          f.ensure(stub, off, 100);
          return null;
        });
        done.add(read);
        readers.add(new Thread(read, "reader-" + i));
      }
      readers.forEach(Thread::start);
      // The origin holds its answer until all four readers wait for it: they overlap, whatever the scheduling.
      assertTrue(answer.awaitHeld(1), "the segment was asked for");
      awaitAllWaitingForBytes(readers);
      answer.release();
      for (FutureTask<Void> d : done) {
        d.get(10, TimeUnit.SECONDS);
      }
      assertEquals(1, origin.count("GET", "/f.bin"));
    } finally {
      answer.release();
    }
  }

  @Test
  void sequentialReaderFetchesAhead() throws Exception {
    try (OpenStub stub = open("f.bin")) {
      ContentFiller f = filler(3, Duration.ofSeconds(10));
      f.ensure(stub, 0, 4096);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      while (!(stub.has(1) && stub.has(2) && stub.has(3)) && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      assertTrue(stub.has(1) && stub.has(2) && stub.has(3), "next three segments fetched ahead");
      assertFalse(stub.has(4));
    }
  }

  static final String LAST_MODIFIED_T =
      "Last-Modified: " + DateTimeFormatter.RFC_1123_DATE_TIME.withZone(ZoneOffset.UTC).format(T) + "\r\n";

  /**
   * An origin of f.bin whose first answer sends its first {@code bytes} bytes, then the rest only once {@code rest}
   * is counted down; every later answer is whole at once.
   */
  static ScriptedOrigin firstAnswerPausedAfter(int bytes, CountDownLatch rest) throws IOException {
    return new ScriptedOrigin((r, out) -> {
      long[] range = r.range(DATA.length);
      ScriptedOrigin.partial(out, DATA, range[0], range[1], LAST_MODIFIED_T, r.index() == 0 ? bytes : Long.MAX_VALUE);
      if (r.index() == 0) {
        rest.await();
        out.write(DATA, (int) range[0] + bytes, (int) (range[1] - range[0] + 1) - bytes);
        out.flush();
      }
    });
  }

  @Test
  void readAheadStartsOnlyOnceTheReadersOwnBytesAreWritten() throws Exception {
    CountDownLatch rest = new CountDownLatch(1);
    try (ScriptedOrigin paused = firstAnswerPausedAfter(0, rest);
        OriginClient c = new OriginClient(OriginConfig.builder().retryWait(Duration.ZERO).build(), paused.url("/"),
            d -> {}, Clock.systemUTC());
        OpenStub stub = OpenStub.open(tree, TreePath.of(List.of("f.bin")), meta -> paused.url("/f.bin"), CHUNK)) {
      ContentFiller f = new ContentFiller(c, pool, 3, Duration.ofSeconds(20), s -> { });
      FutureTask<Void> read = new FutureTask<>(() -> {
        f.ensure(stub, 0, 100);
        return null;
      });
      Thread reader = new Thread(read, "reader");
      reader.start();
      awaitAllWaitingForBytes(List.of(reader));
      for (long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
          paused.requests().isEmpty() && System.nanoTime() < deadline; ) {
        Thread.sleep(1);
      }
      assertEquals(Set.of(0), Set.copyOf(stub.inflight.keySet()), "no read-ahead fetch competes with the reader's own");
      assertEquals(1, paused.requests().size(), "no read-ahead request competes with the reader's own");
      rest.countDown();
      read.get(10, TimeUnit.SECONDS);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (!(stub.has(1) && stub.has(2) && stub.has(3)) && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      assertTrue(stub.has(0) && stub.has(1) && stub.has(2) && stub.has(3), "then the next three are fetched ahead");
    } finally {
      rest.countDown();
    }
  }

  @Test
  void originFailureIsAnErrorAndNothingIsRecorded() throws Exception {
    origin.fault("/f.bin", Fault.status(500).on("GET"));
    try (OpenStub stub = open("f.bin")) {
      IOException e = assertThrows(IOException.class, () -> filler(0, Duration.ofSeconds(10)).ensure(stub, 0, 10));
      assertTrue(e.getMessage().contains("HTTP 500"), e.getMessage());
      assertFalse(stub.has(0));
      assertFalse(LocalTree.xattr(tmp.resolve("m/f.bin"), "user.lazydir.map").isPresent());
    }
  }

  @Test
  void slowOriginIsATimeoutNotAHang() throws Exception {
    FakeOrigin.Hold answer = origin.fault("/f.bin", Fault.hold().on("GET"));
    try (OpenStub stub = open("f.bin")) {
      // The origin never answers while the reader waits: only the filler's own timeout can end the wait.
      IOException e = assertTimeoutPreemptively(Duration.ofSeconds(10),
          () -> assertThrows(IOException.class, () -> filler(0, Duration.ofMillis(500)).ensure(stub, 0, 10)));
      assertTrue(e.getMessage().contains("not fetched within"), e.getMessage());
      assertEquals(1, answer.arrived(), "the request reached the origin, which still holds its answer");
    } finally {
      answer.release();
    }
  }

  @Test
  void aReaderIsLetThroughAsSoonAsItsOwnBytesAreWritten() throws Exception {
    // The segment's first bytes arrive, the rest only after the reader is through (or never, if it is not).
    CountDownLatch rest = new CountDownLatch(1);
    try (ScriptedOrigin paused = firstAnswerPausedAfter(4096, rest);
        OriginClient c = new OriginClient(OriginConfig.builder().retryWait(Duration.ZERO).build(), paused.url("/"),
            d -> {}, Clock.systemUTC());
        OpenStub stub = OpenStub.open(tree, TreePath.of(List.of("f.bin")), meta -> paused.url("/f.bin"), CHUNK)) {
      new ContentFiller(c, pool, 0, Duration.ofSeconds(10), s -> { }).ensure(stub, 0, 100);
      assertFalse(stub.has(0), "the segment is not complete yet");
      byte[] local = Files.readAllBytes(tmp.resolve("m/f.bin"));
      assertArrayEquals(Arrays.copyOfRange(DATA, 0, 100), Arrays.copyOfRange(local, 0, 100));
    } finally {
      rest.countDown();
    }
  }

  /** Which of the two fetch paths a client takes: lazydir's plain-HTTP fast path, or OkHttp. */
  enum Through { FAST_PATH, OKHTTP }

  /** A client of the fake origin taking the given path (its other host name makes the fast path step aside). */
  OriginClient client(Through through, OriginConfig.Builder b) throws IOException {
    return new OriginClient(b.retries(2).retryWait(Duration.ZERO).build(),
        through == Through.FAST_PATH ? origin.url("/") : origin.rootByAnotherName(), d -> {}, Clock.systemUTC());
  }

  /** The case from a real test: an origin that replaced the file (same size) and ignores If-Range. */
  @ParameterizedTest(name = "through {0}")
  @EnumSource(Through.class)
  void aFileThatChangesBetweenTwoSegmentsFailsTheSecondInsteadOfMixingVersions(Through through) throws Exception {
    byte[] newer = new byte[DATA.length];
    new Random(4).nextBytes(newer);
    try (OriginClient c = client(through, OriginConfig.builder()); OpenStub stub = open("f.bin")) {
      ContentFiller f = new ContentFiller(c, pool, 0, Duration.ofSeconds(10), s -> { });
      f.ensure(stub, 0, CHUNK);
      origin.file("/f.bin", newer, T.plusSeconds(3600));
      IOException e = assertThrows(IOException.class, () -> f.ensure(stub, 5 * CHUNK, CHUNK));
      assertTrue(e.getMessage().contains("changed at the origin"), e.getMessage());
      settle(stub);
      assertFalse(stub.has(5), "the segment is not recorded");
      byte[] local = Files.readAllBytes(tmp.resolve("m/f.bin"));
      assertArrayEquals(new byte[CHUNK], Arrays.copyOfRange(local, 5 * CHUNK, 6 * CHUNK), "no byte of it was written");
      assertArrayEquals(Arrays.copyOfRange(DATA, 0, CHUNK), Arrays.copyOfRange(local, 0, CHUNK));
    }
  }

  @ParameterizedTest(name = "through {0}")
  @EnumSource(Through.class)
  void anOriginGivingANewVersionOnEveryRequestNeverGivesTwoSegmentsOfTwoVersions(Through through) throws Exception {
    origin.fault("/h.bin", Fault.newVersionPerRequest().on("GET"));
    try (OriginClient c = client(through, OriginConfig.builder()); OpenStub stub = open("h.bin")) {
      assertEquals(null, stub.meta().etag(), "the listing gave no ETag: the first answer's binds the rest");
      ContentFiller f = new ContentFiller(c, pool, 0, Duration.ofSeconds(10), s -> { });
      f.ensure(stub, 2 * CHUNK, CHUNK);
      IOException e = assertThrows(IOException.class, () -> f.ensure(stub, 7 * CHUNK, CHUNK));
      assertTrue(e.getMessage().contains("changed at the origin"), e.getMessage());
      settle(stub);
      assertFalse(stub.has(7));
    }
  }

  /**
   * A drip-speed answer: its reader gives up at the timeout. The origin then answers new requests at once, but
   * the old answer never goes on: the next reader must not wait for it.
   */
  @ParameterizedTest(name = "through {0}")
  @EnumSource(Through.class)
  void aSegmentAReaderGaveUpOnIsFetchedAfreshByTheNextReader(Through through) throws Exception {
    CountDownLatch never = new CountDownLatch(1);
    try (ScriptedOrigin slow = new ScriptedOrigin((r, out) -> {
      long[] range = r.range(DATA.length);
      ScriptedOrigin.partial(out, DATA, range[0], range[1], LAST_MODIFIED_T, r.index() == 0 ? 1000 : Long.MAX_VALUE);
      if (r.index() == 0) {
        never.await();
      }
    })) {
      // No stall timeout in this test's time: only giving up on the fetch can let the next reader through.
      OriginConfig config = OriginConfig.builder().stallTimeout(Duration.ofHours(1)).retryWait(Duration.ZERO).build();
      try (OriginClient c = new OriginClient(config, through == Through.FAST_PATH ? slow.url("/") : slow.otherNameUrl("/"),
          d -> {}, Clock.systemUTC());
          OpenStub stub = OpenStub.open(tree, TreePath.of(List.of("f.bin")), meta -> slow.url("/f.bin"), CHUNK)) {
        IOException first = assertThrows(IOException.class,
            () -> new ContentFiller(c, pool, 0, Duration.ofMillis(300), s -> { }).ensure(stub, 0, CHUNK));
        assertTrue(first.getMessage().contains("not fetched within"), first.getMessage());
        new ContentFiller(c, pool, 0, Duration.ofSeconds(20), s -> { }).ensure(stub, 0, CHUNK);
        byte[] local = Files.readAllBytes(tmp.resolve("m/f.bin"));
        assertArrayEquals(Arrays.copyOfRange(DATA, 0, CHUNK), Arrays.copyOfRange(local, 0, CHUNK));
        assertEquals(2, slow.requests().size());
        assertEquals("bytes=1000-" + (CHUNK - 1), slow.requests().get(1).headers().get("range"),
            "resumed after the bytes the abandoned fetch had written");
      }
    } finally {
      never.countDown();
    }
  }

  @ParameterizedTest(name = "through {0}")
  @EnumSource(Through.class)
  void aFileFromAnOriginThatIgnoresRangeIsTransferredOnceWhenReadSequentially(Through through) throws Exception {
    origin.fault("/f.bin", Fault.ignoreRange());
    long before = origin.bodyBytesSent();
    try (OriginClient c = client(through, OriginConfig.builder()); OpenStub stub = open("f.bin")) {
      ContentFiller f = new ContentFiller(c, pool, 4, Duration.ofSeconds(10), s -> completed.incrementAndGet());
      for (long off = 0; off < DATA.length; off += CHUNK) {
        f.ensure(stub, off, CHUNK);
      }
      settle(stub);
      assertTrue(stub.isComplete(), "every segment recorded as the stream wrote it");
      assertArrayEquals(DATA, Files.readAllBytes(tmp.resolve("m/f.bin")));
      long sent = origin.bodyBytesSent() - before;
      assertTrue(sent <= DATA.length * 1.2, sent + " bytes sent for a file of " + DATA.length);
      assertEquals(1, completed.get());
    }
  }

  @Test
  void refusesFilesThatAreNotItsStubs() throws Exception {
    Files.writeString(tmp.resolve("m/foreign.txt"), "mine");
    assertThrows(IOException.class, () -> OpenStub.open(tree, TreePath.of(List.of("foreign.txt")), meta -> origin.url("/x"), CHUNK));
  }
}
