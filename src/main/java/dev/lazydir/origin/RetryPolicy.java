package dev.lazydir.origin;

import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Optional;

/**
 * When and how long to wait before asking the origin again. Bounded: at most {@code maxAttempts} tries,
 * exponential back-off from {@code baseWait}, and a server's Retry-After is honoured only up to
 * {@code maxWait} (a server asking for an hour gets a clear error instead of a hung reader).
 */
record RetryPolicy(int maxAttempts, Duration baseWait, Duration maxWait) {
  public RetryPolicy {
    if (maxAttempts < 1) {
      throw new IllegalArgumentException("maxAttempts must be >= 1");
    }
  }

  /** Statuses that say "try again later"; everything else is final. */
  public static boolean isRetriableStatus(int status) {
    return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
  }

  /** Wait before attempt number {@code attempt + 1} (attempt counts from 1), with the server's hint if any. */
  public Duration backoff(int attempt, Optional<Duration> retryAfter) {
    if (retryAfter.isPresent()) {
      return retryAfter.get();
    }
    long factor = 1L << Math.min(attempt - 1, 16);
    Duration wait = baseWait.multipliedBy(factor);
    return wait.compareTo(maxWait) > 0 ? maxWait : wait;
  }

  /** Parses Retry-After: delta-seconds or an HTTP date, relative to {@code now}. */
  public static Optional<Duration> parseRetryAfter(String header, Instant now) {
    if (header == null || header.isBlank()) {
      return Optional.empty();
    }
    String value = header.trim();
    try {
      long seconds = Long.parseLong(value);
      return seconds < 0 ? Optional.empty() : Optional.of(Duration.ofSeconds(seconds));
    } catch (NumberFormatException notSeconds) {
      try {
        Instant at = ZonedDateTime.parse(value, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
        Duration d = Duration.between(now, at);
        return Optional.of(d.isNegative() ? Duration.ZERO : d);
      } catch (DateTimeParseException notDate) {
        return Optional.empty();
      }
    }
  }
}
