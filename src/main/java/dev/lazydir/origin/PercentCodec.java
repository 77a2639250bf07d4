package dev.lazydir.origin;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import okhttp3.HttpUrl;

/**
 * Percent-encoding of one URL path segment, done by hand rather than by OkHttp's lenient decoder so that a
 * segment that is not valid UTF-8 is detected (it cannot be a local file name here) instead of silently
 * turning into U+FFFD, which would make two remote names collide.
 */
public final class PercentCodec {
  private PercentCodec() {}

  /** Decodes %XX escapes as UTF-8; empty if an escape is malformed or the bytes are not UTF-8. */
  public static Optional<String> decodeStrict(String encoded) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(encoded.length());
    byte[] raw = encoded.getBytes(StandardCharsets.UTF_8);
    for (int i = 0; i < raw.length; i++) {
      if (raw[i] == '%') {
        if (i + 2 >= raw.length) {
          return Optional.empty();
        }
        int hi = Character.digit(raw[i + 1], 16);
        int lo = Character.digit(raw[i + 2], 16);
        if (hi < 0 || lo < 0) {
          return Optional.empty();
        }
        bytes.write(hi << 4 | lo);
        i += 2;
      } else {
        bytes.write(raw[i]);
      }
    }
    try {
      return Optional.of(StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes.toByteArray()))
          .toString());
    } catch (CharacterCodingException e) {
      return Optional.empty();
    }
  }

  /**
   * Whether two spellings of a segment are the same URL text up to the case of hex digits in escapes
   * ({@code %c3} and {@code %C3} are equivalent, RFC 3986 section 6.2.2.1).
   */
  public static boolean sameSpelling(String a, String b) {
    return upperHex(a).equals(upperHex(b));
  }

  private static String upperHex(String s) {
    if (s.indexOf('%') < 0) {
      return s;
    }
    StringBuilder sb = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      sb.append(c);
      if (c == '%' && i + 2 < s.length() && isHex(s.charAt(i + 1)) && isHex(s.charAt(i + 2))) {
        sb.append(Character.toUpperCase(s.charAt(i + 1))).append(Character.toUpperCase(s.charAt(i + 2)));
        i += 2;
      }
    }
    return sb.toString();
  }

  /** Whether {@code encoded} has a '%' not followed by two hex digits. */
  public static boolean hasMalformedEscape(String encoded) {
    for (int i = 0; i < encoded.length(); i++) {
      if (encoded.charAt(i) == '%' && (i + 2 >= encoded.length() || !isHex(encoded.charAt(i + 1))
          || !isHex(encoded.charAt(i + 2)))) {
        return true;
      }
    }
    return false;
  }

  private static boolean isHex(char c) {
    return Character.digit(c, 16) >= 0 && c < 128;
  }

  /** The encoding lazydir uses for a name when no listing told it otherwise (OkHttp's path-segment set). */
  public static String canonicalSegment(String name) {
    return HttpUrl.get("http://x/").newBuilder().addPathSegment(name).build().encodedPathSegments().get(0);
  }
}
