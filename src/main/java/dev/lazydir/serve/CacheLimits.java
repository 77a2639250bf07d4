package dev.lazydir.serve;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The bounds a store is kept within: disk blocks its files take (preallocation included), free space left on its
 * filesystem, and how long a file may stay unused. Zero (or null age) means no such bound. Parsed from the command
 * line's human forms ({@code 8M}, {@code 2G}, {@code 30m}, {@code 7d}), with one sentence naming a bad value.
 */
public record CacheLimits(long maxSize, long minFree, Duration maxAge) {
  public static final CacheLimits NONE = new CacheLimits(0, 0, null);

  public boolean any() {
    return maxSize > 0 || minFree > 0 || maxAge != null;
  }

  private static final Pattern SIZE = Pattern.compile("(\\d+)([KMGT]?)(I?B)?");
  private static final Pattern AGE = Pattern.compile("(\\d+)([smhd])");

  /** Bytes from {@code 123}, {@code 64K}, {@code 8M}, {@code 2G}, {@code 1T} (powers of 1024; KiB/MB spellings too). */
  public static long parseSize(String option, String text) {
    Matcher m = SIZE.matcher(text.trim().toUpperCase(Locale.ROOT));
    if (!m.matches()) {
      throw new IllegalArgumentException(option + " " + text + " is not a size: give a number with an optional unit"
          + " K, M, G or T, like 8M or 2G");
    }
    int shift = switch (m.group(2)) {
      case "K" -> 10;
      case "M" -> 20;
      case "G" -> 30;
      case "T" -> 40;
      default -> 0;
    };
    try {
      long n = Long.parseLong(m.group(1));
      if (n > (Long.MAX_VALUE >> shift)) {
        throw new NumberFormatException();
      }
      return n << shift;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(option + " " + text + " is too large");
    }
  }

  /** A duration from {@code 90s}, {@code 30m}, {@code 2h}, {@code 7d}. */
  public static Duration parseAge(String option, String text) {
    Matcher m = AGE.matcher(text.trim());
    if (!m.matches()) {
      throw new IllegalArgumentException(option + " " + text + " is not a duration: give a number with a unit s, m,"
          + " h or d, like 30m, 2h or 7d");
    }
    long n;
    try {
      n = Long.parseLong(m.group(1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(option + " " + text + " is too large");
    }
    if (n == 0) {
      throw new IllegalArgumentException(option + " " + text + " would evict every file at once: give a positive"
          + " duration, like 30m");
    }
    return switch (m.group(2)) {
      case "s" -> Duration.ofSeconds(n);
      case "m" -> Duration.ofMinutes(n);
      case "h" -> Duration.ofHours(n);
      default -> Duration.ofDays(n);
    };
  }

  /** Human form of a byte count, for messages and status (1.5 GiB). */
  public static String human(long bytes) {
    if (bytes < 1024) {
      return bytes + " B";
    }
    String[] units = {"KiB", "MiB", "GiB", "TiB"};
    double v = bytes;
    int u = -1;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return String.format(Locale.ROOT, v >= 100 ? "%.0f %s" : "%.1f %s", v, units[u]);
  }
}
