package dev.lazydir.crawl;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * Listings print times without a zone, in whatever zone the server runs (Apache uses local time, nginx GMT).
 * Comparing one file's listed time with its Last-Modified reveals the offset; real zones are whole quarter
 * hours, and the listed time is truncated to the minute, so rounding the difference to 15 minutes gives it.
 */
final class ListingClock {
  private static final long QUARTER_HOUR = Duration.ofMinutes(15).toSeconds();
  private static final Duration MAX_OFFSET = Duration.ofHours(14);

  private volatile Duration offset;

  /** Whether an offset has been learned; until then times are read as UTC. */
  public boolean calibrated() {
    return offset != null;
  }

  /**
   * Learns the offset from a file whose listing time and Last-Modified are both known. An implausible
   * difference (the file changed in between) teaches nothing and leaves the clock uncalibrated.
   */
  public Optional<Duration> calibrate(Instant listed, Instant lastModified) {
    long diff = Duration.between(lastModified, listed).toSeconds();
    long quarters = Math.round((double) diff / QUARTER_HOUR);
    Duration learned = Duration.ofSeconds(quarters * QUARTER_HOUR);
    if (learned.abs().compareTo(MAX_OFFSET) > 0) {
      return Optional.empty();
    }
    offset = learned;
    return Optional.of(learned);
  }

  /** A listed time as UTC. */
  public Instant toUtc(Instant listed) {
    Duration o = offset;
    return listed == null || o == null ? listed : listed.minus(o);
  }
}
