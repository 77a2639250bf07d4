package dev.lazydir.serve;

import java.util.ArrayDeque;
import java.util.List;

/**
 * The small files waiting for prefetch, as batches (one directory's files each): the newest batch is taken first,
 * each in its own order, and when more than {@code capacity} wait the oldest are dropped. A build reads the
 * directory it opened last, not one a walk opened a minute ago; prefetch is an optimisation and must never pile up,
 * so what is dropped is what is least likely still wanted.
 */
final class NewestFirstBatches {
  private final int capacity;
  private final ArrayDeque<Runnable> waiting = new ArrayDeque<>();

  NewestFirstBatches(int capacity) {
    this.capacity = capacity;
  }

  /** Puts a batch ahead of all waiting, its first task first; drops the oldest beyond the capacity. */
  synchronized void addFirst(List<? extends Runnable> batch) {
    for (int i = batch.size() - 1; i >= 0; i--) {
      waiting.addFirst(batch.get(i));
    }
    while (waiting.size() > capacity) {
      waiting.removeLast();
    }
  }

  /** The task to run next, or null when none waits. */
  synchronized Runnable poll() {
    return waiting.pollFirst();
  }

  synchronized int size() {
    return waiting.size();
  }
}
