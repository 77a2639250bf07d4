package dev.lazydir.origin;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.Charset;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The text of a listing page. Bytes that are not valid in the page's charset are kept visible as {@code %XX}
 * escapes instead of becoming U+FFFD: in a link they then make the name invalid UTF-8 after percent-decoding,
 * so the entry is skipped with a warning, as a bad escape is, where a replacement character would have made
 * a name the server does not have (and made two such names collide).
 *
 * @param text the decoded page
 * @param charset the charset it was read in
 * @param invalidBytes whether some bytes were not valid in it (and are shown as escapes)
 */
record PageText(String text, Charset charset, boolean invalidBytes) {
  /** A meta charset declaration, as browsers and jsoup look for it in the page's first bytes. */
  private static final Pattern META_CHARSET =
      Pattern.compile("<meta[^>]*?charset\\s*=\\s*[\"']?\\s*([A-Za-z0-9._:-]+)", Pattern.CASE_INSENSITIVE);
  private static final int SNIFF_BYTES = 5 * 1024;

  /**
   * Decodes a body: as UTF-8 when it is valid UTF-8 whatever the header says (Apache labels its pages
   * ISO-8859-1 while writing UTF-8 names, and a Latin-1 page with non-ASCII text is almost never valid UTF-8),
   * else in the charset of its byte-order mark, its header, or its meta declaration, else UTF-8.
   */
  static PageText decode(byte[] body, String headerCharset) {
    PageText utf8 = decode(body, StandardCharsets.UTF_8);
    if (!utf8.invalidBytes()) {
      return utf8;
    }
    return decode(body, declared(body, headerCharset));
  }

  private static Charset declared(byte[] body, String headerCharset) {
    if (body.length >= 2 && (body[0] & 0xff) == 0xfe && (body[1] & 0xff) == 0xff) {
      return StandardCharsets.UTF_16BE;
    }
    if (body.length >= 2 && (body[0] & 0xff) == 0xff && (body[1] & 0xff) == 0xfe) {
      return StandardCharsets.UTF_16LE;
    }
    Charset header = supported(headerCharset);
    if (header != null) {
      return header;
    }
    Matcher m = META_CHARSET.matcher(new String(body, 0, Math.min(body.length, SNIFF_BYTES), StandardCharsets.ISO_8859_1));
    Charset meta = m.find() ? supported(m.group(1)) : null;
    return meta != null ? meta : StandardCharsets.UTF_8;
  }

  private static Charset supported(String name) {
    try {
      return name == null ? null : Charset.forName(name.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException unknown) {
      return null;
    }
  }

  /** Decodes in charset, writing each byte that is not valid there as a %XX escape. */
  static PageText decode(byte[] body, Charset charset) {
    CharsetDecoder decoder = charset.newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT)
        .onUnmappableCharacter(CodingErrorAction.REPORT);
    ByteBuffer in = ByteBuffer.wrap(body);
    CharBuffer out = CharBuffer.allocate((int) Math.min(Integer.MAX_VALUE - 16, body.length * (double) decoder.maxCharsPerByte() + 16));
    boolean invalid = false;
    while (true) {
      CoderResult r = decoder.decode(in, out, true);
      if (r.isError()) {
        invalid = true;
        out = room(out, 3 * r.length());
        for (int i = 0; i < r.length(); i++) {
          out.put(String.format("%%%02X", in.get() & 0xff));
        }
      } else if (r.isOverflow()) {
        out = room(out, out.capacity());
      } else {
        break; // underflow: every byte read
      }
    }
    while (decoder.flush(out).isOverflow()) {
      out = room(out, 16);
    }
    return new PageText(out.flip().toString(), charset, invalid);
  }

  private static CharBuffer room(CharBuffer out, int more) {
    if (out.remaining() >= more) {
      return out;
    }
    CharBuffer bigger = CharBuffer.allocate(out.capacity() + Math.max(more, 1024));
    return bigger.put(out.flip());
  }
}
