package dev.lazydir.origin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class RetryPolicyTest {
  /** A Tuesday; HTTP dates below are written relative to it. */
  private static final Instant NOW = Instant.parse("2024-03-05T10:00:00Z");

  // ---- Retry-After parsing

  @Test
  void retryAfterInSecondsIsThatManySeconds() {
    assertEquals(Optional.of(Duration.ofSeconds(120)), RetryPolicy.parseRetryAfter("120", NOW));
  }

  @Test
  void retryAfterSecondsMayHaveSurroundingSpaces() {
    assertEquals(Optional.of(Duration.ofSeconds(5)), RetryPolicy.parseRetryAfter("  5 ", NOW));
  }

  @Test
  void retryAfterZeroMeansRetryNow() {
    assertEquals(Optional.of(Duration.ZERO), RetryPolicy.parseRetryAfter("0", NOW));
  }

  @Test
  void retryAfterHttpDateIsTheTimeLeftUntilThatDate() {
    assertEquals(Optional.of(Duration.ofSeconds(30)),
        RetryPolicy.parseRetryAfter("Tue, 05 Mar 2024 10:00:30 GMT", NOW));
    assertEquals(Optional.of(Duration.ofHours(2)),
        RetryPolicy.parseRetryAfter("Tue, 05 Mar 2024 12:00:00 GMT", NOW));
  }

  @Test
  void retryAfterHttpDateIsRelativeToTheGivenNow() {
    Instant later = NOW.plusSeconds(20);
    assertEquals(Optional.of(Duration.ofSeconds(10)),
        RetryPolicy.parseRetryAfter("Tue, 05 Mar 2024 10:00:30 GMT", later));
  }

  @Test
  void retryAfterDateInThePastMeansRetryNow() {
    assertEquals(Optional.of(Duration.ZERO), RetryPolicy.parseRetryAfter("Tue, 05 Mar 2024 09:59:00 GMT", NOW));
  }

  @Test
  void retryAfterGarbageIsIgnored() {
    assertEquals(Optional.empty(), RetryPolicy.parseRetryAfter("soon", NOW));
    assertEquals(Optional.empty(), RetryPolicy.parseRetryAfter("1.5", NOW));
    assertEquals(Optional.empty(), RetryPolicy.parseRetryAfter("5s", NOW));
    assertEquals(Optional.empty(), RetryPolicy.parseRetryAfter("2024-03-05T10:00:30Z", NOW));
    assertEquals(Optional.empty(), RetryPolicy.parseRetryAfter("99999999999999999999999", NOW));
  }

  @Test
  void retryAfterMissingOrBlankIsIgnored() {
    assertEquals(Optional.empty(), RetryPolicy.parseRetryAfter(null, NOW));
    assertEquals(Optional.empty(), RetryPolicy.parseRetryAfter("", NOW));
    assertEquals(Optional.empty(), RetryPolicy.parseRetryAfter("   ", NOW));
  }

  @Test
  void retryAfterNegativeSecondsIsIgnored() {
    assertEquals(Optional.empty(), RetryPolicy.parseRetryAfter("-5", NOW));
  }

  // ---- back-off

  @Test
  void backoffDoublesFromTheBaseWait() {
    RetryPolicy p = new RetryPolicy(10, Duration.ofMillis(100), Duration.ofMinutes(1));
    assertEquals(Duration.ofMillis(100), p.backoff(1, Optional.empty()));
    assertEquals(Duration.ofMillis(200), p.backoff(2, Optional.empty()));
    assertEquals(Duration.ofMillis(400), p.backoff(3, Optional.empty()));
    assertEquals(Duration.ofMillis(800), p.backoff(4, Optional.empty()));
    assertEquals(Duration.ofMillis(1600), p.backoff(5, Optional.empty()));
  }

  @Test
  void backoffIsCappedAtTheMaxWait() {
    RetryPolicy p = new RetryPolicy(10, Duration.ofSeconds(1), Duration.ofSeconds(3));
    assertEquals(Duration.ofSeconds(1), p.backoff(1, Optional.empty()));
    assertEquals(Duration.ofSeconds(2), p.backoff(2, Optional.empty()));
    assertEquals(Duration.ofSeconds(3), p.backoff(3, Optional.empty()));
    assertEquals(Duration.ofSeconds(3), p.backoff(4, Optional.empty()));
  }

  @Test
  void backoffDoesNotOverflowAfterManyAttempts() {
    RetryPolicy p = new RetryPolicy(1000, Duration.ofSeconds(1), Duration.ofSeconds(30));
    assertEquals(Duration.ofSeconds(30), p.backoff(64, Optional.empty()));
    assertEquals(Duration.ofSeconds(30), p.backoff(999, Optional.empty()));
  }

  @Test
  void backoffUsesTheServersHintInsteadOfTheSchedule() {
    RetryPolicy p = new RetryPolicy(10, Duration.ofSeconds(1), Duration.ofSeconds(30));
    assertEquals(Duration.ofSeconds(7), p.backoff(3, Optional.of(Duration.ofSeconds(7))));
    assertEquals(Duration.ZERO, p.backoff(1, Optional.of(Duration.ZERO)));
  }

  @Test
  void backoffReturnsAnOverlongHintUncappedSoTheCallerCanRefuseIt() {
    // The client compares the wait with maxWait and fails fast instead of silently waiting less.
    RetryPolicy p = new RetryPolicy(10, Duration.ofSeconds(1), Duration.ofSeconds(30));
    assertEquals(Duration.ofHours(1), p.backoff(1, Optional.of(Duration.ofHours(1))));
  }

  // ---- statuses and construction

  @Test
  void onlyTryAgainLaterStatusesAreRetriable() {
    for (int s : new int[] {408, 429, 500, 502, 503, 504}) {
      assertTrue(RetryPolicy.isRetriableStatus(s), "retriable: " + s);
    }
    for (int s : new int[] {200, 206, 301, 400, 401, 403, 404, 405, 410, 416, 501, 505}) {
      assertFalse(RetryPolicy.isRetriableStatus(s), "final: " + s);
    }
  }

  @Test
  void atLeastOneAttemptIsRequired() {
    assertThrows(IllegalArgumentException.class, () -> new RetryPolicy(0, Duration.ofSeconds(1), Duration.ofSeconds(1)));
  }
}
