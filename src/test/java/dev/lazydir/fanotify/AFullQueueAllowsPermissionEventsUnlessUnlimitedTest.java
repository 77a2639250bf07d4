package dev.lazydir.fanotify;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.fanotify.FanotifyBed.Reader;
import dev.lazydir.fanotify.FanotifyBed.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Why lazydir's group is created with FAN_UNLIMITED_QUEUE: a permission event that finds a bounded group's queue
 * full is not queued and not denied, it is allowed silently, so its reader reads the hole (zeros). With an
 * unlimited queue the same event waits for an answer. The queue bound is the sysctl fs.fanotify.max_queued_events,
 * read when a group is created; the test lowers it to 1 for the moment it creates its group, then restores it.
 */
class AFullQueueAllowsPermissionEventsUnlessUnlimitedTest extends PrivilegedFanotifyTest {
  private static final Path MAX_QUEUED = Path.of("/proc/sys/fs/fanotify/max_queued_events");
  private static final int SIZE = 16 << 10;

  @Test
  void aSecondReaderIsLetThroughToTheHoleWhenTheQueueOfOneIsFull() throws Exception {
    FanotifyGroup bounded = groupWithQueueOfOne(FanotifyGroup.DEFAULT_INIT_FLAGS & ~Fan.FAN_UNLIMITED_QUEUE);
    try {
      Result second = twoReaders(bounded, "bounded");
      assertEquals(0, second.exit(), "the overflowing read was allowed: " + second.stderr());
      assertArrayEquals(new byte[SIZE], second.stdout(), "and it read the hole: zeros");
    } finally {
      bounded.close();
    }
  }

  @Test
  void withAnUnlimitedQueueTheSecondReaderWaitsForItsAnswer() throws Exception {
    FanotifyGroup unlimited = groupWithQueueOfOne(FanotifyGroup.DEFAULT_INIT_FLAGS);
    try {
      bed.markView(unlimited, Fan.FAN_PRE_ACCESS);
      bed.sparse("queue/unlimited-1.bin", SIZE);
      bed.sparse("queue/unlimited-2.bin", SIZE);
      Reader first = bed.start("cat", bed.view("queue/unlimited-1.bin").toString());
      Reader second = bed.start("cat", bed.view("queue/unlimited-2.bin").toString());
      Thread.sleep(500);
      assertTrue(first.isAlive() && second.isAlive(), "both readers wait: no event was dropped");
      bed.handle(unlimited, 1, (e, p) -> Fan.denyErrno(Fan.EIO));
      Result r = second.await(Duration.ofSeconds(10));
      assertTrue(r.stderr().contains("Input/output error"), "answered, not let through: " + r.stderr());
      first.await(Duration.ofSeconds(10));
    } finally {
      unlimited.close();
    }
  }

  /** The first reader's event fills the queue (nobody reads it); the second reader's overflows it. */
  private Result twoReaders(FanotifyGroup group, String name) throws Exception {
    bed.markView(group, Fan.FAN_PRE_ACCESS);
    bed.sparse("queue/" + name + "-1.bin", SIZE);
    bed.sparse("queue/" + name + "-2.bin", SIZE);
    Reader first = bed.start("cat", bed.view("queue/" + name + "-1.bin").toString());
    Thread.sleep(300);
    assertTrue(first.isAlive(), "the first reader waits for its answer");
    Result second = bed.start("cat", bed.view("queue/" + name + "-2.bin").toString()).await(Duration.ofSeconds(10));
    bed.handle(group, 1, FanotifyBed.ALLOW); // the first reader's event, and its next ones
    first.await(Duration.ofSeconds(10));
    return second;
  }

  /** One read of the whole value: a sysctl reads as empty at any offset but 0 (Files.readString gets "1" of 16384). */
  private static String readSysctl() throws Exception {
    try (java.io.InputStream in = Files.newInputStream(MAX_QUEUED)) {
      byte[] buf = new byte[64];
      int n = in.read(buf);
      String value = new String(buf, 0, Math.max(0, n), java.nio.charset.StandardCharsets.US_ASCII).trim();
      assertTrue(value.matches("[0-9]+") && Long.parseLong(value) > 1, "max_queued_events reads " + value);
      return value;
    }
  }

  private static FanotifyGroup groupWithQueueOfOne(int flags) throws Exception {
    String saved = readSysctl();
    Files.writeString(MAX_QUEUED, "1");
    try {
      return FanotifyGroup.open(flags, FanotifyGroup.DEFAULT_EVENT_FILE_FLAGS);
    } finally {
      Files.writeString(MAX_QUEUED, saved);
    }
  }
}
