package dev.lazydir.origin;

import dev.lazydir.tree.LocalName;
import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import okhttp3.HttpUrl;

/**
 * What nginx's JSON and XML autoindex formats share once their syntax is read: each entry is a literal name
 * (no percent-decoding), a type, an exact size and a GMT time to the second. The names obey the rules of HTML
 * listings ({@link LocalName}); requests use the name percent-encoded as lazydir encodes any name
 * ({@link PercentCodec#canonicalSegment}). Entries of type "other" (a dangling symlink, a socket, a fifo) or of
 * a type nginx does not write are skipped with a warning. Holds the entries only, never a document.
 */
final class StructuredListing {
  /** English month abbreviations by number - 1. */
  private static final String[] MONTHS =
      {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  /** A name printed in a warning is cut here: a hostile listing may hold megabyte-long names. */
  private static final int SHOWN_CHARS = 300;

  private final HttpUrl page;
  private final String format;
  /** Names listed so far: TRUE kept, FALSE rejected (so a second listing of it is not reported). */
  private final Map<String, Boolean> seen = new HashMap<>();
  private final List<RemoteEntry> entries = new ArrayList<>();
  private final List<String> rejected = new ArrayList<>();

  StructuredListing(HttpUrl page, String format) {
    this.page = page;
    this.format = format;
  }

  /** One entry as the listing wrote it; see {@link Text} for the name. */
  void add(Text name, String type, long size, Instant mtime) {
    if (name == null) {
      rejected.add("an entry without a name" + (type == null ? "" : " (type \"" + LocalName.printable(shown(type)) + "\")"));
      return;
    }
    String shown = LocalName.printable(shown(name.value()));
    if (name.problem() != null) {
      rejected.add("'" + shown + "': " + name.problem());
      return;
    }
    String n = name.value();
    boolean directory;
    if ("directory".equals(type)) {
      directory = true;
    } else if ("file".equals(type)) {
      directory = false;
    } else {
      rejected.add("'" + shown + "': " + (type == null ? "no type"
          : type.equals("other") ? "type \"other\" (not a file nor a directory: a dangling symlink, a socket, a fifo)"
          : "unknown type \"" + LocalName.printable(shown(type)) + "\""));
      return;
    }
    Boolean before = seen.get(n);
    if (before != null) {
      if (before) {
        rejected.add("'" + shown + "': listed twice; the first entry is kept");
      }
      return;
    }
    java.util.Optional<String> problem = LocalName.problem(n);
    if (problem.isPresent()) {
      rejected.add("'" + shown + "': " + problem.get());
      seen.put(n, Boolean.FALSE);
      return;
    }
    String canonical = canonical(n);
    seen.put(n, Boolean.TRUE);
    entries.add(new RemoteEntry(n, canonical, directory, directory ? -1 : size, mtime, mtime != null, null));
  }

  Listing listing() {
    return new Listing(page, List.copyOf(entries), List.copyOf(rejected), true);
  }

  MalformedListingException malformed(String what, int at) {
    return new MalformedListingException(Redact.url(page) + " is not a valid nginx " + format + " listing: " + what
        + " at byte " + at);
  }

  /** The name as lazydir writes it in a URL; the name itself (one string kept) when nothing needs escaping. */
  private static String canonical(String name) {
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      boolean plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || c == '-' || c == '.' || c == '_' || c == '~';
      if (!plain) {
        return PercentCodec.canonicalSegment(name);
      }
    }
    return name;
  }

  private static String shown(String s) {
    return s.length() <= SHOWN_CHARS ? s : s.substring(0, SHOWN_CHARS) + "... (" + s.length() + " chars)";
  }

  // --- text ---------------------------------------------------------------------------------------------

  /**
   * A string read from the listing: its value, and why it cannot be a name when it cannot (bytes that are
   * not UTF-8, shown in the value as %XX; a lone surrogate; an unknown XML entity), else null.
   */
  record Text(String value, String problem) {}

  /** Builds a {@link Text} from raw bytes (decoded strictly as UTF-8) and decoded characters. */
  static final class TextBuilder {
    private final StringBuilder sb = new StringBuilder();
    private String problem;

    void problem(String why) {
      if (problem == null) {
        problem = why;
      }
    }

    void appendPlain(String s) {
      sb.append(s);
    }

    void append(char c) {
      sb.append(c);
    }

    /** A code point from an escape or a character reference. */
    void appendCodePoint(int cp) {
      if (cp < 0 || cp > Character.MAX_CODE_POINT || (cp >= 0xD800 && cp <= 0xDFFF)) {
        sb.append("\\u").append(Integer.toHexString(cp));
        problem("holds an escaped code point that is not a Unicode character (U+" + Integer.toHexString(cp) + ")");
      } else {
        sb.appendCodePoint(cp);
      }
    }

    /**
     * Appends the UTF-8 character starting at {@code body[i]} (a byte >= 0x80); returns the index after it. A
     * byte that starts no valid sequence is shown as %XX and makes the text invalid.
     */
    int appendUtf8(byte[] body, int i, int end) {
      int after = utf8End(body, i, end);
      if (after < 0) {
        return invalidByte(body[i] & 0xff, i);
      }
      sb.append(new String(body, i, after - i, java.nio.charset.StandardCharsets.UTF_8));
      return after;
    }

    private int invalidByte(int b, int i) {
      sb.append(String.format("%%%02X", b));
      problem("not valid UTF-8 (shown as %XX)");
      return i + 1;
    }

    Text build() {
      return new Text(sb.toString(), problem);
    }
  }

  /**
   * The index after the UTF-8 character starting at {@code body[i]} (a byte >= 0x80), or -1 if no valid
   * sequence starts there (overlong forms, surrogates and code points above U+10FFFF are not valid).
   */
  static int utf8End(byte[] body, int i, int end) {
    int b = body[i] & 0xff;
    int len;
    int cp;
    int min;
    if (b >= 0xC2 && b <= 0xDF) {
      len = 2;
      cp = b & 0x1F;
      min = 0x80;
    } else if (b >= 0xE0 && b <= 0xEF) {
      len = 3;
      cp = b & 0x0F;
      min = 0x800;
    } else if (b >= 0xF0 && b <= 0xF4) {
      len = 4;
      cp = b & 0x07;
      min = 0x10000;
    } else {
      return -1;
    }
    if (i + len > end) {
      return -1;
    }
    for (int k = 1; k < len; k++) {
      int c = body[i + k] & 0xff;
      if ((c & 0xC0) != 0x80) {
        return -1;
      }
      cp = cp << 6 | (c & 0x3F);
    }
    if (cp < min || cp > Character.MAX_CODE_POINT || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return -1;
    }
    return i + len;
  }

  // --- times --------------------------------------------------------------------------------------------

  /**
   * "Sat, 29 Nov 2025 12:00:00 GMT" (nginx's JSON) or "2025-11-29T12:00:00Z" (nginx's XML) as an instant; null
   * for anything else (the file is then probed, as for an HTML listing without times).
   */
  static Instant time(String s) {
    if (s == null) {
      return null;
    }
    try {
      if (s.length() == 29 && s.charAt(3) == ',' && s.endsWith(" GMT")) {
        int month = month(s.substring(8, 11));
        return at(digits(s, 12, 4), month, digits(s, 5, 2), digits(s, 17, 2), digits(s, 20, 2), digits(s, 23, 2),
            s.charAt(4) == ' ' && s.charAt(7) == ' ' && s.charAt(11) == ' ' && s.charAt(16) == ' '
                && s.charAt(19) == ':' && s.charAt(22) == ':');
      }
      if (s.length() == 20 && s.charAt(10) == 'T' && s.charAt(19) == 'Z') {
        return at(digits(s, 0, 4), digits(s, 5, 2), digits(s, 8, 2), digits(s, 11, 2), digits(s, 14, 2),
            digits(s, 17, 2), s.charAt(4) == '-' && s.charAt(7) == '-' && s.charAt(13) == ':' && s.charAt(16) == ':');
      }
    } catch (NumberFormatException | DateTimeException e) {
      return null;
    }
    return null;
  }

  private static Instant at(int year, int month, int day, int hour, int minute, int second, boolean separators) {
    if (!separators) {
      return null;
    }
    return LocalDateTime.of(year, month, day, hour, minute, second).toInstant(ZoneOffset.UTC);
  }

  private static int digits(String s, int from, int n) {
    int v = 0;
    for (int i = from; i < from + n; i++) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') {
        throw new NumberFormatException(s);
      }
      v = v * 10 + (c - '0');
    }
    return v;
  }

  private static int month(String mon) {
    for (int i = 0; i < MONTHS.length; i++) {
      if (MONTHS[i].equals(mon)) {
        return i + 1;
      }
    }
    throw new NumberFormatException(mon);
  }

  /** A size as written: a plain non-negative decimal integer that fits a long, else -1 (not exact). */
  static long size(String digits) {
    if (digits == null || digits.isEmpty() || digits.length() > 19) {
      return -1;
    }
    for (int i = 0; i < digits.length(); i++) {
      char c = digits.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
    }
    try {
      return Long.parseLong(digits);
    } catch (NumberFormatException tooBig) {
      return -1;
    }
  }
}
