package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lazydir.testing.Commands.Result;
import dev.lazydir.testing.FakeOrigin;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tree counts a serving daemon keeps (what status and the metrics show, without walking the tree) agree with
 * a walk of the store: after whole and partial reads, after a listing that replaces a changed file, removes a file
 * and a directory and adds a file, and after a restart.
 */
class TreeCountsTest {
  static final int MIB = 1 << 20;
  static final Instant T = Instant.parse("2024-06-01T12:34:56Z");

  @TempDir Path tmp;
  FakeOrigin origin;
  ServeBed bed;

  @BeforeEach
  void setUp() throws Exception {
    origin = new FakeOrigin();
    origin.file("/a/one.bin", DaemonDeathTest.bytes(3 * MIB, 1), T)
        .file("/a/two.bin", DaemonDeathTest.bytes(3 * MIB, 2), T)
        .file("/a/small.txt", "small", T)
        .file("/b/sub/deep.txt", "deep", T)
        .file("/c/gone.txt", "gone", T)
        .file("/top.txt", "top", T);
    bed = new ServeBed(tmp, "128M");
  }

  @AfterEach
  void tearDown() throws Exception {
    bed.close();
    origin.close();
  }

  Path v(String p) {
    return bed.view.resolve(p.substring(1));
  }

  @Test
  void theDaemonsCountersAgreeWithAWalkThroughReadsRelistingsAndARestart() throws Exception {
    String[] opts = {"--refresh-timeout", "1", "--dl-seg-size", "1", "--readahead", "0", "--prefetch-small", "0"};
    Process daemon = bed.serve(origin.url("/").toString(), opts);
    ServeBed.run(30, "cat", v("/a/one.bin").toString(), v("/top.txt").toString());
    ServeBed.run(30, "dd", "if=" + v("/a/two.bin"), "of=/dev/null", "bs=1M", "count=1", "status=none");
    ServeBed.run(30, "ls", "-R", bed.view.toString());
    Map<String, Long> first = assertCountersMatchAWalk();
    assertEquals(1L, first.get("files_partial"), "two.bin is partial: " + first);

    origin.file("/a/two.bin", DaemonDeathTest.bytes(2 * MIB, 3), T.plusSeconds(3600)); // changed: a new stub
    origin.file("/a/new.txt", "new", T);
    origin.remove("/c/gone.txt").remove("/c").remove("/top.txt");
    Thread.sleep(1100); // past the refresh timeout: the next opens list again
    ServeBed.run(30, "ls", bed.view.toString(), v("/a").toString());
    Map<String, Long> relisted = assertCountersMatchAWalk();
    assertEquals(0L, relisted.get("files_partial"), "the partial file was replaced by a stub: " + relisted);

    bed.stop(daemon);
    bed.serve(origin.url("/").toString(), opts);
    assertEquals(relisted, assertCountersMatchAWalk(), "a restart counts the same tree the same");
  }

  /** Waits (10 s at most) for the daemon's counters, as status shows them, to equal a walk of the store. */
  Map<String, Long> assertCountersMatchAWalk() throws Exception {
    Map<String, Long> counted = Map.of();
    Map<String, Long> walked = Map.of();
    for (int i = 0; i < 40; i++) {
      Result st = ServeTest.lazydir("status", "--json", "--store", bed.store.toString(), bed.view.toString());
      assertEquals(0, st.exit(), st.err());
      counted = tree(st.text());
      TreeStatus t = TreeStatus.of(bed.store.resolve("tree"));
      walked = new LinkedHashMap<>();
      walked.put("dirs_listed", t.dirsListed());
      walked.put("dirs_known", t.dirsKnown());
      walked.put("files_populated", t.filesComplete());
      walked.put("files_partial", t.filesPartial());
      walked.put("files_stub", t.filesStub());
      walked.put("bytes_populated", t.bytesPresent());
      walked.put("bytes_total", t.bytesTotal());
      if (counted.equals(walked)) {
        return counted;
      }
      Thread.sleep(250);
    }
    assertEquals(walked, counted, "the daemon's counters (status) against a walk of the store");
    return counted;
  }

  static Map<String, Long> tree(String json) {
    Map<String, Long> m = new LinkedHashMap<>();
    for (String k : new String[] {"dirs_listed", "dirs_known", "files_populated", "files_partial", "files_stub",
        "bytes_populated", "bytes_total"}) {
      Matcher x = Pattern.compile("\"" + k + "\":(\\d+)").matcher(json);
      m.put(k, x.find() ? Long.parseLong(x.group(1)) : -1);
    }
    return m;
  }
}
