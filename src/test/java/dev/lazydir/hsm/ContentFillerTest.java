package dev.lazydir.hsm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.crawl.Crawler;
import dev.lazydir.crawl.Progress;
import dev.lazydir.crawl.TreeUrls;
import dev.lazydir.origin.OriginClient;
import dev.lazydir.origin.OriginConfig;
import dev.lazydir.testing.FakeOrigin;
import dev.lazydir.testing.LocalTree;
import dev.lazydir.tree.StubTree;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import okhttp3.mockwebserver.MockResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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
    origin.file("/f.bin", DATA, T).file("/g.bin", "small", T);
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
    return OpenStub.open(tree, List.of(), name, meta -> TreeUrls.fileUrl(tree, List.of(), name, meta), CHUNK);
  }

  /** ensure() returns once the reader's bytes are written; the segment is recorded just after: wait for that. */
  static void settle(OpenStub stub) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!stub.inflight.isEmpty() && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    assertTrue(stub.inflight.isEmpty(), "fetches finished");
  }

  ContentFiller filler(int readahead, Duration timeout) {
    return new ContentFiller(client, pool, readahead, timeout, s -> completed.incrementAndGet());
  }

  @Test
  void rangeReadFetchesOnlyItsChunksAndRecordsThemAfterWriting() throws Exception {
    try (OpenStub stub = open("f.bin")) {
      filler(0, Duration.ofSeconds(10)).ensure(stub, 3 * CHUNK + 10, 100);
      settle(stub);
      byte[] local = Files.readAllBytes(tmp.resolve("m/f.bin"));
      assertArrayEquals(Arrays.copyOfRange(DATA, 3 * CHUNK, 4 * CHUNK), Arrays.copyOfRange(local, 3 * CHUNK, 4 * CHUNK));
      assertEquals(1, origin.count("GET", "/f.bin"));
      stub.persist();
      ChunkMap map = ChunkMap.decode(LocalTree.xattrBytes(tmp.resolve("m/f.bin"), "user.lazydir.map").orElseThrow(),
          DATA.length, ChunkMap.tagOf(stub.meta())).orElseThrow();
      assertTrue(map.has(3) && !map.has(2) && !map.has(4), "the map on disk names exactly chunk 3");
      assertEquals(T, Files.getLastModifiedTime(tmp.resolve("m/f.bin")).toInstant(), "origin mtime kept");
    }
  }

  @Test
  void wholeFileAndRestartResumeWithoutRefetching() throws Exception {
    try (OpenStub stub = open("f.bin")) {
      filler(0, Duration.ofSeconds(10)).ensure(stub, 0, 5 * CHUNK);
      settle(stub);
    }
    int before = origin.count("GET", "/f.bin");
    try (OpenStub again = open("f.bin")) {
      assertTrue(again.has(0) && again.has(4) && !again.has(5), "the map survived the close");
      filler(0, Duration.ofSeconds(10)).ensure(again, 0, 0);
      settle(again);
      assertTrue(again.isComplete());
    }
    assertEquals(before + 6, origin.count("GET", "/f.bin"), "only the 6 missing chunks were fetched");
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

  @Test
  void readersOfTheSameChunkShareOneFetch() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    origin.override(r -> {
      if (r.getMethod().equals("GET")) {
        try {
          release.await(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      return null;
    });
    try (OpenStub stub = open("f.bin")) {
      ContentFiller f = filler(0, Duration.ofSeconds(10));
      ExecutorService readers = Executors.newFixedThreadPool(4);
      List<Future<?>> done = new java.util.ArrayList<>();
      for (int i = 0; i < 4; i++) {
        int off = i * 1000;
        done.add(readers.submit(() -> {
          f.ensure(stub, off, 100);
          return null;
        }));
      }
      Thread.sleep(200);
      release.countDown();
      for (Future<?> d : done) {
        d.get(10, TimeUnit.SECONDS);
      }
      readers.shutdown();
      assertEquals(1, origin.count("GET", "/f.bin"));
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
      assertTrue(stub.has(1) && stub.has(2) && stub.has(3), "next three chunks fetched ahead");
      assertFalse(stub.has(4));
    }
  }

  @Test
  void readAheadStartsOnlyOnceTheReadersOwnSegmentIsDown() throws Exception {
    origin.throttle("/f.bin", 16 * 1024, 100); // a segment takes about 400 ms
    try (OpenStub stub = open("f.bin")) {
      filler(3, Duration.ofSeconds(20)).ensure(stub, 0, 100);
      assertFalse(stub.has(0), "let through before its segment is complete");
      assertEquals(1, origin.count("GET", "/f.bin"), "no read-ahead request competes with the reader's own");
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (!(stub.has(1) && stub.has(2) && stub.has(3)) && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      assertTrue(stub.has(0) && stub.has(1) && stub.has(2) && stub.has(3), "then the next three are fetched ahead");
    }
  }

  @Test
  void originFailureIsAnErrorAndNothingIsRecorded() throws Exception {
    origin.override(r -> r.getMethod().equals("GET") ? new MockResponse().setResponseCode(500) : null);
    try (OpenStub stub = open("f.bin")) {
      IOException e = assertThrows(IOException.class, () -> filler(0, Duration.ofSeconds(10)).ensure(stub, 0, 10));
      assertTrue(e.getMessage().contains("HTTP 500"), e.getMessage());
      assertFalse(stub.has(0));
      assertFalse(LocalTree.xattr(tmp.resolve("m/f.bin"), "user.lazydir.map").isPresent());
    }
  }

  @Test
  void slowOriginIsATimeoutNotAHang() throws Exception {
    origin.override(r -> r.getMethod().equals("GET")
        ? new MockResponse().setResponseCode(206).setBodyDelay(3, TimeUnit.SECONDS)
            .setHeader("Content-Range", "bytes 0-" + (CHUNK - 1) + "/" + DATA.length).setBody("x") : null);
    try (OpenStub stub = open("f.bin")) {
      long t0 = System.nanoTime();
      IOException e = assertThrows(IOException.class, () -> filler(0, Duration.ofMillis(500)).ensure(stub, 0, 10));
      assertTrue(e.getMessage().contains("not fetched within"), e.getMessage());
      assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(2));
    }
  }

  @Test
  void aReaderIsLetThroughAsSoonAsItsOwnBytesAreWritten() throws Exception {
    // The segment's body trickles: its first bytes are there long before the rest.
    origin.throttle("/f.bin", 4096, 200);
    try (OpenStub stub = open("f.bin")) {
      long t0 = System.nanoTime();
      filler(0, Duration.ofSeconds(20)).ensure(stub, 0, 100);
      long ms = (System.nanoTime() - t0) / 1_000_000;
      assertTrue(ms < 1500, "let through after " + ms + " ms; the whole segment needs over 3 s");
      assertFalse(stub.has(0), "the segment is not complete yet");
      byte[] local = Files.readAllBytes(tmp.resolve("m/f.bin"));
      assertArrayEquals(Arrays.copyOfRange(DATA, 0, 100), Arrays.copyOfRange(local, 0, 100), "after " + ms + " ms");
    }
  }

  @Test
  void refusesFilesThatAreNotItsStubs() throws Exception {
    Files.writeString(tmp.resolve("m/foreign.txt"), "mine");
    assertThrows(IOException.class, () -> OpenStub.open(tree, List.of(), "foreign.txt", meta -> origin.url("/x"), CHUNK));
  }
}
