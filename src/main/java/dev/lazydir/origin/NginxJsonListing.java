package dev.lazydir.origin;

import dev.lazydir.origin.StructuredListing.Text;
import dev.lazydir.origin.StructuredListing.TextBuilder;
import okhttp3.HttpUrl;

/**
 * Reads nginx's {@code autoindex_format json;} listing, straight from the bytes (RFC 8259, UTF-8), holding
 * the entries only:
 *
 * <pre>
 * [
 * { "name":"sub dir", "type":"directory", "mtime":"Tue, 16 Jan 2024 11:21:32 GMT" },
 * { "name":"plain.txt", "type":"file", "mtime":"Sun, 12 Nov 2023 13:14:15 GMT", "size":1234 }
 * ]
 * </pre>
 *
 * <p>nginx escapes '"', '\' and control characters, and writes a name's bytes as they are otherwise, so a name
 * that is not UTF-8 is skipped with a warning (as in HTML listings) while the rest of the listing is kept.
 * The syntax is strict: invalid JSON, a truncated body or a value that is not an array of objects fails the
 * whole listing. Members other than name, type, mtime and size are skipped.
 */
final class NginxJsonListing {
  /** Deeper values (only in members nginx never writes) fail the listing instead of the stack. */
  private static final int MAX_DEPTH = 64;

  private final byte[] body;
  private final StructuredListing out;
  private int pos;

  private NginxJsonListing(byte[] body, HttpUrl page) {
    this.body = body;
    this.out = new StructuredListing(page, "JSON");
  }

  static Listing parse(byte[] body, HttpUrl page) throws MalformedListingException {
    NginxJsonListing p = new NginxJsonListing(body, page);
    p.run();
    return p.out.listing();
  }

  private void run() throws MalformedListingException {
    skipBom();
    ws();
    expect('[', "expected '[' (a JSON array)");
    ws();
    if (peek() == ']') {
      pos++;
    } else {
      while (true) {
        entry();
        ws();
        int c = next("expected ',' or ']'");
        if (c == ']') {
          break;
        }
        if (c != ',') {
          throw out.malformed("expected ',' or ']' after an entry", pos - 1);
        }
        ws();
      }
    }
    ws();
    if (pos < body.length) {
      throw out.malformed("text after the array", pos);
    }
  }

  private void entry() throws MalformedListingException {
    expect('{', "expected an entry object '{'");
    Text name = null;
    String type = null;
    String mtime = null;
    String size = null;
    boolean nameNotString = false;
    ws();
    if (peek() == '}') {
      pos++;
    } else {
      while (true) {
        ws();
        if (peek() != '"') {
          throw out.malformed("expected a member name", pos);
        }
        String key = stringIs("name") ? "name" : stringIs("type") ? "type" : stringIs("mtime") ? "mtime"
            : stringIs("size") ? "size" : string().value();
        ws();
        expect(':', "expected ':'");
        ws();
        int c = peek();
        switch (key) {
          case "name" -> {
            if (c == '"') {
              name = string();
            } else {
              nameNotString = true;
              value(0);
            }
          }
          case "type" -> type = c != '"' ? skipped() : stringIs("directory") ? "directory" : stringIs("file") ? "file"
              : string().value();
          case "mtime" -> mtime = c == '"' ? string().value() : skipped();
          case "size" -> size = c == '-' || (c >= '0' && c <= '9') ? number() : skipped();
          default -> value(0);
        }
        ws();
        int after = next("expected ',' or '}'");
        if (after == '}') {
          break;
        }
        if (after != ',') {
          throw out.malformed("expected ',' or '}' in an entry", pos - 1);
        }
      }
    }
    out.add(nameNotString ? new Text("(not a string)", "its name is not a JSON string") : name, type,
        StructuredListing.size(size), StructuredListing.time(mtime));
  }

  /** Skips a value whose type is not the one expected for its member; returns null (no value). */
  private String skipped() throws MalformedListingException {
    value(0);
    return null;
  }

  private void value(int depth) throws MalformedListingException {
    if (depth > MAX_DEPTH) {
      throw out.malformed("values nested deeper than " + MAX_DEPTH, pos);
    }
    int c = peek();
    switch (c) {
      case '"' -> string();
      case '{' -> {
        pos++;
        ws();
        if (peek() == '}') {
          pos++;
          return;
        }
        while (true) {
          ws();
          if (peek() != '"') {
            throw out.malformed("expected a member name", pos);
          }
          string();
          ws();
          expect(':', "expected ':'");
          ws();
          value(depth + 1);
          ws();
          int after = next("expected ',' or '}'");
          if (after == '}') {
            return;
          }
          if (after != ',') {
            throw out.malformed("expected ',' or '}'", pos - 1);
          }
        }
      }
      case '[' -> {
        pos++;
        ws();
        if (peek() == ']') {
          pos++;
          return;
        }
        while (true) {
          ws();
          value(depth + 1);
          ws();
          int after = next("expected ',' or ']'");
          if (after == ']') {
            return;
          }
          if (after != ',') {
            throw out.malformed("expected ',' or ']'", pos - 1);
          }
        }
      }
      case 't' -> literal("true");
      case 'f' -> literal("false");
      case 'n' -> literal("null");
      default -> {
        if (c == '-' || (c >= '0' && c <= '9')) {
          number();
        } else {
          throw out.malformed(c < 0 ? "unexpected end of the body (truncated?)" : "expected a value", pos);
        }
      }
    }
  }

  private void literal(String word) throws MalformedListingException {
    for (int i = 0; i < word.length(); i++) {
      if (peek() != word.charAt(i)) {
        throw out.malformed(peek() < 0 ? "unexpected end of the body (truncated?)" : "expected " + word, pos);
      }
      pos++;
    }
  }

  /** A number as written (RFC 8259 grammar). */
  private String number() throws MalformedListingException {
    int start = pos;
    if (peek() == '-') {
      pos++;
    }
    if (peek() == '0') {
      pos++;
    } else if (peek() >= '1' && peek() <= '9') {
      digits();
    } else {
      throw out.malformed(peek() < 0 ? "unexpected end of the body (truncated?)" : "malformed number", pos);
    }
    if (peek() == '.') {
      pos++;
      requireDigit();
      digits();
    }
    if (peek() == 'e' || peek() == 'E') {
      pos++;
      if (peek() == '+' || peek() == '-') {
        pos++;
      }
      requireDigit();
      digits();
    }
    return new String(body, start, pos - start, java.nio.charset.StandardCharsets.US_ASCII);
  }

  private void requireDigit() throws MalformedListingException {
    if (peek() < '0' || peek() > '9') {
      throw out.malformed(peek() < 0 ? "unexpected end of the body (truncated?)" : "malformed number", pos);
    }
  }

  private void digits() {
    while (peek() >= '0' && peek() <= '9') {
      pos++;
    }
  }

  /** A string at pos ('"'): escapes decoded, raw bytes read as UTF-8 (invalid ones make the text invalid). */
  private Text string() throws MalformedListingException {
    String plain = plainString();
    if (plain != null) {
      return new Text(plain, null);
    }
    pos++; // the opening quote
    TextBuilder t = new TextBuilder();
    int n = body.length;
    while (true) {
      if (pos >= n) {
        throw out.malformed("unexpected end of the body in a string (truncated?)", pos);
      }
      int b = body[pos] & 0xff;
      if (b == '"') {
        pos++;
        return t.build();
      }
      if (b < 0x20) {
        throw out.malformed("a raw control character in a string", pos);
      }
      if (b == '\\') {
        if (pos + 1 >= n) {
          throw out.malformed("unexpected end of the body in a string (truncated?)", pos);
        }
        int e = body[pos + 1];
        pos += 2;
        switch (e) {
          case '"' -> t.append('"');
          case '\\' -> t.append('\\');
          case '/' -> t.append('/');
          case 'b' -> t.append('\b');
          case 'f' -> t.append('\f');
          case 'n' -> t.append('\n');
          case 'r' -> t.append('\r');
          case 't' -> t.append('\t');
          case 'u' -> {
            int unit = hex4();
            if (Character.isHighSurrogate((char) unit) && pos + 1 < n && body[pos] == '\\' && body[pos + 1] == 'u') {
              int save = pos;
              pos += 2;
              int low = hex4();
              if (Character.isLowSurrogate((char) low)) {
                t.appendCodePoint(Character.toCodePoint((char) unit, (char) low));
              } else {
                pos = save;
                t.appendCodePoint(unit); // a lone high surrogate: reported by the builder
              }
            } else {
              t.appendCodePoint(unit);
            }
          }
          default -> throw out.malformed("an invalid escape in a string", pos - 2);
        }
      } else if (b < 0x80) {
        t.append((char) b);
        pos++;
      } else {
        pos = t.appendUtf8(body, pos, n);
      }
    }
  }

  /**
   * The common case without garbage: a string at pos with no escape and no control character whose bytes are
   * valid UTF-8, read in one copy (pos then after its closing quote); else null, pos unchanged.
   */
  private String plainString() {
    boolean ascii = true;
    int i = pos + 1;
    int n = body.length;
    while (i < n) {
      int b = body[i] & 0xff;
      if (b == '"') {
        String s = new String(body, pos + 1, i - pos - 1,
            ascii ? java.nio.charset.StandardCharsets.ISO_8859_1 : java.nio.charset.StandardCharsets.UTF_8);
        pos = i + 1;
        return s;
      }
      if (b == '\\' || b < 0x20) {
        return null;
      }
      if (b < 0x80) {
        i++;
      } else {
        ascii = false;
        i = StructuredListing.utf8End(body, i, n);
        if (i < 0) {
          return null;
        }
      }
    }
    return null;
  }

  /** Whether the string at pos is exactly {@code word} (plain ASCII); if so pos moves after it. */
  private boolean stringIs(String word) {
    int end = pos + 1 + word.length();
    if (end >= body.length || body[end] != '"') {
      return false;
    }
    for (int k = 0; k < word.length(); k++) {
      if (body[pos + 1 + k] != word.charAt(k)) {
        return false;
      }
    }
    pos = end + 1;
    return true;
  }

  private int hex4() throws MalformedListingException {
    if (pos + 4 > body.length) {
      throw out.malformed("unexpected end of the body in a string (truncated?)", pos);
    }
    int v = 0;
    for (int i = 0; i < 4; i++) {
      int d = Character.digit(body[pos + i], 16);
      if (d < 0) {
        throw out.malformed("an invalid \\u escape", pos);
      }
      v = v << 4 | d;
    }
    pos += 4;
    return v;
  }

  private void skipBom() {
    if (body.length >= 3 && (body[0] & 0xff) == 0xEF && (body[1] & 0xff) == 0xBB && (body[2] & 0xff) == 0xBF) {
      pos = 3;
    }
  }

  private void ws() {
    while (pos < body.length) {
      byte b = body[pos];
      if (b != ' ' && b != '\t' && b != '\n' && b != '\r') {
        return;
      }
      pos++;
    }
  }

  /** The byte at pos, or -1 at the end. */
  private int peek() {
    return pos < body.length ? body[pos] & 0xff : -1;
  }

  private int next(String expected) throws MalformedListingException {
    if (pos >= body.length) {
      throw out.malformed("unexpected end of the body, " + expected + " (truncated?)", pos);
    }
    return body[pos++] & 0xff;
  }

  private void expect(char c, String expected) throws MalformedListingException {
    int got = peek();
    if (got != c) {
      throw out.malformed(got < 0 ? "unexpected end of the body, " + expected + " (truncated?)" : expected, pos);
    }
    pos++;
  }
}
