package dev.lazydir.origin;

import dev.lazydir.tree.LocalName;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import okhttp3.HttpUrl;
import org.jsoup.Jsoup;
import org.jsoup.nodes.Document;
import org.jsoup.nodes.Element;
import org.jsoup.nodes.Node;
import org.jsoup.nodes.TextNode;

/**
 * Turns any HTML page of links into directory entries. No per-server template: an entry is a link that stays
 * on the same scheme, host and port and points strictly below the listed directory; its first path segment
 * below the directory is the entry's name. Sizes and times are read from the text beside the link (the rest
 * of a {@code <pre>} line, or the following cells of a table row) when they are there.
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
  private static final DateTimeFormatter MON = DateTimeFormatter.ofPattern("MMM", Locale.ENGLISH);

  private ListingParser() {}

  /**
   * Parses a listing body, read as {@link PageText} reads it: bytes not valid in the page's charset become
   * %XX escapes, so a link holding them is skipped with a warning instead of naming a file with U+FFFD.
   */
  public static Listing parse(byte[] body, String charset, HttpUrl pageUrl) {
    PageText text = PageText.decode(body, charset);
    return parse(Jsoup.parse(text.text(), pageUrl.toString()), pageUrl, text.invalidBytes() ? text.charset() : null);
  }

  public static Listing parse(String html, HttpUrl pageUrl) {
    return parse(Jsoup.parse(html, pageUrl.toString()), pageUrl, null);
  }

  /** invalidIn: the charset some bytes of the page were not valid in (shown as escapes), or null. */
  private static Listing parse(Document doc, HttpUrl pageUrl, java.nio.charset.Charset invalidIn) {
    HttpUrl page = pageUrl.newBuilder().query(null).fragment(null).build();
    HttpUrl linkBase = page;
    Element baseTag = doc.selectFirst("base[href]");
    if (baseTag != null) {
      HttpUrl declared = page.resolve(baseTag.attr("href").trim());
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
    for (Element a : doc.select("a[href]")) {
      String href = a.attr("href").trim();
      HttpUrl link = href.isEmpty() ? null : linkBase.resolve(href);
      if (link == null || !link.scheme().equals(page.scheme()) || !link.host().equals(page.host())
          || link.port() != page.port()) {
        continue; // other host, other scheme, or not a URL at all (mailto:, javascript:)
      }
      List<String> segments = link.pathSegments();
      if (segments.size() <= dir.size() || !segments.subList(0, dir.size()).equals(dir)) {
        continue; // parent, sibling or unrelated path
      }
      String encoded = link.encodedPathSegments().get(dir.size());
      if (encoded.isEmpty()) {
        continue; // the directory itself (sort links like ?C=N;O=D resolve here too)
      }
      boolean directory = segments.size() > dir.size() + 1;
      Optional<String> decoded = PercentCodec.decodeStrict(encoded);
      if (decoded.isEmpty()) {
        rejected.add("'" + encoded + "': " + (PercentCodec.hasMalformedEscape(encoded)
            ? "a '%' that is not a percent-escape" : "not valid UTF-8 after percent-decoding"
            + (invalidIn == null ? "" : " (the page holds bytes that are not valid " + invalidIn.name()
                + ", shown as %XX)")));
        continue;
      }
      String name = decoded.get();
      if (entries.containsKey(name)) {
        // Same name with and without a slash, or an icon link beside the name link: the first spelling wins,
        // but details missing at the first link (an icon link ends before the date) come from a later one.
        RemoteEntry first = entries.get(name);
        if (first != null && first.mtime() == null) {
          RemoteEntry later = details(a, name, encoded, directory);
          if (later.mtime() != null) {
            entries.put(name, new RemoteEntry(first.name(), first.encodedName(), first.directory(),
                first.directory() ? -1 : later.size(), later.mtime(), later.mtimeExactSeconds(), null));
          }
        }
        continue;
      }
      Optional<String> problem = LocalName.problem(name);
      if (problem.isPresent()) {
        rejected.add("'" + LocalName.printable(name) + "' (listed as '" + encoded + "'): " + problem.get());
        entries.put(name, null); // remember it so a second spelling is not reported twice
        continue;
      }
      entries.put(name, details(a, name, encoded, directory));
    }
    entries.values().removeIf(java.util.Objects::isNull);
    return new Listing(page, List.copyOf(entries.values()), List.copyOf(rejected));
  }

  private static RemoteEntry details(Element a, String name, String encoded, boolean directory) {
    String text = textBeside(a);
    Instant mtime = null;
    boolean seconds = false;
    long size = -1;
    Matcher m = firstMatch(text, DAY_MON_YEAR, YEAR_MM_DD, YEAR_MON_DD);
    if (m != null) {
      mtime = toInstant(m);
      seconds = m.group(6) != null;
      Matcher s = SIZE.matcher(text.substring(m.end()));
      if (mtime != null && s.find()) {
        String token = s.group(1);
        if (token.chars().allMatch(Character::isDigit)) {
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
        month = MON.parse(capitalize(m.group(2))).get(java.time.temporal.ChronoField.MONTH_OF_YEAR);
        year = Integer.parseInt(m.group(3));
      } else if (p == YEAR_MON_DD) {
        year = Integer.parseInt(m.group(1));
        month = MON.parse(capitalize(m.group(2))).get(java.time.temporal.ChronoField.MONTH_OF_YEAR);
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

  private static String capitalize(String mon) {
    return mon.substring(0, 1).toUpperCase(Locale.ROOT) + mon.substring(1).toLowerCase(Locale.ROOT);
  }

  /** The text that describes a link: following table cells, or the rest of its line in preformatted text. */
  private static String textBeside(Element a) {
    Element cell = a.closest("td, th");
    if (cell != null) {
      StringBuilder sb = new StringBuilder();
      for (Element next = cell.nextElementSibling(); next != null; next = next.nextElementSibling()) {
        sb.append(' ').append(next.text());
      }
      return sb.toString();
    }
    StringBuilder sb = new StringBuilder();
    for (Node n = a.nextSibling(); n != null; n = n.nextSibling()) {
      if (n instanceof TextNode t) {
        String s = t.getWholeText();
        int nl = s.indexOf('\n');
        if (nl >= 0) {
          sb.append(s, 0, nl);
          break;
        }
        sb.append(s);
      } else if (n instanceof Element e) {
        if (e.tagName().equals("a") || e.tagName().equals("br") || e.tagName().equals("img") || e.isBlock()) {
          break;
        }
        sb.append(e.text());
      }
    }
    return sb.toString();
  }
}
