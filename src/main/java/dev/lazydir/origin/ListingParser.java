package dev.lazydir.origin;

import dev.lazydir.tree.LocalName;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import okhttp3.HttpUrl;

/**
 * Turns any HTML page of links into directory entries. No per-server template: an entry is a link that stays
 * on the same scheme, host and port and points strictly below the listed directory; its first path segment
 * below the directory is the entry's name. Sizes and times are read from the text beside the link (the rest
 * of a {@code <pre>} line, or the following cells of a table row) when they are there.
 *
 * <p>nginx's {@code autoindex_format json;} and {@code xml;} listings are read too ({@link NginxJsonListing},
 * {@link NginxXmlListing}), told by the Content-Type or, failing that, by the body itself, never by the URL.
 */
public final class ListingParser {
  private static final Pattern DAY_MON_YEAR = Pattern.compile(
      "(\\d{1,2})-([A-Za-z]{3})-(\\d{4})\\s+(\\d{1,2}):(\\d{2})(?::(\\d{2}))?");
  private static final Pattern YEAR_MM_DD = Pattern.compile(
      "(\\d{4})-(\\d{2})-(\\d{2})[ T](\\d{1,2}):(\\d{2})(?::(\\d{2}))?");
  private static final Pattern YEAR_MON_DD = Pattern.compile(
      "(\\d{4})-([A-Za-z]{3})-(\\d{1,2})\\s+(\\d{1,2}):(\\d{2})(?::(\\d{2}))?");
  /** The size column right after the date: "-" (directory), bytes, or a rounded "1.2K"/"3 MiB". */
  private static final Pattern SIZE = Pattern.compile("^\\s+(-|\\d+(?:\\.\\d+)?(?:\\s?[KMGTPE](?:i?B)?)?)(?=\\s|$)");
  /** English month abbreviations by number - 1 (a DateTimeFormatter parse cost 1 KiB of garbage per link). */
  private static final List<String> MONTHS =
      List.of("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec");

  private ListingParser() {}

  /** Whether a Content-Type (lower case, parameters allowed) names nginx's JSON or XML listing formats. */
  public static boolean isListingType(String contentType) {
    return isJson(mediaType(contentType)) || isXml(mediaType(contentType));
  }

  private static boolean isJson(String mediaType) {
    return "application/json".equals(mediaType) || "text/json".equals(mediaType);
  }

  private static boolean isXml(String mediaType) {
    return "text/xml".equals(mediaType) || "application/xml".equals(mediaType);
  }

  private static String mediaType(String contentType) {
    if (contentType == null) {
      return null;
    }
    int semi = contentType.indexOf(';');
    return (semi < 0 ? contentType : contentType.substring(0, semi)).trim().toLowerCase(Locale.ROOT);
  }

  /**
   * Parses a listing answer in whatever format it is: nginx's JSON when the media type says JSON or the body's
   * first non-blank character is '['; nginx's XML when the media type says XML or the body's first element is
   * {@code <list>}; else HTML. A JSON or XML listing that cannot be read whole (invalid, truncated) is an
   * error, never a listing of the entries before the fault.
   *
   * @param mediaType the answer's Content-Type (parameters allowed), or null if none
   */
  public static Listing parse(byte[] body, String mediaType, String charset, HttpUrl pageUrl)
      throws MalformedListingException {
    HttpUrl page = pageUrl.newBuilder().query(null).fragment(null).build();
    boolean json = isJson(mediaType(mediaType));
    boolean xml = isXml(mediaType(mediaType));
    if (!json && !xml) {
      int first = firstNonBlank(body);
      json = first >= 0 && body[first] == '[';
      xml = first >= 0 && body[first] == '<' && NginxXmlListing.looksLikeNginxXml(body);
    }
    if (json) {
      return NginxJsonListing.parse(body, page);
    }
    if (xml) {
      return NginxXmlListing.parse(body, page);
    }
    return parse(body, charset, pageUrl);
  }

  /** Index of the first byte that is not a UTF-8 BOM or whitespace, or -1. */
  private static int firstNonBlank(byte[] body) {
    boolean bom = body.length >= 3 && (body[0] & 0xff) == 0xEF && (body[1] & 0xff) == 0xBB
        && (body[2] & 0xff) == 0xBF;
    int i = bom ? 3 : 0;
    while (i < body.length && " \t\n\r\f".indexOf(body[i]) >= 0) {
      i++;
    }
    return i < body.length ? i : -1;
  }

  /**
   * Parses an HTML listing body, read as {@link PageText} reads it: bytes not valid in the page's charset become
   * %XX escapes, so a link holding them is skipped with a warning instead of naming a file with U+FFFD.
   */
  public static Listing parse(byte[] body, String charset, HttpUrl pageUrl) {
    PageText text = PageText.decode(body, charset);
    return parse(text.text(), pageUrl, text.invalidBytes() ? text.charset() : null);
  }

  public static Listing parse(String html, HttpUrl pageUrl) {
    return parse(html, pageUrl, null);
  }

  /** invalidIn: the charset some bytes of the page were not valid in (shown as escapes), or null. */
  private static Listing parse(String html, HttpUrl pageUrl, java.nio.charset.Charset invalidIn) {
    HttpUrl page = pageUrl.newBuilder().query(null).fragment(null).build();
    HttpUrl linkBase = page;
    String baseHref = LinkScanner.baseHref(html);
    if (baseHref != null) {
      HttpUrl declared = page.resolve(baseHref.trim());
      if (declared != null) {
        linkBase = declared;
      }
    }
    List<String> dir = new ArrayList<>(page.pathSegments());
    if (!dir.isEmpty() && dir.get(dir.size() - 1).isEmpty()) {
      dir.remove(dir.size() - 1);
    }

    Map<String, RemoteEntry> entries = new LinkedHashMap<>();
    List<String> rejected = new ArrayList<>();
    HttpUrl base = linkBase;
    LinkScanner.scan(html, (rawHref, beside) -> {
      String href = rawHref.trim();
      HttpUrl link = href.isEmpty() ? null : base.resolve(href);
      if (link == null || !link.scheme().equals(page.scheme()) || !link.host().equals(page.host())
          || link.port() != page.port()) {
        return; // other host, other scheme, or not a URL at all (mailto:, javascript:)
      }
      List<String> segments = link.pathSegments();
      if (segments.size() <= dir.size() || !segments.subList(0, dir.size()).equals(dir)) {
        return; // parent, sibling or unrelated path
      }
      String encoded = link.encodedPathSegments().get(dir.size());
      if (encoded.isEmpty()) {
        return; // the directory itself (sort links like ?C=N;O=D resolve here too)
      }
      boolean directory = segments.size() > dir.size() + 1;
      Optional<String> decoded = PercentCodec.decodeStrict(encoded);
      if (decoded.isEmpty()) {
        rejected.add("'" + encoded + "': " + (PercentCodec.hasMalformedEscape(encoded)
            ? "a '%' that is not a percent-escape" : "not valid UTF-8 after percent-decoding"
            + (invalidIn == null ? "" : " (the page holds bytes that are not valid " + invalidIn.name()
                + ", shown as %XX)")));
        return;
      }
      // One string where the spelling is the name (most names): a big listing keeps each name once.
      String name = decoded.get().equals(encoded) ? encoded : decoded.get();
      if (entries.containsKey(name)) {
        // Same name with and without a slash, or an icon link beside the name link: the first spelling wins,
        // but details missing at the first link (an icon link ends before the date) come from a later one.
        RemoteEntry first = entries.get(name);
        if (first != null && first.mtime() == null) {
          RemoteEntry later = details(beside, name, encoded, directory);
          if (later.mtime() != null) {
            entries.put(name, new RemoteEntry(first.name(), first.encodedName(), first.directory(),
                first.directory() ? -1 : later.size(), later.mtime(), later.mtimeExactSeconds(), null));
          }
        }
        return;
      }
      Optional<String> problem = LocalName.problem(name);
      if (problem.isPresent()) {
        rejected.add("'" + LocalName.printable(name) + "' (listed as '" + encoded + "'): " + problem.get());
        entries.put(name, null); // remember it so a second spelling is not reported twice
        return;
      }
      entries.put(name, details(beside, name, encoded, directory));
    });
    entries.values().removeIf(java.util.Objects::isNull);
    return new Listing(page, List.copyOf(entries.values()), List.copyOf(rejected));
  }

  private static RemoteEntry details(String text, String name, String encoded, boolean directory) {
    Instant mtime = null;
    boolean seconds = false;
    long size = -1;
    Matcher m = firstMatch(text, DAY_MON_YEAR, YEAR_MM_DD, YEAR_MON_DD);
    if (m != null) {
      mtime = toInstant(m);
      seconds = m.group(6) != null;
      Matcher s = SIZE.matcher(text).region(m.end(), text.length());
      if (mtime != null && s.find()) {
        String token = s.group(1);
        if (allDigits(token)) {
          try {
            size = Long.parseLong(token);
          } catch (NumberFormatException tooBig) {
            size = -1;
          }
        }
      }
    }
    return new RemoteEntry(name, encoded, directory, directory ? -1 : size, mtime, seconds, null);
  }

  private static boolean allDigits(String token) {
    for (int i = 0; i < token.length(); i++) {
      if (!Character.isDigit(token.charAt(i))) {
        return false;
      }
    }
    return true;
  }

  private static Matcher firstMatch(String text, Pattern... patterns) {
    Matcher best = null;
    for (Pattern p : patterns) {
      Matcher m = p.matcher(text);
      if (m.find() && (best == null || m.start() < best.start())) {
        best = m;
      }
    }
    return best;
  }

  /** Listings give times without a zone; nginx's default and most mirrors use UTC, so read them as UTC. */
  private static Instant toInstant(Matcher m) {
    try {
      Pattern p = m.pattern();
      int year;
      int month;
      int day;
      if (p == DAY_MON_YEAR) {
        day = Integer.parseInt(m.group(1));
        month = month(m.group(2));
        year = Integer.parseInt(m.group(3));
      } else if (p == YEAR_MON_DD) {
        year = Integer.parseInt(m.group(1));
        month = month(m.group(2));
        day = Integer.parseInt(m.group(3));
      } else {
        year = Integer.parseInt(m.group(1));
        month = Integer.parseInt(m.group(2));
        day = Integer.parseInt(m.group(3));
      }
      int second = m.group(6) == null ? 0 : Integer.parseInt(m.group(6));
      return LocalDateTime.of(year, month, day, Integer.parseInt(m.group(4)), Integer.parseInt(m.group(5)), second)
          .toInstant(ZoneOffset.UTC);
    } catch (java.time.DateTimeException | NumberFormatException e) {
      return null;
    }
  }

  /** 1 to 12; 0 (which no date accepts) for a word that is not a month. */
  private static int month(String mon) {
    return MONTHS.indexOf(mon.toLowerCase(Locale.ROOT)) + 1;
  }
}
