package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import dev.lazydir.tree.TreePath;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The store's accounting and eviction order, with time injected. */
class CachePolicyTest {
  /** A clock the test moves. */
  static final class ManualClock extends Clock {
    long millis = 1_000_000;

    @Override
    public ZoneOffset getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return Instant.ofEpochMilli(millis);
    }

    void advance(Duration d) {
      millis += d.toMillis();
    }
  }

  final ManualClock clock = new ManualClock();
  final CachePolicy policy = new CachePolicy(clock);

  private void file(long ino, long bytes) {
    policy.charge(ino, TreePath.of(List.of("f" + ino)), bytes);
    clock.advance(Duration.ofSeconds(1));
  }

  private static List<Long> inos(List<CachePolicy.Entry> entries) {
    return entries.stream().map(e -> e.ino).toList();
  }

  @Test
  void theTotalFollowsChargesReservationsAndEvictionsWithoutAWalk() {
    file(1, 100);
    file(2, 300);
    assertEquals(400, policy.total());
    policy.add(2, TreePath.of(List.of("f2")), 50); // a reservation before the blocks are taken
    assertEquals(450, policy.total());
    policy.charge(2, TreePath.of(List.of("f2")), 320); // what the preallocation actually took
    assertEquals(420, policy.total());
    policy.charge(1, TreePath.of(List.of("f1")), 0); // evicted
    assertEquals(320, policy.total());
    assertEquals(1, policy.files());
  }

  @Test
  void victimsComeLeastRecentlyUsedFirstAndOnlyAsManyAsTheNeedCalls() {
    file(1, 100);
    file(2, 100);
    file(3, 100);
    file(4, 100);
    policy.touch(1); // used again: now the most recent
    assertEquals(List.of(2L, 3L), inos(policy.victims(150, 0)));
    assertEquals(List.of(2L, 3L, 4L, 1L), inos(policy.victims(10_000, 0)), "everything, oldest first");
  }

  @Test
  void pinnedFilesAndTheFileMakingRoomAreNeverVictims() {
    file(1, 100);
    file(2, 100);
    file(3, 100);
    policy.pin(1, true);
    assertEquals(List.of(3L), inos(policy.victims(150, 2)), "1 pinned, 2 is the one that needs the room");
    policy.pin(1, false);
    assertEquals(List.of(1L, 3L), inos(policy.victims(150, 2)));
  }

  @Test
  void filesUnusedForLongerThanTheMaxAgeExpireOldestFirst() {
    file(1, 100);
    file(2, 100);
    clock.advance(Duration.ofMinutes(30));
    file(3, 100);
    policy.touch(2);
    assertEquals(List.of(1L), inos(policy.unusedFor(Duration.ofMinutes(20))));
    clock.advance(Duration.ofMinutes(25));
    assertEquals(List.of(1L, 3L, 2L), inos(policy.unusedFor(Duration.ofMinutes(20))));
  }

  @Test
  void touchingAFileHoldingNoBlocksChangesNothing() {
    policy.touch(9);
    assertEquals(0, policy.files());
    assertEquals(List.of(), policy.victims(1, 0));
  }
}
