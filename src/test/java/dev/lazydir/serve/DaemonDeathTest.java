package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.lazydir.testing.Commands.Result;
import dev.lazydir.testing.FakeOrigin;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What readers get when the daemon is killed or stopped: the origin's bytes or EIO, never zeros, never a wait
 * without end; and a restarted daemon serves readers that held their files across the restart. The guard holds
 * the daemon's fanotify group after it ({@link Guard}), the next daemon takes it over ({@link GroupHandOver}).
 */
class DaemonDeathTest {
  static final Instant T = Instant.parse("2024-06-01T12:34:56Z");
  static final int MIB = 1 << 20;
  static final byte[] RANDOM = bytes(20 * MIB, 11);
  static final byte[] SLOW = bytes(2 * MIB, 12);

  @TempDir Path tmp;
  FakeOrigin origin;
  ServeBed bed;
  /** The slow file's bytes are held back until the test lets them go: its reader is blocked at the kill. */
  final FakeOrigin.Hold slow = FakeOrigin.Fault.hold().on("GET");

  static byte[] bytes(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  @BeforeEach
  void setUp() throws Exception {
    origin = new FakeOrigin();
    origin.file("/data/random.bin", RANDOM, T).file("/stall/slow.bin", SLOW, T);
    origin.fault("/stall/slow.bin", slow);
    bed = new ServeBed(tmp);
  }

  @AfterEach
  void tearDown() throws Exception {
    slow.release();
    bed.close();
    origin.close();
  }

  Path v(String originPath) {
    return bed.view.resolve(originPath.substring(1));
  }

  @Test
  void aReaderBlockedWhenTheDaemonIsKilledGetsEioWithinSecondsNeverZeros() throws Exception {
    Process daemon = bed.serve(origin.url("/").toString(), "--readahead", "0");
    ServeBed.run(30, "ls", v("/stall").toString());
    Process dd = new ProcessBuilder("dd", "if=" + v("/stall/slow.bin"), "bs=65536", "count=1", "status=none").start();
    assertTrue(slow.awaitHeld(1), "the reader's segment was asked for");

    daemon.destroyForcibly(); // SIGKILL while the reader waits for its bytes

    assertTrue(dd.waitFor(5, TimeUnit.SECONDS), "the blocked reader returned within 5 s of the kill");
    byte[] out = dd.getInputStream().readAllBytes();
    String err = new String(dd.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertNotEquals(0, dd.exitValue(), "the read failed");
    assertEquals(0, out.length, "no byte was handed out");
    assertTrue(err.contains("Input/output error"), err);
  }

  @Test
  void aReaderOfAStoppedDaemonGetsEioOnceTheDaemonStaysStoppedLongerThanTheTimeout() throws Exception {
    Process daemon = bed.serve(origin.url("/").toString(), "--readahead", "0", "--timeout", "2");
    ServeBed.run(30, "ls", v("/stall").toString());
    Process dd = new ProcessBuilder("dd", "if=" + v("/stall/slow.bin"), "bs=65536", "count=1", "status=none").start();
    assertTrue(slow.awaitHeld(1), "the reader's segment was asked for");

    assertEquals(0, ServeBed.run(10, "kill", "-STOP", Long.toString(daemon.pid())).exit()); // frozen, not dead

    assertTrue(dd.waitFor(2 + 5, TimeUnit.SECONDS), "the reader returned within the timeout and 5 s");
    assertNotEquals(0, dd.exitValue(), "the read failed");
    assertEquals(0, dd.getInputStream().readAllBytes().length, "no byte was handed out");
    assertTrue(daemon.waitFor(5, TimeUnit.SECONDS), "the guard ended the stopped daemon");
  }

  @Test
  void aReaderHoldingAFileAcrossACleanStopGetsEioNeverZerosAndTheGuardLeavesAfterIt() throws Exception {
    Process daemon = bed.serve(origin.url("/").toString(), "--readahead", "0", "--dl-seg-size", "1");
    ServeBed.run(30, "ls", v("/data").toString());
    try (FileChannel held = FileChannel.open(v("/data/random.bin"))) {
      assertArrayEquals(Arrays.copyOf(RANDOM, 4096), read(held, 0));

      assertEquals(0, bed.stop(daemon), "SIGTERM is a clean stop");

      assertBytesOrEio(held, 10 * MIB);
      assertTrue(bed.guard().isPresent(), "the guard holds the group while a reader holds a file of the view");
    }
    assertTrue(bed.guardGoneWithin(5_000), "the guard let go once the last reader closed its file");
  }

  @Test
  void aCleanStopWithNoReaderLeavesNoProcessBehind() throws Exception {
    Process daemon = bed.serve(origin.url("/").toString());
    ServeBed.run(30, "ls", v("/data").toString());
    assertEquals(0, bed.stop(daemon));
    assertTrue(bed.guardGoneWithin(3_000), "no guard left running after a clean stop that no one was reading");
  }

  @Test
  void theDaemonsGroupHasAnUnlimitedQueueAndItsDescriptorsAreCappedSoTheGuardKnowsEveryEventNumber()
      throws Exception {
    Process daemon = bed.serve(origin.url("/").toString());
    String groupInfo = null;
    try (var fds = java.nio.file.Files.list(Path.of("/proc/" + daemon.pid() + "/fdinfo"))) {
      for (Path p : (Iterable<Path>) fds::iterator) {
        String info;
        try {
          info = java.nio.file.Files.readString(p);
        } catch (java.nio.file.NoSuchFileException closedMeanwhile) {
          continue; // a descriptor the daemon closed between the listing and the read (a connection, a stub)
        }
        if (info.contains("fanotify flags:")) {
          groupInfo = info;
        }
      }
    }
    assertTrue(groupInfo != null, "the daemon holds a fanotify group");
    String flags = groupInfo.lines().filter(l -> l.startsWith("fanotify flags:")).findFirst().orElseThrow()
        .split("\\s+")[1].substring("flags:".length()); // "fanotify flags:HEX event-flags:HEX"
    assertTrue((Long.parseLong(flags, 16) & 0x10) != 0, "FAN_UNLIMITED_QUEUE in " + flags);
    String limit = java.nio.file.Files.readAllLines(Path.of("/proc/" + daemon.pid() + "/limits")).stream()
        .filter(l -> l.startsWith("Max open files")).findFirst().orElseThrow();
    long soft = Long.parseLong(limit.substring("Max open files".length()).trim().split("\\s+")[0]);
    assertTrue(soft <= 65_536, "the guard's bound on event numbers holds: " + limit);
  }

  @Test
  void aRestartServesAReaderThatHeldItsFileAcrossTheKill() throws Exception {
    String[] opts = {"--readahead", "0", "--dl-seg-size", "1"};
    Process first = bed.serve(origin.url("/").toString(), opts);
    ServeBed.run(30, "ls", v("/data").toString());
    try (FileChannel held = FileChannel.open(v("/data/random.bin"))) {
      assertArrayEquals(Arrays.copyOf(RANDOM, 4096), read(held, 0));
      first.destroyForcibly();
      first.waitFor(10, TimeUnit.SECONDS);
      assertBytesOrEio(held, 10 * MIB); // no daemon: the guard answers

      bed.serve(origin.url("/").toString(), opts); // takes the group over from the guard

      assertArrayEquals(Arrays.copyOfRange(RANDOM, 10 * MIB, 10 * MIB + 4096), read(held, 10 * MIB),
          "the restarted daemon fills a file opened through the old view");
      assertArrayEquals(Arrays.copyOfRange(RANDOM, 15 * MIB, 15 * MIB + 4096), read(held, 15 * MIB));
    }
    assertArrayEquals(RANDOM, ServeBed.run(60, "cat", v("/data/random.bin").toString()).out(), "opened anew too");
  }

  @Test
  void killingTheDaemonAtRandomMomentsNeverGivesAReaderWrongBytesOrAWaitBeyondFiveSeconds() throws Exception {
    // bench/kill-soak runs more cycles: -Dlazydir.soak.cycles=N
    int cycles = Integer.getInteger("lazydir.soak.cycles", 10);
    int files = 4;
    // Each cycle reads files no earlier cycle fetched, from a throttled origin: readers are mid-file at the kill.
    List<byte[]> content = new ArrayList<>();
    for (int c = 0; c < cycles; c++) {
      for (int i = 0; i < files; i++) {
        String path = "/soak/c" + c + "/f" + i;
        content.add(bytes(3 * MIB, 100 + content.size()));
        origin.file(path, content.get(content.size() - 1), T);
        origin.fault(path, FakeOrigin.Fault.drip(128 * 1024, 50)); // ~2.6 MB/s per request
      }
    }
    Random moments = new Random(5);
    int wrong = 0;
    int failed = 0;
    int whole = 0;
    for (int c = 0; c < cycles; c++) {
      Process daemon = bed.serve(origin.url("/").toString(), "--dl-seg-size", "1", "--readahead", "1");
      listed("/soak/c" + c);
      List<Process> readers = new ArrayList<>();
      for (int i = 0; i < files; i++) {
        readers.add(new ProcessBuilder("sha256sum", v("/soak/c" + c + "/f" + i).toString()).start());
      }
      Thread.sleep(200 + moments.nextInt(2300));
      daemon.destroyForcibly();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      for (int i = 0; i < files; i++) {
        Process r = readers.get(i);
        if (!r.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
          r.destroyForcibly();
          fail("cycle " + c + ": a reader of f" + i + " was still blocked 5 s after the kill");
        }
        String out = new String(r.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(r.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        if (r.exitValue() != 0) {
          assertTrue(err.contains("Input/output error"), "cycle " + c + ": " + err);
          failed++;
        } else if (out.startsWith(ServeTest.sha256(content.get(c * files + i)))) {
          whole++;
        } else {
          wrong++;
        }
      }
      daemon.waitFor(10, TimeUnit.SECONDS);
    }
    System.out.printf("kill soak: %d cycles, %d readers got every byte, %d got EIO, %d got wrong bytes,"
        + " 0 blocked > 5 s after the kill%n", cycles, whole, failed, wrong);
    assertEquals(0, wrong, "readers that finished with wrong bytes");
    assertTrue(failed > 0, "the kills caught readers mid-file (else this test proves nothing)");
    bed.serve(origin.url("/").toString());
    for (int c = 0; c < cycles; c++) {
      listed("/soak/c" + c);
      for (int i = 0; i < files; i++) {
        Result sum = ServeBed.run(60, "sha256sum", v("/soak/c" + c + "/f" + i).toString());
        assertEquals(0, sum.exit(), sum.err());
        assertEquals(ServeTest.sha256(content.get(c * files + i)), sum.text().split(" ")[0],
            "c" + c + "/f" + i + " after the restarts");
      }
    }
    long unique = (long) cycles * files * 3 * MIB;
    System.out.printf("kill soak: 0 files wrong after the restarts; %d bytes fetched for %d bytes of files"
        + " (%.1f%% fetched twice)%n", origin.bodyBytesSent(), unique,
        100.0 * (origin.bodyBytesSent() - unique) / unique);
  }

  /** Opens a directory and its parent (there is no lookup event: a path appears once its parent is opened). */
  void listed(String dir) throws Exception {
    String parent = dir.substring(0, dir.lastIndexOf('/'));
    assertEquals(0, ServeBed.sh(30, "ls '" + v(parent) + "' >/dev/null && ls '" + v(dir) + "' >/dev/null").exit());
  }

  static byte[] read(FileChannel ch, long at) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(4096);
    ch.read(b, at);
    return b.array();
  }

  /** A read with no daemon to serve it: EIO, or (never zeros) the origin's own bytes. */
  static void assertBytesOrEio(FileChannel held, int at) {
    try {
      assertArrayEquals(Arrays.copyOfRange(RANDOM, at, at + 4096), read(held, at), "bytes, if any, are the origin's");
    } catch (IOException e) {
      assertTrue(String.valueOf(e.getMessage()).contains("Input/output error"), e.toString());
    }
  }
}
