package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.testing.Commands.Result;
import dev.lazydir.testing.FakeOrigin;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import okhttp3.mockwebserver.RecordedRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A large file read through the view from an origin that holds each connection to a rate (every answer dripped):
 * a sequential reader and a whole-file mmap get every byte right, filled by several range streams.
 */
class ParallelStreamsThroughTheViewTest {
  static final Instant T = Instant.parse("2024-06-01T12:34:56Z");
  static final byte[] BIG = new byte[24 << 20];

  static {
    new Random(21).nextBytes(BIG);
  }

  @TempDir Path tmp;
  FakeOrigin origin;
  ServeBed bed;

  @BeforeEach
  void setUp() throws Exception {
    origin = new FakeOrigin();
    origin.file("/big.bin", BIG, T);
    // 64 KiB every 10 ms: about 6 MB/s per connection, so one stream alone would take 4 s for the file.
    origin.throttle("/big.bin", 64 * 1024, 10);
    bed = new ServeBed(tmp);
  }

  @AfterEach
  void tearDown() throws Exception {
    bed.close();
    origin.close();
  }

  /** The byte ranges asked for big.bin, as [from, to] pairs. */
  Set<String> ranges() {
    Set<String> out = new HashSet<>();
    for (RecordedRequest r : origin.requests()) {
      if (r.getMethod().equals("GET") && r.getPath().endsWith("/big.bin")) {
        out.add(r.getHeader("Range"));
      }
    }
    return out;
  }

  @Test
  void aWholeFileMmapFromAThrottledOriginIsFilledByParallelStreamsAndEveryByteIsRight() throws Exception {
    bed.serve(origin.url("/").toString(), "--dl-seg-size", "1", "--max-conns", "6");
    Result r = ServeBed.run(120, "python3", "-c", "import mmap,sys\n"
        + "f=open(sys.argv[1],'rb'); m=mmap.mmap(f.fileno(),0,prot=mmap.PROT_READ)\n"
        + "sys.stdout.buffer.write(m[:])", bed.view.resolve("big.bin").toString());
    assertEquals(0, r.exit(), r.err());
    assertArrayEquals(BIG, r.out(), "every byte is the origin's");
    // The mapping is one event for the whole file: six streams of four 1 MiB segments each, one request each.
    assertEquals(6, ranges().size(), "one request per stream: " + ranges());
    assertTrue(ranges().contains("bytes=0-" + ((4 << 20) - 1)), ranges().toString());
  }

  @Test
  void aSequentialReaderOfAThrottledOriginGetsEveryByteRight() throws Exception {
    bed.serve(origin.url("/").toString(), "--dl-seg-size", "1", "--max-conns", "8");
    Result cat = ServeBed.run(120, "cat", bed.view.resolve("big.bin").toString());
    assertEquals(0, cat.exit(), cat.err());
    assertArrayEquals(BIG, cat.out(), "every byte is the origin's");
    long bytes = 0;
    for (String range : ranges()) {
      String[] se = range.substring("bytes=".length()).split("-");
      bytes += Long.parseLong(se[1]) - Long.parseLong(se[0]) + 1;
    }
    assertEquals(BIG.length, bytes, "no byte asked for twice: " + ranges());
  }
}
