package dev.lazydir.origin;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.jsoup.parser.Parser;
import org.jsoup.parser.Tag;

/**
 * The links of an HTML page and the text beside each, in one pass over the text, holding no document: a
 * jsoup DOM of a 50,000-entry listing took about 25 MiB (3.5 times the page) for the few bytes per entry a
 * listing needs. What it gives is what the DOM gave (pinned against it by StreamingScanMatchesTheDocumentTest):
 *
 * <ul>
 *   <li>a link in a table cell: the text of each following cell of its row, each after a space, as
 *       {@code Element.text()} gives it (whitespace collapsed, trimmed);
 *   <li>any other link: what follows its end within its parent, up to the first newline of a text, or to a
 *       link, {@code <br>}, {@code <img>} or block element; an inline element gives its whole text.
 * </ul>
 *
 * <p>It is not an HTML parser: it knows tags, attributes, comments, raw-text elements and the tree builder's
 * few rules that decide these two texts on listing pages (an {@code <a>} closes an open one; a cell or row
 * ends where the next begins; cells count only inside a table).
 */
final class LinkScanner {
  /** Receives each link in document order: its href (entities decoded, as written) and the text beside it. */
  interface Sink {
    void link(String href, String beside);
  }

  private static final class Pending {
    final String href;
    final int cell;
    final StringBuilder text = new StringBuilder();
    boolean done;

    Pending(String href, int cell) {
      this.href = href;
      this.cell = cell;
    }
  }

  private final String html;
  private final Sink sink;
  private final ArrayDeque<Pending> queue = new ArrayDeque<>();
  private int pos;

  private int tables;
  private int pres;
  private int cell = -1;
  private StringBuilder cellText;
  private final List<Pending> rowLinks = new ArrayList<>();

  /** A link outside a cell whose content is being read (its text beside starts at its end). */
  private Pending open;
  /** A link outside a cell whose text beside is being read, and the inline elements open in it. */
  private Pending beside;
  private int inlineDepth;
  private StringBuilder inlineText;

  private LinkScanner(String html, Sink sink) {
    this.html = html;
    this.sink = sink;
  }

  static void scan(String html, Sink sink) {
    new LinkScanner(html, sink).run();
  }

  /** The href of the page's first {@code <base href>}, wherever it is, or null. */
  static String baseHref(String html) {
    LinkScanner s = new LinkScanner(html, null);
    if (s.indexOfIgnoreCase("<base", 0) < 0) {
      return null; // most pages: one search, no second walk through the tags
    }
    String[] found = {null};
    s.forEachTag((name, attrs) -> {
      if (found[0] == null && name.equals("base")) {
        found[0] = attrs.get("href");
      }
      return found[0] == null;
    });
    return found[0];
  }

  // --- tokenizing ---------------------------------------------------------------------------------------

  /** Attributes of a start tag: first of each name wins, values entity-decoded. */
  private static final class Attrs {
    private final List<String> names = new ArrayList<>(2);
    private final List<String> values = new ArrayList<>(2);

    void put(String name, String value) {
      if (!names.contains(name)) {
        names.add(name);
        values.add(value);
      }
    }

    String get(String name) {
      int i = names.indexOf(name);
      return i < 0 ? null : values.get(i);
    }
  }

  @FunctionalInterface
  private interface TagVisitor {
    /** Returns false to stop. */
    boolean tag(String name, Attrs attrs);
  }

  /** Visits start tags only (for {@code <base>}). */
  private void forEachTag(TagVisitor visitor) {
    pos = 0;
    int n = html.length();
    while (pos < n) {
      int lt = html.indexOf('<', pos);
      if (lt < 0) {
        return;
      }
      pos = lt;
      Token t = next();
      if (t != null && t.start) {
        if (!visitor.tag(t.name, t.attrs)) {
          return;
        }
        rawTextAfter(t.name); // a script or a title may spell a tag that is none
      }
    }
  }

  private record Token(boolean start, String name, Attrs attrs, boolean selfClosing) {}

  private void run() {
    int n = html.length();
    while (pos < n) {
      int lt = html.indexOf('<', pos);
      int textEnd = lt < 0 ? n : lt;
      if (textEnd > pos) {
        text(html.substring(pos, textEnd));
      }
      if (lt < 0) {
        break;
      }
      pos = lt;
      Token t = next();
      if (t == null) {
        continue;
      }
      if (t.start) {
        startTag(t.name, t.attrs, t.selfClosing);
        rawTextAfter(t.name);
      } else {
        endTag(t.name);
      }
    }
    finishAll();
  }

  /**
   * Reads the markup at pos ('<'): returns a tag, or null for a comment, doctype or processing instruction
   * (skipped) or for a '<' that starts no tag (then read as text).
   */
  private Token next() {
    int n = html.length();
    int i = pos + 1;
    if (i >= n) {
      text("<");
      pos = n;
      return null;
    }
    char c = html.charAt(i);
    if (c == '!') {
      if (html.startsWith("--", i + 1)) {
        int end = html.indexOf("-->", i + 3);
        pos = end < 0 ? n : end + 3;
      } else {
        int end = html.indexOf('>', i);
        pos = end < 0 ? n : end + 1;
      }
      return null;
    }
    if (c == '?') {
      int end = html.indexOf('>', i);
      pos = end < 0 ? n : end + 1;
      return null;
    }
    boolean end = c == '/';
    int nameStart = end ? i + 1 : i;
    if (nameStart >= n || !isAsciiLetter(html.charAt(nameStart))) {
      if (end) { // "</>" or "</ ..." : a bogus comment
        int gt = html.indexOf('>', nameStart);
        pos = gt < 0 ? n : gt + 1;
        return null;
      }
      text("<");
      pos = i;
      return null;
    }
    int j = nameStart;
    while (j < n && !isSpace(html.charAt(j)) && html.charAt(j) != '/' && html.charAt(j) != '>') {
      j++;
    }
    String name = html.substring(nameStart, j).toLowerCase(Locale.ROOT);
    if (end) {
      int gt = html.indexOf('>', j);
      pos = gt < 0 ? n : gt + 1;
      return new Token(false, name, null, false);
    }
    Attrs attrs = new Attrs();
    boolean selfClosing = false;
    while (j < n) {
      char ch = html.charAt(j);
      if (isSpace(ch)) {
        j++;
      } else if (ch == '>') {
        j++;
        break;
      } else if (ch == '/') {
        selfClosing = j + 1 < n && html.charAt(j + 1) == '>';
        j++;
      } else {
        selfClosing = false;
        int a = j;
        while (j < n && !isSpace(html.charAt(j)) && "/>=".indexOf(html.charAt(j)) < 0) {
          j++;
        }
        String attr = html.substring(a, j).toLowerCase(Locale.ROOT);
        while (j < n && isSpace(html.charAt(j))) {
          j++;
        }
        String value = "";
        if (j < n && html.charAt(j) == '=') {
          j++;
          while (j < n && isSpace(html.charAt(j))) {
            j++;
          }
          if (j < n && (html.charAt(j) == '"' || html.charAt(j) == '\'')) {
            int close = html.indexOf(html.charAt(j), j + 1);
            int stop = close < 0 ? n : close;
            value = html.substring(j + 1, stop);
            j = close < 0 ? n : close + 1;
          } else {
            int v = j;
            while (j < n && !isSpace(html.charAt(j)) && html.charAt(j) != '>') {
              j++;
            }
            value = html.substring(v, j);
          }
        }
        attrs.put(attr, value.indexOf('&') < 0 ? value : Parser.unescapeEntities(value, true));
      }
    }
    pos = j;
    return new Token(true, name, attrs, selfClosing);
  }

  /** Skips the content of elements whose text is not markup (a script may hold "<a href>"). */
  private void rawTextAfter(String name) {
    boolean data = switch (name) {
      case "script", "style", "xmp", "iframe", "noembed", "noframes" -> true;
      default -> false;
    };
    boolean rcdata = name.equals("title") || name.equals("textarea");
    if (!data && !rcdata) {
      return;
    }
    int close = indexOfIgnoreCase("</" + name, pos);
    int stop = close < 0 ? html.length() : close;
    if (rcdata && stop > pos) {
      text(html.substring(pos, stop));
    }
    pos = stop;
  }

  private int indexOfIgnoreCase(String needle, int from) {
    for (int i = html.indexOf('<', from); i >= 0; i = html.indexOf('<', i + 1)) {
      if (html.regionMatches(true, i, needle, 0, needle.length())) {
        return i;
      }
    }
    return -1;
  }

  private static boolean isAsciiLetter(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  }

  private static boolean isSpace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
  }

  // --- the two texts ------------------------------------------------------------------------------------

  private void text(String raw) {
    String t = raw.indexOf('&') < 0 ? raw : Parser.unescapeEntities(raw, false);
    if (cellText != null) {
      cellText.append(t);
    }
    if (beside == null) {
      return;
    }
    if (inlineDepth > 0) {
      inlineText.append(t);
      return;
    }
    int nl = t.indexOf('\n');
    if (nl < 0) {
      beside.text.append(t);
    } else {
      beside.text.append(t, 0, nl);
      finishBeside();
    }
  }

  private void startTag(String name, Attrs attrs, boolean selfClosing) {
    Tag tag = Tag.valueOf(name);
    boolean block = tag.isBlock();
    switch (name) {
      case "a" -> {
        closeOpenLink();
        finishBeside();
        String href = attrs.get("href");
        if (href != null) {
          Pending p = new Pending(href, cellText != null ? cell : -1);
          queue.add(p);
          if (cellText != null) {
            rowLinks.add(p);
          } else {
            open = p;
          }
        }
        return;
      }
      case "td", "th" -> {
        if (tables > 0) {
          closeOpenLink();
          finishBeside();
          endCell();
          cell++;
          cellText = new StringBuilder();
        }
        return; // outside a table the tree builder drops the tag
      }
      case "tr", "tbody", "thead", "tfoot" -> {
        if (tables > 0) {
          closeOpenLink();
          finishBeside();
          endRow();
        }
        return;
      }
      case "table" -> {
        closeOpenLink();
        finishBeside();
        endRow();
        tables++;
        return;
      }
      case "pre", "listing" -> pres++;
      default -> { }
    }
    if (cellText != null && (block || name.equals("br"))) {
      spaceAfter(cellText);
    }
    if (beside != null) {
      if (inlineDepth == 0) {
        if (name.equals("br") || name.equals("img") || block) {
          finishBeside();
        } else if (!tag.isEmpty() && !selfClosing) {
          inlineDepth = 1;
          inlineText = new StringBuilder();
        }
      } else {
        if (block || name.equals("br")) {
          spaceAfter(inlineText);
        }
        if (!tag.isEmpty() && !selfClosing) {
          inlineDepth++;
        }
      }
    }
  }

  private void endTag(String name) {
    switch (name) {
      case "a" -> {
        if (open != null) {
          beside = open;
          open = null;
          inlineDepth = 0;
        }
        return;
      }
      case "td", "th" -> {
        if (tables > 0) {
          closeOpenLink();
          finishBeside();
          endCell();
        }
        return;
      }
      case "tr", "tbody", "thead", "tfoot" -> {
        if (tables > 0) {
          closeOpenLink();
          finishBeside();
          endRow();
        }
        return;
      }
      case "table" -> {
        if (tables > 0) {
          closeOpenLink();
          finishBeside();
          endRow();
          tables--;
        }
        return;
      }
      case "pre", "listing" -> pres = Math.max(0, pres - 1);
      default -> { }
    }
    boolean block = Tag.valueOf(name).isBlock();
    if (cellText != null && block) {
      spaceAfter(cellText);
    }
    if (beside != null) {
      if (inlineDepth > 0) {
        if (block) {
          spaceAfter(inlineText);
        }
        if (--inlineDepth == 0) {
          beside.text.append(normalized(inlineText, pres > 0));
          inlineText = null;
        }
      } else {
        finishBeside(); // the link's parent ends: it has no more siblings
      }
    }
    if (open != null && block) {
      closeOpenLink(); // an end tag like </li> closes the link inside it, which then has nothing beside
    }
  }

  /** A link whose element ends without its own end tag: nothing follows it within its parent. */
  private void closeOpenLink() {
    if (open != null) {
      open.done = true;
      open = null;
      flush();
    }
  }

  private void finishBeside() {
    if (beside == null) {
      return;
    }
    if (inlineDepth > 0) {
      beside.text.append(normalized(inlineText, pres > 0));
    }
    beside.done = true;
    beside = null;
    inlineDepth = 0;
    inlineText = null;
    flush();
  }

  private void endCell() {
    if (cellText == null) {
      return;
    }
    String t = normalized(cellText, false);
    for (Pending p : rowLinks) {
      if (p.cell < cell) {
        p.text.append(' ').append(t);
      }
    }
    cellText = null;
  }

  private void endRow() {
    endCell();
    for (Pending p : rowLinks) {
      p.done = true;
    }
    rowLinks.clear();
    cell = -1;
    flush();
  }

  private void finishAll() {
    closeOpenLink();
    finishBeside();
    endRow();
    for (Pending p : queue) {
      p.done = true;
    }
    flush();
  }

  private void flush() {
    while (!queue.isEmpty() && queue.peek().done) {
      Pending p = queue.poll();
      sink.link(p.href, p.text.toString());
    }
  }

  private static void spaceAfter(StringBuilder sb) {
    if (sb.length() > 0 && sb.charAt(sb.length() - 1) != ' ') {
      sb.append(' ');
    }
  }

  /** Element.text(): runs of whitespace (and no-break spaces) as one space, trimmed; in a pre, only trimmed. */
  private static String normalized(StringBuilder text, boolean preformatted) {
    if (preformatted) {
      return text.toString().trim();
    }
    StringBuilder sb = new StringBuilder(text.length());
    boolean white = false;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == '\u00a0') {
        white = true;
      } else {
        if (white && sb.length() > 0) {
          sb.append(' ');
        }
        white = false;
        sb.append(c);
      }
    }
    return sb.toString();
  }
}
