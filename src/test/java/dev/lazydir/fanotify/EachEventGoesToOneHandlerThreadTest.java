package dev.lazydir.fanotify;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.fanotify.FanotifyBed.Handler;
import dev.lazydir.fanotify.FanotifyBed.Reader;
import dev.lazydir.fanotify.FanotifyBed.Result;
import dev.lazydir.fanotify.FanotifyBed.Seen;
import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Several handler threads may poll and answer one group concurrently: each event is read by exactly one thread and
 * answered once, answers in any order. Also the group's own contract: poll times out with an empty list, close()
 * wakes every blocked poller at once, and a closed group refuses further calls.
 */
class EachEventGoesToOneHandlerThreadTest extends PrivilegedFanotifyTest {
  @Test
  void fourHandlerThreadsFourReaders() throws Exception {
    int files = 4;
    int size = 1 << 20;
    for (int i = 0; i < files; i++) {
      bed.sparse("many/f" + i, size);
    }
    FanotifyGroup group = bed.markedGroup(Fan.FAN_PRE_ACCESS);
    Handler h = bed.handle(group, 4, (e, path) -> {
      FanotifyBed.fillThroughPrivatePath(bed.toPrivate(path), e.offset(), e.count());
      return Fan.FAN_ALLOW;
    });

    List<Reader> readers = new ArrayList<>();
    for (int i = 0; i < files; i++) {
      readers.add(bed.start("dd", "if=" + bed.view("many/f" + i), "bs=4096", "status=none"));
    }
    for (Reader r : readers) {
      Result res = r.await();
      assertEquals(0, res.exit(), res.stderr());
      assertArrayEquals(FanotifyBed.pattern(0, size), res.stdout(), "reader " + res.pid() + " sees the content");
    }

    h.assertNoErrors();
    List<Seen> seen = h.seen();
    // A reader can exit between the kernel taking an answer and the handler counting it: wait for the count.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (h.answered.get() < seen.size() && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertEquals(seen.size(), h.answeredAtLeast(seen.size()), "each event answered exactly once");
    Set<String> distinct = new HashSet<>();
    for (Seen s : seen) {
      assertTrue(distinct.add(s.event().pid() + "@" + s.event().offset()),
          "an event was delivered twice: " + s.event());
    }
    assertTrue(seen.size() >= files * (size / 4096), "dd bs=4096 reads page by page: " + seen.size() + " events");
    Map<String, Long> perThread = seen.stream().collect(Collectors.groupingBy(Seen::thread, Collectors.counting()));
    System.out.println(seen.size() + " events over handler threads " + perThread);
  }

  @Test
  void pollTimesOutWithAnEmptyList() throws Exception {
    FanotifyGroup group = bed.group(); // no mark: nothing can arrive
    long t0 = System.nanoTime();
    assertEquals(List.of(), group.poll(Duration.ofMillis(200)));
    long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    assertTrue(ms >= 150 && ms < 5000, "waited about the timeout: " + ms + " ms");
    assertEquals(List.of(), group.poll(Duration.ZERO));
  }

  @Test
  void closeWakesEveryBlockedPollerAndLaterCallsThrow() throws Exception {
    FanotifyGroup group = bed.group();
    List<CompletableFuture<Throwable>> pollers = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      pollers.add(CompletableFuture.supplyAsync(() -> {
        try {
          group.poll(Duration.ofSeconds(60));
          return null;
        } catch (Throwable t) {
          return t;
        }
      }));
    }
    Thread.sleep(300);
    long t0 = System.nanoTime();
    group.close();
    for (CompletableFuture<Throwable> p : pollers) {
      assertInstanceOf(ClosedChannelException.class, p.get(5, TimeUnit.SECONDS));
    }
    long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    assertTrue(ms < 2000, "close woke the pollers at once (" + ms + " ms), not at their 60 s timeout");
    assertThrows(ClosedChannelException.class, () -> group.poll(Duration.ZERO));
    assertThrows(ClosedChannelException.class, () -> group.respond(5, Fan.FAN_ALLOW));
    assertThrows(ClosedChannelException.class, () -> group.markMount(bed.view.toString(), Fan.FAN_PRE_ACCESS));
    group.close(); // idempotent
  }
}
