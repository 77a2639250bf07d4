package dev.lazydir.origin;

import dev.lazydir.origin.StructuredListing.Text;
import dev.lazydir.origin.StructuredListing.TextBuilder;
import okhttp3.HttpUrl;

/**
 * Reads nginx's {@code autoindex_format xml;} listing, straight from the bytes (UTF-8), holding the entries
 * only:
 *
 * <pre>
 * &lt;?xml version="1.0"?&gt;
 * &lt;list&gt;
 * &lt;directory mtime="2024-01-16T11:21:32Z"&gt;sub dir&lt;/directory&gt;
 * &lt;file mtime="2023-11-12T13:14:15Z" size="1234"&gt;plain.txt&lt;/file&gt;
 * &lt;other mtime="2024-03-05T06:07:08Z"&gt;dangling&lt;/other&gt;
 * &lt;/list&gt;
 * </pre>
 *
 * <p>Not read by an XML library: nginx escapes only {@code & < > "} and writes every other byte of a name as it
 * is, control characters included, which XML 1.0 forbids (a conforming parser would refuse the whole
 * listing for one such name), and a name that is not UTF-8 must skip that entry, not the listing. Element
 * content is taken literally after the five predefined entities and character references; it is not
 * whitespace-normalised. The shape is strict: a truncated body, an element inside an entry, text between
 * entries, a DOCTYPE (no entity is ever defined or expanded) or anything after {@code </list>} fails the
 * whole listing. An element other than directory, file or other is an unknown type, skipped with a warning.
 */
final class NginxXmlListing {
  private final byte[] body;
  private final StructuredListing out;
  private int pos;

  private NginxXmlListing(byte[] body, HttpUrl page) {
    this.body = body;
    this.out = new StructuredListing(page, "XML");
  }

  static Listing parse(byte[] body, HttpUrl page) throws MalformedListingException {
    NginxXmlListing p = new NginxXmlListing(body, page);
    p.run();
    return p.out.listing();
  }

  /** Whether the body's first element is {@code <list>} (after a BOM, the XML declaration and comments). */
  static boolean looksLikeNginxXml(byte[] body) {
    NginxXmlListing p = new NginxXmlListing(body, HttpUrl.get("http://x/"));
    try {
      p.prolog();
      return p.startsWith("<list") && (p.at(p.pos + 5) == '>' || isSpace(p.at(p.pos + 5))
          || p.at(p.pos + 5) == '/');
    } catch (MalformedListingException e) {
      return false;
    }
  }

  private void run() throws MalformedListingException {
    prolog();
    if (startsWith("<!")) {
      throw out.malformed(startsWith("<!DOCTYPE") || startsWith("<!doctype")
          ? "a DOCTYPE (nginx writes none)" : "unexpected markup", pos);
    }
    Tag list = startTag();
    if (!list.name().equals("list")) {
      throw out.malformed("the root element is <" + list.name() + ">, not <list>", 0);
    }
    if (!list.empty()) {
      while (true) {
        misc();
        if (startsWith("</")) {
          endTag("list");
          break;
        }
        if (peek() < 0) {
          throw out.malformed("unexpected end of the body, no </list> (truncated?)", pos);
        }
        if (peek() != '<') {
          throw out.malformed("text between entries", pos);
        }
        entry();
      }
    }
    misc();
    if (pos < body.length) {
      throw out.malformed("content after </list>", pos);
    }
  }

  private void entry() throws MalformedListingException {
    if (startsWith("<!") || startsWith("<?")) {
      throw out.malformed("unexpected markup between entries", pos);
    }
    Tag tag = startTag();
    Text name = new Text("", null);
    if (!tag.empty()) {
      name = content();
      endTag(tag.name());
    }
    Text mtime = tag.mtime();
    Text size = tag.size();
    out.add(name, tag.name(), size == null || size.problem() != null ? -1 : StructuredListing.size(size.value()),
        mtime == null || mtime.problem() != null ? null : StructuredListing.time(mtime.value()));
  }

  /** Text up to the next '<', which must start the end tag. */
  private Text content() throws MalformedListingException {
    String plain = plainUpTo('<');
    if (plain != null && startsWith("</")) {
      return new Text(plain, null);
    }
    TextBuilder text = new TextBuilder();
    if (plain != null) {
      text.appendPlain(plain);
    }
    while (true) {
      int b = peek();
      if (b < 0) {
        throw out.malformed("unexpected end of the body in an entry (truncated?)", pos);
      }
      if (b == '<') {
        if (!startsWith("</")) {
          throw out.malformed("markup inside an entry", pos);
        }
        return text.build();
      }
      if (b == '&') {
        reference(text);
      } else if (b < 0x80) {
        text.append((char) b);
        pos++;
      } else {
        pos = text.appendUtf8(body, pos, body.length);
      }
    }
  }

  /** An entity or character reference at pos ('&'); one that is not known makes the text invalid. */
  private void reference(TextBuilder text) {
    int semi = -1;
    for (int i = pos + 1; i < body.length && i < pos + 12; i++) {
      if (body[i] == ';') {
        semi = i;
        break;
      }
      if (body[i] == '<' || body[i] == '&') {
        break;
      }
    }
    if (semi < 0) {
      text.append('&');
      text.problem("holds a '&' that starts no entity");
      pos++;
      return;
    }
    String ref = new String(body, pos + 1, semi - pos - 1, java.nio.charset.StandardCharsets.ISO_8859_1);
    int cp = switch (ref) {
      case "amp" -> '&';
      case "lt" -> '<';
      case "gt" -> '>';
      case "quot" -> '"';
      case "apos" -> '\'';
      default -> charRef(ref);
    };
    if (cp == -2) {
      text.append('&');
      text.problem("holds an unknown entity '&" + dev.lazydir.tree.LocalName.printable(ref) + ";'");
      pos++;
      return;
    }
    text.appendCodePoint(cp);
    pos = semi + 1;
  }

  /** The code point of "#123" or "#x1F"; -2 if ref is neither. */
  private static int charRef(String ref) {
    try {
      if (ref.startsWith("#x") || ref.startsWith("#X")) {
        return ref.length() > 2 && ref.length() <= 8 && ref.chars().skip(2).allMatch(c -> Character.digit(c, 16) >= 0)
            ? Integer.parseInt(ref.substring(2), 16) : -2;
      }
      if (ref.startsWith("#")) {
        return ref.length() > 1 && ref.length() <= 8 && ref.chars().skip(1).allMatch(c -> c >= '0' && c <= '9')
            ? Integer.parseInt(ref.substring(1)) : -2;
      }
    } catch (NumberFormatException e) {
      return -2;
    }
    return -2;
  }

  /** A start tag: its name, its first mtime and size attributes (others are read and dropped), and "/>". */
  private record Tag(String name, Text mtime, Text size, boolean empty) {}

  /** A start tag at pos ('<'): its name, attributes (first of each name wins) and whether it is "/>". */
  private Tag startTag() throws MalformedListingException {
    if (peek() != '<') {
      throw out.malformed(peek() < 0 ? "unexpected end of the body (truncated?)" : "expected an element", pos);
    }
    pos++;
    String name = name();
    if (name.isEmpty()) {
      throw out.malformed("expected an element name", pos);
    }
    Text mtime = null;
    Text size = null;
    while (true) {
      boolean spaced = isSpace(peek());
      while (isSpace(peek())) {
        pos++;
      }
      int c = peek();
      if (c < 0) {
        throw out.malformed("unexpected end of the body in a tag (truncated?)", pos);
      }
      if (c == '>') {
        pos++;
        return new Tag(name, mtime, size, false);
      }
      if (c == '/') {
        pos++;
        if (peek() != '>') {
          throw out.malformed("expected '>' after '/'", pos);
        }
        pos++;
        return new Tag(name, mtime, size, true);
      }
      if (!spaced) {
        throw out.malformed("expected a space before an attribute", pos);
      }
      String attr = name();
      if (attr.isEmpty()) {
        throw out.malformed("expected an attribute name", pos);
      }
      while (isSpace(peek())) {
        pos++;
      }
      if (peek() != '=') {
        throw out.malformed("expected '=' after an attribute name", pos);
      }
      pos++;
      while (isSpace(peek())) {
        pos++;
      }
      int quote = peek();
      if (quote != '"' && quote != '\'') {
        throw out.malformed(quote < 0 ? "unexpected end of the body in a tag (truncated?)"
            : "expected a quoted attribute value", pos);
      }
      pos++;
      Text value = attributeValue(quote);
      if (attr.equals("mtime") && mtime == null) {
        mtime = value;
      } else if (attr.equals("size") && size == null) {
        size = value;
      }
    }
  }

  /** An attribute value after its opening quote, up to and past the closing one. */
  private Text attributeValue(int quote) throws MalformedListingException {
    String plain = plainUpTo(quote);
    if (plain != null && peek() == quote) {
      pos++;
      return new Text(plain, null);
    }
    TextBuilder value = new TextBuilder();
    if (plain != null) {
      value.appendPlain(plain);
    }
    while (true) {
      int b = peek();
      if (b < 0) {
        throw out.malformed("unexpected end of the body in an attribute (truncated?)", pos);
      }
      if (b == quote) {
        pos++;
        return value.build();
      }
      if (b == '<') {
        throw out.malformed("'<' in an attribute value", pos);
      }
      if (b == '&') {
        reference(value);
      } else if (b < 0x80) {
        value.append((char) b);
        pos++;
      } else {
        pos = value.appendUtf8(body, pos, body.length);
      }
    }
  }

  /**
   * The common case in one copy: the text from pos up to {@code stop}, or up to a '&', a '<' or a byte that
   * starts no valid UTF-8 (pos then there), as a string; null (pos unchanged) if it is empty.
   */
  private String plainUpTo(int stop) {
    boolean ascii = true;
    int i = pos;
    int n = body.length;
    while (i < n) {
      int b = body[i] & 0xff;
      if (b == stop || b == '&' || b == '<') {
        break;
      }
      if (b < 0x80) {
        i++;
      } else {
        int after = StructuredListing.utf8End(body, i, n);
        if (after < 0) {
          break;
        }
        ascii = false;
        i = after;
      }
    }
    if (i == pos) {
      return null;
    }
    String s = new String(body, pos, i - pos,
        ascii ? java.nio.charset.StandardCharsets.ISO_8859_1 : java.nio.charset.StandardCharsets.UTF_8);
    pos = i;
    return s;
  }

  private void endTag(String name) throws MalformedListingException {
    int at = pos;
    pos += 2; // "</"
    String got = name();
    while (isSpace(peek())) {
      pos++;
    }
    if (peek() < 0) {
      throw out.malformed("unexpected end of the body in an end tag (truncated?)", pos);
    }
    if (!got.equals(name) || peek() != '>') {
      throw out.malformed("expected </" + name + ">", at);
    }
    pos++;
  }

  private static final String[] KNOWN_NAMES = {"file", "directory", "other", "list", "mtime", "size"};

  /** An XML name, ASCII only (nginx's element and attribute names are). */
  private String name() {
    for (String known : KNOWN_NAMES) {
      int end = pos + known.length();
      if (startsWith(known) && !isNameChar(at(end))) {
        pos = end;
        return known;
      }
    }
    int start = pos;
    while (pos < body.length) {
      int c = body[pos] & 0xff;
      boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9' && pos > start)
          || c == '_' || c == ':' || ((c == '-' || c == '.') && pos > start);
      if (!ok) {
        break;
      }
      pos++;
    }
    return new String(body, start, pos - start, java.nio.charset.StandardCharsets.US_ASCII);
  }

  /** BOM, XML declaration, whitespace and comments before the root element. */
  private void prolog() throws MalformedListingException {
    if (body.length >= 3 && (body[0] & 0xff) == 0xEF && (body[1] & 0xff) == 0xBB && (body[2] & 0xff) == 0xBF) {
      pos = 3;
    }
    misc();
  }

  /** Whitespace, comments and processing instructions (the XML declaration among them). */
  private void misc() throws MalformedListingException {
    while (true) {
      while (isSpace(peek())) {
        pos++;
      }
      if (startsWith("<!--")) {
        int end = indexOf("-->", pos + 4);
        if (end < 0) {
          throw out.malformed("unexpected end of the body in a comment (truncated?)", pos);
        }
        pos = end + 3;
      } else if (startsWith("<?")) {
        int end = indexOf("?>", pos + 2);
        if (end < 0) {
          throw out.malformed("unexpected end of the body in a processing instruction (truncated?)", pos);
        }
        pos = end + 2;
      } else {
        return;
      }
    }
  }

  private int indexOf(String s, int from) {
    outer:
    for (int i = from; i + s.length() <= body.length; i++) {
      for (int k = 0; k < s.length(); k++) {
        if (body[i + k] != s.charAt(k)) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  private boolean startsWith(String s) {
    if (pos + s.length() > body.length) {
      return false;
    }
    for (int k = 0; k < s.length(); k++) {
      if (body[pos + k] != s.charAt(k)) {
        return false;
      }
    }
    return true;
  }

  private static boolean isNameChar(int c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == ':'
        || c == '-' || c == '.';
  }

  private int at(int i) {
    return i < body.length ? body[i] & 0xff : -1;
  }

  private int peek() {
    return at(pos);
  }

  private static boolean isSpace(int c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
  }
}
