package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.crawl.Crawler;
import dev.lazydir.crawl.Progress;
import dev.lazydir.origin.OriginClient;
import dev.lazydir.origin.OriginConfig;
import dev.lazydir.testing.FakeOrigin;
import dev.lazydir.testing.FakeOrigin.Fault;
import dev.lazydir.testing.ScriptedOrigin;
import dev.lazydir.tree.StubTree;
import dev.lazydir.tree.TreePath;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import okhttp3.mockwebserver.MockResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A large range is filled by several range streams at once, readers are let through as their own bytes land, and
 * one stream's failure fails only the readers of its bytes. Concurrency is shown by requests held at the origin,
 * not by timing.
 */
class ParallelStreamsTest {
  static final int CHUNK = 64 * 1024;
  static final int SEGMENTS = 16;
  static final Instant T = Instant.parse("2024-03-05T06:07:08Z");
  static final byte[] DATA = new byte[SEGMENTS * CHUNK];

  static {
    new Random(5).nextBytes(DATA);
  }

  @TempDir Path tmp;
  FakeOrigin origin;
  OriginClient client;
  StubTree tree;
  ExecutorService pool;

  @BeforeEach
  void setUp() throws Exception {
    origin = new FakeOrigin();
    origin.file("/big.bin", DATA, T);
    client = new OriginClient(OriginConfig.builder().maxConns(8).retries(2).retryWait(Duration.ZERO).build(),
        origin.url("/"), d -> {}, Clock.systemUTC());
    try (Crawler c = new Crawler(client, 5, 2, Progress.NONE, Clock.systemUTC())) {
      c.crawl(origin.url("/"), tmp.resolve("m"));
    }
    tree = StubTree.open(tmp.resolve("m"), origin.url("/").toString());
    pool = Executors.newFixedThreadPool(8);
  }

  @AfterEach
  void tearDown() throws Exception {
    pool.shutdownNow();
    tree.close();
    client.close();
    origin.close();
  }

  OpenStub open() throws IOException {
    return OpenStub.open(tree, TreePath.of(List.of("big.bin")), CHUNK, OpenStub.DigestsOf.NONE);
  }

  static FutureTask<Void> reader(ContentFiller f, OpenStub stub, long offset, long count, List<Thread> threads) {
    FutureTask<Void> task = new FutureTask<>(() -> {
      f.ensure(stub, offset, count);
      return null;
    });
    Thread t = new Thread(task, "reader-" + offset);
    threads.add(t);
    t.start();
    return task;
  }

  byte[] local() throws IOException {
    return Files.readAllBytes(tmp.resolve("m/big.bin"));
  }

  @Test
  void aWholeFileMmapIsFilledByAsManyStreamsAsMaxConnsAllInFlightAtOnce() throws Exception {
    FakeOrigin.Hold held = origin.fault("/big.bin", Fault.hold().on("GET"));
    try (OpenStub stub = open()) {
      ContentFiller f = new ContentFiller(client, pool, 4, 4, Duration.ofSeconds(20), s -> { });
      List<Thread> threads = new ArrayList<>();
      FutureTask<Void> mmap = reader(f, stub, 0, DATA.length, threads); // the kernel's one event for the mapping
      assertTrue(held.awaitHeld(4), "four range requests in flight at once");
      ContentFillerTest.awaitAllWaitingForBytes(threads);
      held.release();
      mmap.get(20, TimeUnit.SECONDS);
      assertEquals(4, origin.count("GET", "/big.bin"), "one request per stream, each a quarter of the file");
      java.util.Set<String> ranges = origin.requests().stream().filter(r -> r.getMethod().equals("GET")
          && r.getPath().endsWith("big.bin")).map(r -> r.getHeader("Range")).collect(java.util.stream.Collectors.toSet());
      assertEquals(java.util.Set.of("bytes=0-" + (4 * CHUNK - 1), "bytes=" + 4 * CHUNK + "-" + (8 * CHUNK - 1),
          "bytes=" + 8 * CHUNK + "-" + (12 * CHUNK - 1), "bytes=" + 12 * CHUNK + "-" + (16 * CHUNK - 1)), ranges);
      assertArrayEquals(DATA, local(), "every byte is the origin's");
      assertTrue(stub.isComplete());
    } finally {
      held.release();
    }
  }

  @Test
  void aStreamWhoseGatheredBytesFailedToBeWrittenEndsInErrorNotAsIfTheyWereOnDisk() throws Exception {
    try (OpenStub stub = open()) {
      SegmentFetch fetch = new SegmentFetch(stub, 0, 0, 0);
      WriteBatch batch = new WriteBatch(stub, fetch);
      batch.write(0, java.nio.ByteBuffer.wrap(Arrays.copyOf(DATA, 4096))); // gathered, not written yet
      stub.fd.close(); // the next write fails (as on a full or failing disk)
      batch.flushQuietly(); // a reader arriving: its flush fails, quietly (the failure is the stream's)
      assertThrows(java.io.IOException.class, batch::close, "the stream's end reports the failed write");
      assertFalse(stub.has(0), "nothing recorded present");
    }
  }

  @Test
  void aSequentialReaderHasItsWindowOfStreamsInFlightAheadOfIt() throws Exception {
    // Every request but the reader's own first one is held: what the window asks for shows as held requests.
    CountDownLatch ahead = new CountDownLatch(1);
    AtomicInteger heldAhead = new AtomicInteger();
    origin.fault("/big.bin", Fault.answer(r -> {
      if (r.getMethod().equals("GET") && !r.getHeader("Range").startsWith("bytes=0-")) {
        heldAhead.incrementAndGet();
        try {
          ahead.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      return null;
    }).on("GET"));
    try (OpenStub stub = open()) {
      ContentFiller f = new ContentFiller(client, pool, 4, 8, Duration.ofSeconds(20), s -> { });
      f.ensure(stub, 0, 4096);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (heldAhead.get() < StreamWindow.START && System.nanoTime() < deadline) {
        Thread.sleep(5);
      }
      Thread.sleep(200); // every stream the window starts now is held by then
      // START on loopback; where the reader's first byte took a network's round trip (a loaded machine can look
      // like one) the window starts at NETWORK_START: either way its streams are all in flight together.
      int streams = stub.window().orElseThrow().inFlight();
      assertTrue(streams >= StreamWindow.START, "at least " + StreamWindow.START + " streams, got " + streams);
      assertEquals(streams, heldAhead.get(), "the window's streams are in flight at once");
      ahead.countDown();
      f.ensure(stub, CHUNK, 4096);
      f.ensure(stub, 2 * CHUNK, 4096);
      f.ensure(stub, 0, 5 * CHUNK);
      byte[] local = local();
      assertArrayEquals(Arrays.copyOfRange(DATA, 0, 5 * CHUNK), Arrays.copyOfRange(local, 0, 5 * CHUNK));
    } finally {
      ahead.countDown();
    }
  }

  @Test
  void aReaderIsAnsweredWhenItsBytesLandNotWhenTheWholeStreamIsDone() throws Exception {
    // One stream for four segments; the origin sends its first one and a half, then holds the rest.
    CountDownLatch rest = new CountDownLatch(1);
    int sent = CHUNK + CHUNK / 2;
    try (ScriptedOrigin paused = new ScriptedOrigin((r, out) -> {
      long[] range = r.range(DATA.length);
      ScriptedOrigin.partial(out, DATA, range[0], range[1], ContentFillerTest.LAST_MODIFIED_T,
          r.index() == 0 ? sent : Long.MAX_VALUE);
      if (r.index() == 0) {
        rest.await();
        out.write(DATA, (int) range[0] + sent, (int) (range[1] - range[0] + 1) - sent);
        out.flush();
      }
    });
        OriginClient c = new OriginClient(OriginConfig.builder().retryWait(Duration.ZERO).build(), paused.url("/"),
            d -> {}, Clock.systemUTC());
        OpenStub stub = OpenStub.open(tree, TreePath.of(List.of("big.bin")), meta -> paused.url("/big.bin"), CHUNK)) {
      ContentFiller f = new ContentFiller(c, pool, 0, 1, Duration.ofSeconds(20), s -> { });
      List<Thread> threads = new ArrayList<>();
      FutureTask<Void> whole = reader(f, stub, 0, 4 * CHUNK, threads);
      ContentFillerTest.awaitAllWaitingForBytes(threads);
      // Readers of bytes that have landed get through at once, in the order they asked, while the stream goes on.
      f.ensure(stub, 0, 4096);
      f.ensure(stub, CHUNK, CHUNK / 2);
      List<Thread> later = new ArrayList<>();
      FutureTask<Void> beyond = reader(f, stub, 3 * CHUNK, 4096, later);
      ContentFillerTest.awaitAllWaitingForBytes(later);
      assertFalse(whole.isDone(), "the reader of the whole range still waits");
      assertFalse(beyond.isDone(), "a reader of bytes not landed yet waits");
      assertEquals(1, paused.requests().size(), "all of them served by the one stream");
      rest.countDown();
      whole.get(10, TimeUnit.SECONDS);
      beyond.get(10, TimeUnit.SECONDS);
      assertArrayEquals(Arrays.copyOfRange(DATA, 0, 4 * CHUNK), Arrays.copyOfRange(local(), 0, 4 * CHUNK));
    } finally {
      rest.countDown();
    }
  }

  @Test
  void bytesAStreamGatheredBeforeAnyReaderAskedReachTheFirstReaderWithoutTheRestOfTheStream() throws Exception {
    // A stream ahead of every reader gathers small pieces into larger writes (WriteBatch). The origin sends 40 KiB
    // in 4 KiB pieces (less than a write gathers) and holds the rest: a reader of those bytes gets them without
    // waiting for the rest (it would if gathered bytes were kept back until a batch is full).
    CountDownLatch rest = new CountDownLatch(1);
    CountDownLatch sentSome = new CountDownLatch(1);
    int sent = 40 * 1024;
    try (ScriptedOrigin paused = new ScriptedOrigin((r, out) -> {
      long[] range = r.range(DATA.length);
      ScriptedOrigin.partial(out, DATA, range[0], range[1], ContentFillerTest.LAST_MODIFIED_T, 0);
      for (int at = 0; at < sent; at += 4096) {
        out.write(DATA, (int) range[0] + at, 4096);
        out.flush();
      }
      sentSome.countDown();
      rest.await();
      out.write(DATA, (int) range[0] + sent, (int) (range[1] - range[0] + 1) - sent);
      out.flush();
    });
        // A stall timeout far beyond the reader's wait: a stalled stream that gave up would write what it gathered too.
        OriginClient c = new OriginClient(OriginConfig.builder().retryWait(Duration.ZERO)
            .stallTimeout(Duration.ofSeconds(60)).build(), paused.url("/"),
            d -> {}, Clock.systemUTC());
        OpenStub stub = OpenStub.open(tree, TreePath.of(List.of("big.bin")), meta -> paused.url("/big.bin"), CHUNK)) {
      ContentFiller f = new ContentFiller(c, pool, 0, 1, Duration.ofSeconds(20), s -> { });
      java.util.concurrent.CompletableFuture<Void> ahead = f.prefetch(stub, 0, 4 * CHUNK, 1);
      assertTrue(sentSome.await(10, TimeUnit.SECONDS));
      Thread.sleep(200); // the stream most likely has the pieces before the reader asks (either order must work)
      FutureTask<Void> first = reader(f, stub, 0, 4096, new ArrayList<>());
      first.get(5, TimeUnit.SECONDS); // not after the rest, nor after a stall
      assertFalse(ahead.isDone(), "the stream still waits for the rest");
      assertArrayEquals(Arrays.copyOfRange(DATA, 0, 4096), Arrays.copyOfRange(local(), 0, 4096));
      rest.countDown();
      ahead.get(10, TimeUnit.SECONDS);
      assertArrayEquals(Arrays.copyOfRange(DATA, 0, 4 * CHUNK), Arrays.copyOfRange(local(), 0, 4 * CHUNK));
    } finally {
      rest.countDown();
    }
  }

  @Test
  void aFailingStreamFailsOnlyTheReadersOfItsBytesWithAnErrorNeverZeros() throws Exception {
    // Two streams over the file; the one for the first half is held until every reader waits, then fails.
    CountDownLatch fail = new CountDownLatch(1);
    origin.fault("/big.bin", Fault.answer(r -> {
      if (!r.getHeader("Range").startsWith("bytes=0-")) {
        return null;
      }
      try {
        fail.await(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return new MockResponse().setResponseCode(500);
    }).on("GET"));
    try (OpenStub stub = open()) {
      ContentFiller f = new ContentFiller(client, pool, 0, 2, Duration.ofSeconds(20), s -> { });
      int half = SEGMENTS / 2;
      List<Thread> threads = new ArrayList<>();
      FutureTask<Void> whole = reader(f, stub, 0, DATA.length, threads); // an mmap: two streams
      ContentFillerTest.awaitAllWaitingForBytes(threads);
      FutureTask<Void> ofFailing = reader(f, stub, CHUNK, 10, threads);
      ContentFillerTest.awaitAllWaitingForBytes(threads);
      FutureTask<Void> ofGood = reader(f, stub, half * CHUNK + 5, 10, new ArrayList<>());
      fail.countDown();
      ExecutionException e = assertThrows(ExecutionException.class, () -> ofFailing.get(10, TimeUnit.SECONDS));
      assertTrue(e.getCause().getMessage().contains("HTTP 500"), e.getCause().getMessage());
      assertThrows(ExecutionException.class, () -> whole.get(10, TimeUnit.SECONDS));
      ofGood.get(10, TimeUnit.SECONDS); // the other stream's reader gets the origin's bytes
      ContentFillerTest.settle(stub);
      for (int c = 0; c < SEGMENTS; c++) {
        assertEquals(c >= half, stub.has(c), "segment " + c + " recorded only if its stream succeeded");
      }
      byte[] local = local();
      assertArrayEquals(Arrays.copyOfRange(DATA, half * CHUNK, DATA.length), Arrays.copyOfRange(local, half * CHUNK, DATA.length));
      assertEquals(1, origin.requests().stream().filter(r -> r.getMethod().equals("GET") && r.getPath().endsWith("big.bin")
          && !r.getHeader("Range").startsWith("bytes=0-")).count(), "the good stream's one request; no reader asked again");
    } finally {
      fail.countDown();
    }
  }

  @Test
  void aStalledStreamIsResumedOnAFreshConnectionWhileTheOthersGoOn() throws Exception {
    CountDownLatch never = new CountDownLatch(1);
    java.util.concurrent.atomic.AtomicBoolean stalled = new java.util.concurrent.atomic.AtomicBoolean();
    try (ScriptedOrigin stalling = new ScriptedOrigin((r, out) -> {
      long[] range = r.range(DATA.length);
      boolean first = range[0] == 0 && stalled.compareAndSet(false, true);
      ScriptedOrigin.partial(out, DATA, range[0], range[1], ContentFillerTest.LAST_MODIFIED_T,
          first ? 1000 : Long.MAX_VALUE);
      if (first) {
        never.await(); // sends nothing more: only the stall timeout ends this answer
      }
    });
        OriginClient c = new OriginClient(OriginConfig.builder().stallTimeout(Duration.ofMillis(300))
            .retryWait(Duration.ZERO).build(), stalling.url("/"), d -> {}, Clock.systemUTC());
        OpenStub stub = OpenStub.open(tree, TreePath.of(List.of("big.bin")), meta -> stalling.url("/big.bin"), CHUNK)) {
      ContentFiller f = new ContentFiller(c, pool, 0, 4, Duration.ofSeconds(20), s -> { });
      f.ensure(stub, 0, DATA.length);
      assertArrayEquals(DATA, local(), "every byte is the origin's");
      long fromZero = stalling.requests().stream().filter(q -> q.headers().get("range").startsWith("bytes=0-")).count();
      assertEquals(1, fromZero, "the stalled stream's first request");
      assertTrue(stalling.requests().stream().anyMatch(q -> q.headers().get("range").startsWith("bytes=1000-")),
          "resumed after the bytes it had written: " + stalling.requests());
      assertEquals(5, stalling.requests().size(), "four streams and one resumption");
    } finally {
      never.countDown();
    }
  }
}
