package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.testing.Commands.Result;
import dev.lazydir.index.IndexBuilder;
import dev.lazydir.testing.FakeOrigin;
import dev.lazydir.testing.FakeOrigin.Fault;
import dev.lazydir.testing.IndexedTree;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import okhttp3.mockwebserver.MockResponse;
import okhttp3.mockwebserver.RecordedRequest;
import okio.Buffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `lazydir serve` of a tree from a tree index checks every fetched byte against the index's block digests: a
 * reader gets the index's bytes or EIO, never other bytes, and still streams.
 */
class VerifiedBytesTest {
  static final String BIG = "data/big.bin";
  /** A byte in block 3 of big.bin (4 KiB blocks). */
  static final int BAD = 3 * IndexedTree.BLOCK + 5;

  @TempDir Path tmp;

  static byte[] changedAt(byte[] content, int at) {
    byte[] b = content.clone();
    b[at] ^= 0x5a;
    return b;
  }

  static boolean isPrefix(byte[] prefix, byte[] of) {
    return prefix.length <= of.length && Arrays.equals(prefix, Arrays.copyOf(of, prefix.length));
  }

  static String sha256(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }

  /** A 206 answer to a range request of {@code content}, as FakeOrigin gives it (throttled if bytesPerPeriod > 0). */
  static MockResponse range(RecordedRequest r, byte[] content, Instant mtime, long bytesPerPeriod, long millis) {
    String[] se = r.getHeader("Range").substring("bytes=".length()).split("-", 2);
    int from = Integer.parseInt(se[0]);
    int to = se[1].isEmpty() ? content.length - 1 : Math.min(Integer.parseInt(se[1]), content.length - 1);
    MockResponse m = new MockResponse().setResponseCode(206)
        .setHeader("Content-Range", "bytes " + from + "-" + to + "/" + content.length)
        .setHeader("Last-Modified", DateTimeFormatter.RFC_1123_DATE_TIME.withZone(ZoneOffset.UTC).format(mtime))
        .setBody(new Buffer().write(content, from, to - from + 1));
    return bytesPerPeriod > 0 ? m.throttleBody(bytesPerPeriod, millis, TimeUnit.MILLISECONDS) : m;
  }

  /** The GET requests of a path, in order. */
  static List<RecordedRequest> gets(FakeOrigin origin, String path) {
    return origin.requests().stream()
        .filter(r -> r.getMethod().equals("GET") && FakeOrigin.decodedPath(r).equals(path)).toList();
  }

  @Test
  void anOriginServingOtherBytesThanTheIndexSaysAtTheSameSizeGivesEioAndNotOneWrongByte() throws Exception {
    IndexedTree t = new IndexedTree(tmp.resolve("src"));
    byte[] right = t.files.get(BIG);
    try (FakeOrigin origin = new FakeOrigin(); ServeBed bed = new ServeBed(tmp.resolve("bed"))) {
      t.publish(origin, "");
      Instant mtime = Files.getLastModifiedTime(t.src.resolve(BIG)).toInstant();
      origin.file("/" + BIG, changedAt(right, BAD), mtime); // same size, same time, one byte other
      bed.serve(origin.url("/").toString(), "--prefetch-small", "0");

      Result r = ServeBed.run(30, "cat", bed.view.resolve(BIG).toString());
      assertNotEquals(0, r.exit());
      assertTrue(r.err().contains("Input/output error"), r.err());
      assertTrue(isPrefix(r.out(), right), "every byte the reader got is the index's");
      assertTrue(r.out().length <= BAD - BAD % IndexedTree.BLOCK, "nothing of the wrong block: " + r.out().length);
      List<RecordedRequest> gets = gets(origin, "/" + BIG);
      assertEquals(2, gets.size(), "asked twice, then refused");
      assertEquals("no-cache", gets.get(1).getHeader("Cache-Control"), "the second time past caches");

      Result other = ServeBed.run(20, "cat", bed.view.resolve("README").toString());
      assertEquals("top\n", other.text(), "the other files read on: " + other.err());
      assertTrue(bed.daemonLog(0).contains("do not match the tree index's digest"), bed.daemonLog(0));
    }
  }

  @Test
  void anOriginServingOtherBytesIsPassedOverForAMirrorServingTheIndexsBytes() throws Exception {
    IndexedTree t = new IndexedTree(tmp.resolve("src"));
    byte[] right = t.files.get(BIG);
    try (FakeOrigin origin = new FakeOrigin(); FakeOrigin mirror = new FakeOrigin();
        ServeBed bed = new ServeBed(tmp.resolve("bed"))) {
      t.publish(origin, "");
      t.publish(mirror, "");
      Instant mtime = Files.getLastModifiedTime(t.src.resolve(BIG)).toInstant();
      origin.file("/" + BIG, changedAt(right, BAD), mtime); // same size, same time, one byte other
      bed.serve(origin.url("/").toString(), "--prefetch-small", "0", "--mirror", mirror.url("/").toString());

      Result r = ServeBed.run(30, "cat", bed.view.resolve(BIG).toString());
      assertEquals(0, r.exit(), r.err() + bed.daemonLog(0));
      assertArrayEquals(right, r.out());
      assertEquals(1, gets(origin, "/" + BIG).size(), "the origin's wrong bytes, once");
      assertEquals(1, gets(mirror, "/" + BIG).size(), "then the mirror's");
    }
  }

  @Test
  void aCorruptAnswerThatIsRightOnTheSecondTryReadsCorrectly() throws Exception {
    IndexedTree t = new IndexedTree(tmp.resolve("src"));
    byte[] right = t.files.get(BIG);
    Instant mtime = Files.getLastModifiedTime(t.src.resolve(BIG)).toInstant();
    try (FakeOrigin origin = new FakeOrigin(); ServeBed bed = new ServeBed(tmp.resolve("bed"))) {
      t.publish(origin, "");
      // A cache on the way serves a damaged copy until asked to go to the origin.
      origin.fault("/" + BIG, Fault.answer(r -> r.getMethod().equals("GET") && r.getHeader("Cache-Control") == null
          ? range(r, changedAt(right, BAD), mtime, 0, 0) : null));
      bed.serve(origin.url("/").toString(), "--prefetch-small", "0");

      Result r = ServeBed.run(30, "sha256sum", bed.view.resolve(BIG).toString());
      assertEquals(0, r.exit(), r.err());
      assertTrue(r.text().startsWith(sha256(right)), r.text());
      Result cmp = ServeBed.run(30, "cat", bed.view.resolve(BIG).toString());
      assertArrayEquals(right, cmp.out());
      List<RecordedRequest> gets = gets(origin, "/" + BIG);
      assertEquals(2, gets.size(), "the damaged answer, then the right one");
      assertNull(gets.get(0).getHeader("Cache-Control"));
      assertEquals("no-cache", gets.get(1).getHeader("Cache-Control"));
    }
  }

  @Test
  void aReaderOfALargeFileStreamsWhileEveryByteItGetsIsVerified() throws Exception {
    // 4 MiB in 64 KiB blocks, served in 1 MiB segments; the origin's copy has a wrong byte in its last segment.
    Path src = tmp.resolve("src");
    Files.createDirectories(src);
    byte[] right = new byte[4 << 20];
    new Random(7).nextBytes(right);
    Files.write(src.resolve("large.bin"), right);
    Path index = tmp.resolve("index");
    new IndexBuilder(src, index, 64 << 10).build();
    Instant mtime = Files.getLastModifiedTime(src.resolve("large.bin")).toInstant();
    int bad = (4 << 20) - 1000;
    byte[] served = changedAt(right, bad);
    try (FakeOrigin origin = new FakeOrigin(); ServeBed bed = new ServeBed(tmp.resolve("bed"))) {
      origin.file("/large.bin", served, mtime).file("/.lazydir-index", Files.readAllBytes(index), mtime);
      // The first segment trickles: 256 KiB at once, then 256 KiB every 4 s (12 s for the segment).
      origin.fault("/large.bin", Fault.answer(r -> r.getHeader("Range") != null && r.getHeader("Range").startsWith("bytes=0-")
          ? range(r, served, mtime, 256 << 10, 4000) : null));
      bed.serve(origin.url("/").toString(), "--prefetch-small", "0", "--dl-seg-size", "1");

      // The first byte comes as soon as its block is verified, long before its segment is down.
      Result head = ServeBed.run(6, "head", "-c", "1", bed.view.resolve("large.bin").toString());
      assertEquals(0, head.exit(), head.err());
      assertArrayEquals(new byte[] {right[0]}, head.out());

      Result all = ServeBed.run(60, "cat", bed.view.resolve("large.bin").toString());
      assertNotEquals(0, all.exit(), "the wrong block is refused");
      assertTrue(all.err().contains("Input/output error"), all.err());
      assertTrue(isPrefix(all.out(), right), "every byte the reader got is verified");
      assertTrue(all.out().length >= 2 << 20 && all.out().length < bad,
          "it streamed the right bytes up to the wrong block: " + all.out().length);
    }
  }

  @Test
  void aRestartWhoseIndexCannotBeFetchedStillVerifies() throws Exception {
    IndexedTree t = new IndexedTree(tmp.resolve("src"));
    byte[] right = t.files.get(BIG);
    Instant mtime = Files.getLastModifiedTime(t.src.resolve(BIG)).toInstant();
    try (FakeOrigin origin = new FakeOrigin(); ServeBed bed = new ServeBed(tmp.resolve("bed"))) {
      t.publish(origin, "");
      Process first = bed.serve(origin.url("/").toString(), "--prefetch-small", "0");
      assertEquals(0, bed.stop(first));

      origin.fault("/.lazydir-index", Fault.status(500)); // a warning: the tree and its digests stay as they were
      origin.file("/" + BIG, changedAt(right, BAD), mtime);
      bed.serve(origin.url("/").toString(), "--prefetch-small", "0");
      Result r = ServeBed.run(30, "cat", bed.view.resolve(BIG).toString());
      assertNotEquals(0, r.exit());
      assertTrue(r.err().contains("Input/output error"), r.err());
      assertTrue(isPrefix(r.out(), right), "every byte the reader got is the index's");
      assertTrue(bed.daemonLog(1).contains("listing directories instead"), bed.daemonLog(1));
    }
  }
}
