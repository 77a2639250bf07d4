package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Sizes and durations as serve's cache options take them, and one sentence for a bad one. */
class CacheLimitsTest {
  @Test
  void sizesTakeBinaryUnits() {
    assertEquals(8L << 20, CacheLimits.parseSize("--cache-max-size", "8M"));
    assertEquals(2L << 30, CacheLimits.parseSize("--cache-max-size", "2g"));
    assertEquals(64L << 10, CacheLimits.parseSize("--cache-max-size", "64KiB"));
    assertEquals(1000, CacheLimits.parseSize("--cache-max-size", "1000"));
  }

  @Test
  void durationsTakeSecondsMinutesHoursAndDays() {
    assertEquals(Duration.ofMinutes(30), CacheLimits.parseAge("--cache-max-age", "30m"));
    assertEquals(Duration.ofHours(2), CacheLimits.parseAge("--cache-max-age", "2h"));
    assertEquals(Duration.ofDays(7), CacheLimits.parseAge("--cache-max-age", "7d"));
  }

  @Test
  void aBadValueIsOneSentenceNamingTheOptionAndTheForm() {
    IllegalArgumentException size = assertThrows(IllegalArgumentException.class,
        () -> CacheLimits.parseSize("--cache-max-size", "8 megs"));
    assertTrue(size.getMessage().startsWith("--cache-max-size 8 megs is not a size") && size.getMessage().contains("8M"),
        size.getMessage());
    IllegalArgumentException age = assertThrows(IllegalArgumentException.class,
        () -> CacheLimits.parseAge("--cache-max-age", "1w"));
    assertTrue(age.getMessage().contains("30m"), age.getMessage());
    assertThrows(IllegalArgumentException.class, () -> CacheLimits.parseAge("--cache-max-age", "0m"));
    assertThrows(IllegalArgumentException.class, () -> CacheLimits.parseSize("--cache-max-size", "99999999999T"));
  }
}
