package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The prefetch queue: the directory queued last is fetched first, each in its own order; it never grows unbounded. */
class NewestFirstBatchesTest {
  record Named(String name) implements Runnable {
    @Override
    public void run() {}
  }

  static List<Named> batch(String... names) {
    List<Named> b = new ArrayList<>();
    for (String n : names) {
      b.add(new Named(n));
    }
    return b;
  }

  static List<String> drain(NewestFirstBatches q) {
    List<String> out = new ArrayList<>();
    for (Runnable r; (r = q.poll()) != null; ) {
      out.add(((Named) r).name());
    }
    return out;
  }

  @Test
  void theNewestBatchIsTakenFirstEachInItsOwnOrder() {
    NewestFirstBatches q = new NewestFirstBatches(100);
    q.addFirst(batch("old1", "old2"));
    q.addFirst(batch("new1", "new2", "new3"));
    assertEquals(List.of("new1", "new2", "new3", "old1", "old2"), drain(q));
  }

  @Test
  void beyondItsCapacityTheOldestAreDropped() {
    NewestFirstBatches q = new NewestFirstBatches(3);
    q.addFirst(batch("old1", "old2"));
    q.addFirst(batch("new1", "new2"));
    assertEquals(3, q.size());
    assertEquals(List.of("new1", "new2", "old1"), drain(q));
    assertNull(q.poll());
  }
}
