package dev.lazydir.serve;

import static dev.lazydir.serve.ContentFillerTest.DATA;
import static dev.lazydir.serve.ContentFillerTest.LAST_MODIFIED_T;
import static dev.lazydir.serve.ContentFillerTest.T;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.crawl.Crawler;
import dev.lazydir.crawl.Progress;
import dev.lazydir.index.IndexDigests.FileDigests;
import dev.lazydir.origin.OriginClient;
import dev.lazydir.origin.OriginConfig;
import dev.lazydir.testing.FakeOrigin;
import dev.lazydir.testing.ScriptedOrigin;
import dev.lazydir.tree.StubTree;
import dev.lazydir.tree.TreePath;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Filling a file that has block digests (from a tree index), without fanotify: every block is checked before it is
 * written and before a reader is let through it; a wrong block is fetched once more bypassing caches, and never
 * written.
 */
class BlockVerifiedFillTest {
  static final int CHUNK = ContentFillerTest.CHUNK;
  static final int BLOCK = 4096;
  /** A byte of block 1 (of segment 0). */
  static final int BAD = BLOCK + 904;

  @TempDir Path tmp;
  FakeOrigin origin;
  StubTree tree;
  ExecutorService pool;

  @BeforeEach
  void setUp() throws Exception {
    origin = new FakeOrigin();
    origin.file("/f.bin", DATA, T);
    OriginConfig config = OriginConfig.builder().retries(2).retryWait(Duration.ZERO).build();
    try (OriginClient c = new OriginClient(config, origin.url("/"), d -> {}, Clock.systemUTC());
        Crawler crawler = new Crawler(c, 5, 2, Progress.NONE, Clock.systemUTC())) {
      crawler.crawl(origin.url("/"), tmp.resolve("m"));
    }
    tree = StubTree.open(tmp.resolve("m"), origin.url("/").toString());
    pool = Executors.newFixedThreadPool(4);
  }

  @AfterEach
  void tearDown() throws Exception {
    pool.shutdownNow();
    tree.close();
    origin.close();
  }

  /** f.bin with the digests of DATA in blocks of {@code block}, fetched from {@code url}. */
  OpenStub open(okhttp3.HttpUrl url, int block) throws IOException {
    FileDigests d = FileDigests.of(DATA, block);
    return OpenStub.open(tree, TreePath.of(List.of("f.bin")), meta -> url, CHUNK, (path, meta) -> Optional.of(d));
  }

  static OriginClient client(okhttp3.HttpUrl origin) throws IOException {
    return new OriginClient(OriginConfig.builder().retries(2).retryWait(Duration.ZERO).build(), origin, d -> {},
        Clock.systemUTC());
  }

  byte[] local() throws IOException {
    return Files.readAllBytes(tmp.resolve("m/f.bin"));
  }

  /** DATA with byte {@code at} changed. */
  static byte[] corrupt(int at) {
    byte[] bad = DATA.clone();
    bad[at] ^= 0x5a;
    return bad;
  }

  /** Answers each range of {@code served.apply(request index)} in full, as a 206 with the right headers. */
  static ScriptedOrigin serving(java.util.function.IntFunction<byte[]> served) throws IOException {
    return new ScriptedOrigin((r, out) -> {
      long[] range = r.range(DATA.length);
      ScriptedOrigin.partial(out, served.apply(r.index()), range[0], range[1], LAST_MODIFIED_T, Long.MAX_VALUE);
    });
  }

  @Test
  void aReaderIsLetThroughOnlyOnceTheWholeBlockHoldingItsBytesIsVerified() throws Exception {
    // The answer stops 100 bytes into block 1 until the test lets it go on.
    CountDownLatch rest = new CountDownLatch(1);
    int sent = BLOCK + 100;
    try (ScriptedOrigin paused = new ScriptedOrigin((r, out) -> pausedAfter(r, out, sent, rest));
        OriginClient c = client(paused.url("/"));
        OpenStub stub = open(paused.url("/f.bin"), BLOCK)) {
      ContentFiller f = new ContentFiller(c, pool, 0, Duration.ofSeconds(20), s -> { });
      f.ensure(stub, 10, 100); // block 0 is whole and verified: through, the segment still incomplete
      assertFalse(stub.has(0));
      assertArrayEquals(Arrays.copyOfRange(DATA, 0, BLOCK), Arrays.copyOfRange(local(), 0, BLOCK));
      assertArrayEquals(new byte[CHUNK - BLOCK], Arrays.copyOfRange(local(), BLOCK, CHUNK),
          "nothing of block 1 is written before all of it is verified");

      // Bytes BLOCK..BLOCK+50 have arrived, but not the rest of their block: that reader waits.
      FutureTask<Void> inBlock1 = new FutureTask<>(() -> {
        f.ensure(stub, BLOCK, 50);
        return null;
      });
      Thread reader = new Thread(inBlock1, "reader-of-block-1");
      reader.start();
      ContentFillerTest.awaitAllWaitingForBytes(List.of(reader));
      Thread.sleep(200);
      assertFalse(inBlock1.isDone(), "let through bytes whose block is not verified");
      rest.countDown();
      inBlock1.get(10, TimeUnit.SECONDS);
      assertArrayEquals(Arrays.copyOfRange(DATA, BLOCK, 2 * BLOCK), Arrays.copyOfRange(local(), BLOCK, 2 * BLOCK));
    } finally {
      rest.countDown();
    }
  }

  private static void pausedAfter(ScriptedOrigin.Request r, OutputStream out, int bytes, CountDownLatch rest)
      throws Exception {
    long[] range = r.range(DATA.length);
    ScriptedOrigin.partial(out, DATA, range[0], range[1], LAST_MODIFIED_T, r.index() == 0 ? bytes : Long.MAX_VALUE);
    if (r.index() == 0) {
      rest.await();
      out.write(DATA, (int) range[0] + bytes, (int) (range[1] - range[0] + 1) - bytes);
      out.flush();
    }
  }

  /** Which of the two fetch paths a client takes: lazydir's plain-HTTP fast path, or OkHttp. */
  enum Through { FAST_PATH, OKHTTP }

  @ParameterizedTest(name = "through {0}")
  @EnumSource(Through.class)
  void aWrongBlockIsNeverWrittenAndIsFetchedOnceMoreBypassingCaches(Through through) throws Exception {
    try (ScriptedOrigin once = serving(i -> i == 0 ? corrupt(BAD) : DATA);
        OriginClient c = client(through == Through.FAST_PATH ? once.url("/") : once.otherNameUrl("/"));
        OpenStub stub = open(once.url("/f.bin"), BLOCK)) {
      new ContentFiller(c, pool, 0, Duration.ofSeconds(10), s -> { }).ensure(stub, 0, CHUNK);
      ContentFillerTest.settle(stub);
      assertTrue(stub.has(0));
      assertArrayEquals(Arrays.copyOfRange(DATA, 0, CHUNK), Arrays.copyOfRange(local(), 0, CHUNK));
      assertEquals(2, once.requests().size(), "fetched once more");
      assertEquals(null, once.requests().get(0).headers().get("cache-control"));
      assertEquals("no-cache", once.requests().get(1).headers().get("cache-control"), "the second time past caches");
      assertEquals("bytes=" + BLOCK + "-" + (CHUNK - 1), once.requests().get(1).headers().get("range"),
          "from the wrong block on: block 0 was verified and kept");
    }
  }

  @Test
  void aBlockWrongTwiceFailsTheReadAndNoneOfItsBytesIsWritten() throws Exception {
    try (ScriptedOrigin always = serving(i -> corrupt(BAD));
        OriginClient c = client(always.url("/"));
        OpenStub stub = open(always.url("/f.bin"), BLOCK)) {
      ContentFiller f = new ContentFiller(c, pool, 0, Duration.ofSeconds(10), s -> { });
      IOException e = assertThrows(IOException.class, () -> f.ensure(stub, 0, CHUNK));
      assertTrue(e.getMessage().contains("do not match the tree index's digest"), e.getMessage());
      assertTrue(e.getMessage().contains("also when fetched again"), e.getMessage());
      ContentFillerTest.settle(stub);
      assertFalse(stub.has(0), "the segment is not recorded");
      assertEquals(2, always.requests().size(), "fetched twice, not more");
      byte[] local = local();
      assertArrayEquals(new byte[CHUNK - BLOCK], Arrays.copyOfRange(local, BLOCK, CHUNK), "no byte of the wrong block");
      assertArrayEquals(Arrays.copyOfRange(DATA, 0, BLOCK), Arrays.copyOfRange(local, 0, BLOCK));
      // The block before the wrong one was verified: its reader is served; the wrong block's is not, again.
      f.ensure(stub, 0, BLOCK);
      assertThrows(IOException.class, () -> f.ensure(stub, BAD, 1));
    }
  }

  @Test
  void anIndexBlockLargerThanTheSegmentWidensTheSegmentToWholeBlocks() throws Exception {
    try (ScriptedOrigin right = serving(i -> DATA);
        OriginClient c = client(right.url("/"));
        OpenStub stub = open(right.url("/f.bin"), 2 * CHUNK)) {
      assertEquals(2 * CHUNK, stub.mapView().segmentSize(), "segments of whole blocks");
      new ContentFiller(c, pool, 0, Duration.ofSeconds(10), s -> { }).ensure(stub, CHUNK + 10, 10);
      ContentFillerTest.settle(stub);
      assertEquals("bytes=0-" + (2 * CHUNK - 1), right.requests().get(0).headers().get("range"));
      assertArrayEquals(Arrays.copyOfRange(DATA, 0, 2 * CHUNK), Arrays.copyOfRange(local(), 0, 2 * CHUNK));
    }
  }

  @Test
  void aMapRecordedInSegmentsThatAreNotWholeBlocksIsNotTrusted() throws Exception {
    try (OriginClient c = client(origin.url("/"));
        OpenStub unverified = OpenStub.open(tree, TreePath.of(List.of("f.bin")), meta -> origin.url("/f.bin"), CHUNK)) {
      new ContentFiller(c, pool, 0, Duration.ofSeconds(10), s -> { }).ensure(unverified, 0, CHUNK);
      ContentFillerTest.settle(unverified);
      assertTrue(unverified.has(0));
    }
    try (OpenStub stub = open(origin.url("/f.bin"), 2 * CHUNK)) {
      assertFalse(stub.has(0), "a 64 KiB segment is half a 128 KiB block: fetched again, verified");
    }
    try (OpenStub stub = open(origin.url("/f.bin"), BLOCK)) {
      assertTrue(stub.has(0), "64 KiB segments are whole 4 KiB blocks: kept");
    }
  }

  @Test
  void aFileFromAnOriginThatIgnoresRangeIsVerifiedAsItStreams() throws Exception {
    // Python's http.server: the whole file to every range request; the first time with a wrong block near its end.
    java.util.concurrent.atomic.AtomicInteger answers = new java.util.concurrent.atomic.AtomicInteger();
    origin.fault("/f.bin", FakeOrigin.Fault.answer(r -> new okhttp3.mockwebserver.MockResponse()
        .setBody(new okio.Buffer().write(answers.getAndIncrement() == 0 ? corrupt(9 * CHUNK + 7) : DATA))));
    try (OriginClient c = client(origin.url("/")); OpenStub stub = open(origin.url("/f.bin"), BLOCK)) {
      ContentFiller f = new ContentFiller(c, pool, 4, Duration.ofSeconds(10), s -> { });
      for (long off = 0; off < DATA.length; off += CHUNK) {
        f.ensure(stub, off, CHUNK);
      }
      ContentFillerTest.settle(stub);
      assertTrue(stub.isComplete());
      assertArrayEquals(DATA, local());
      assertTrue(answers.get() >= 2, "the stream with the wrong block was not trusted");
    }
  }
}
