package dev.lazydir.cli;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Sizes as users write them: a number with an optional unit, K, M or G (KiB, MiB, GiB; "KB", "MiB" and lower case
 * too, all powers of 1024), as httpdirfs users write {@code --dl-seg-size 8M}. A bare number is in the option's own
 * unit (MiB for --dl-seg-size, as httpdirfs reads it; KiB for --prefetch-small).
 */
final class Sizes {
  private static final Pattern SIZE = Pattern.compile("(\\d{1,12})\\s*([kmgt]?)(i?b)?", Pattern.CASE_INSENSITIVE);

  private Sizes() {}

  /** Bytes of {@code text}; IllegalArgumentException naming the option if it is not a size. */
  static long parse(String option, String text, long bareUnit) {
    Matcher m = SIZE.matcher(text.strip());
    if (!m.matches() || (m.group(2).isEmpty() && m.group(3) != null && !m.group(3).equalsIgnoreCase("b"))) {
      throw new IllegalArgumentException(option + " " + text + ": not a size; write a number with an optional unit,"
          + " K, M or G (e.g. 8M, 512K)");
    }
    long n = Long.parseLong(m.group(1));
    long unit = switch (m.group(2).toLowerCase(Locale.ROOT)) {
      case "k" -> 1L << 10;
      case "m" -> 1L << 20;
      case "g" -> 1L << 30;
      case "t" -> 1L << 40;
      default -> m.group(3) != null ? 1 : bareUnit; // "4096B" is bytes
    };
    if (n > Long.MAX_VALUE / unit) {
      throw new IllegalArgumentException(option + " " + text + ": too large");
    }
    return n * unit;
  }

  /** 8388608 -> "8 MiB", 1536 -> "1536 bytes". */
  static String show(long bytes) {
    if (bytes >= 1L << 30 && bytes % (1L << 30) == 0) {
      return (bytes >> 30) + " GiB";
    }
    if (bytes >= 1L << 20 && bytes % (1L << 20) == 0) {
      return (bytes >> 20) + " MiB";
    }
    if (bytes >= 1L << 10 && bytes % (1L << 10) == 0) {
      return (bytes >> 10) + " KiB";
    }
    return bytes + " bytes";
  }
}
