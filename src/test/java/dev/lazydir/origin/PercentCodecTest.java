package dev.lazydir.origin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PercentCodecTest {

  private static final String LONG_NAME = longName();

  /** The 240-byte name of test-fixtures/make-tree.sh: the alphabet in both cases repeated, cut to 236, + ".txt". */
  private static String longName() {
    StringBuilder sb = new StringBuilder();
    while (sb.length() < 236) {
      sb.append("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
    }
    return sb.substring(0, 236) + ".txt";
  }

  // --- decodeStrict -----------------------------------------------------------------------------------

  @Test
  void decodeStrictDecodesEscapesExactlyOnce() {
    assertEquals(Optional.of("%41"), PercentCodec.decodeStrict("%2541"));
    assertEquals(Optional.of("%41literal.txt"), PercentCodec.decodeStrict("%2541literal.txt"));
    assertEquals(Optional.of("100%.txt"), PercentCodec.decodeStrict("100%25.txt"));
    assertEquals(Optional.of("%25"), PercentCodec.decodeStrict("%2525"));
  }

  @Test
  void decodeStrictAcceptsUpperAndLowerCaseHex() {
    assertEquals(Optional.of("what?.txt"), PercentCodec.decodeStrict("what%3F.txt"));
    assertEquals(Optional.of("what?.txt"), PercentCodec.decodeStrict("what%3f.txt"));
    assertEquals(Optional.of("unicodé-日本語.txt"),
        PercentCodec.decodeStrict("unicod%C3%A9-%E6%97%A5%E6%9C%AC%E8%AA%9E.txt"));
    assertEquals(Optional.of("unicodé-日本語.txt"),
        PercentCodec.decodeStrict("unicod%c3%a9-%e6%97%a5%e6%9c%ac%e8%aa%9e.txt"));
    assertEquals(Optional.of("ünï"), PercentCodec.decodeStrict("%c3%bcn%C3%AF"));
  }

  @Test
  void decodeStrictLeavesPlusAndOtherUnescapedCharactersAlone() {
    // A path segment is not a form body: '+' is a plus, never a space.
    assertEquals(Optional.of("c++.txt"), PercentCodec.decodeStrict("c++.txt"));
    assertEquals(Optional.of("c++.txt"), PercentCodec.decodeStrict("c%2B%2B.txt"));
    assertEquals(Optional.of("a&b.txt"), PercentCodec.decodeStrict("a&b.txt"));
    assertEquals(Optional.of("semi;colon.txt"), PercentCodec.decodeStrict("semi;colon.txt"));
    assertEquals(Optional.of("quote'name.txt"), PercentCodec.decodeStrict("quote'name.txt"));
    assertEquals(Optional.of("plain.txt"), PercentCodec.decodeStrict("plain.txt"));
    assertEquals(Optional.of(""), PercentCodec.decodeStrict(""));
  }

  @Test
  void decodeStrictPassesRawNonAsciiThrough() {
    assertEquals(Optional.of("unicodé-日本語.txt"), PercentCodec.decodeStrict("unicodé-日本語.txt"));
    assertEquals(Optional.of("ünï%"), PercentCodec.decodeStrict("ünï%25"));
  }

  @Test
  void decodeStrictDecodesSlashAndNulLeavingTheVerdictToLocalName() {
    assertEquals(Optional.of("a/b"), PercentCodec.decodeStrict("a%2Fb"));
    assertEquals(Optional.of("../etc"), PercentCodec.decodeStrict("..%2fetc"));
    assertEquals(Optional.of("a\0b"), PercentCodec.decodeStrict("a%00b"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"%4", "%", "abc%", "abc%2", "%zz", "%4g", "%g4", "%%41", "a%2", "%-1", "% 41", "%٣٣"})
  void decodeStrictRejectsMalformedEscapes(String encoded) {
    assertEquals(Optional.empty(), PercentCodec.decodeStrict(encoded), encoded);
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "%FF%FE.txt", // not UTF-8 at all
      "caf%E9.txt", // Latin-1 é
      "%C3", // truncated two-byte sequence
      "%E6%97", // truncated three-byte sequence
      "%C0%AF", // overlong '/'
      "%C0%AE%C0%AE", // overlong ".."
      "%ED%A0%80", // UTF-16 surrogate
      "%F4%90%80%80", // above U+10FFFF
      "%80", // lone continuation byte
  })
  void decodeStrictRejectsBytesThatAreNotUtf8(String encoded) {
    assertEquals(Optional.empty(), PercentCodec.decodeStrict(encoded), encoded);
  }

  @Test
  void decodeStrictNeverSubstitutesReplacementCharacters() {
    // Two different invalid names must not both become "\uFFFD.txt" and collide.
    assertFalse(PercentCodec.decodeStrict("%FF.txt").isPresent());
    assertFalse(PercentCodec.decodeStrict("%FE.txt").isPresent());
    // A real U+FFFD written as UTF-8 is a legitimate name.
    assertEquals(Optional.of("\uFFFD.txt"), PercentCodec.decodeStrict("%EF%BF%BD.txt"));
  }

  // --- sameSpelling ----------------------------------------------------------------------------------

  @Test
  void sameSpellingIgnoresOnlyTheCaseOfHexDigitsInEscapes() {
    assertTrue(PercentCodec.sameSpelling("what%3f.txt", "what%3F.txt"));
    assertTrue(PercentCodec.sameSpelling("%c3%bcn%c3%af", "%C3%BCn%C3%AF"));
    assertTrue(PercentCodec.sameSpelling("unicod%c3%a9-%e6%97%a5%e6%9c%ac%e8%aa%9e.txt",
        PercentCodec.canonicalSegment("unicodé-日本語.txt")));
    assertTrue(PercentCodec.sameSpelling("plain.txt", "plain.txt"));
    assertTrue(PercentCodec.sameSpelling("", ""));
    // Outside escapes case matters, and different escaping is a different spelling.
    assertFalse(PercentCodec.sameSpelling("Plain.txt", "plain.txt"));
    assertFalse(PercentCodec.sameSpelling("ab%3f", "AB%3F"));
    assertFalse(PercentCodec.sameSpelling("%41", "A"));
    assertFalse(PercentCodec.sameSpelling("c++.txt", "c%2B%2B.txt"));
    assertFalse(PercentCodec.sameSpelling("a&b.txt", "a%26b.txt"));
    assertFalse(PercentCodec.sameSpelling("what%3f.txt", "what%3f.txt/"));
  }

  @Test
  void sameSpellingTellsWhichApacheSpellingsDifferFromTheCanonicalOne() {
    // Apache's lower-case hex needs no remembering; its raw reserved characters do.
    assertTrue(PercentCodec.sameSpelling("lt%3cgt%3e.txt", PercentCodec.canonicalSegment("lt<gt>.txt")));
    assertTrue(PercentCodec.sameSpelling("%2541literal.txt", PercentCodec.canonicalSegment("%41literal.txt")));
    assertEquals("c++.txt", PercentCodec.canonicalSegment("c++.txt"));
    assertFalse(PercentCodec.sameSpelling("quote'name.txt", "quote%27name.txt"));
  }


  @Test
  void sameSpellingDoesNotFoldCaseAfterAPercentThatIsNotAnEscape() {
    // "%.t" is no escape, so ".txt" and ".TXT" are different text.
    assertFalse(PercentCodec.sameSpelling("100%.txt", "100%.Txt"));
    assertFalse(PercentCodec.sameSpelling("%zz", "%ZZ"));
  }

  // --- canonicalSegment --------------------------------------------------------------------------------

  @ParameterizedTest
  @ValueSource(strings = {
      "plain.txt", "with space.txt", "100%.txt", "%41literal.txt", "%2e", "%", "hash#tag.txt", "what?.txt",
      "a&b.txt", "c++.txt", "semi;colon.txt", "quote'name.txt", "lt<gt>.txt", "unicodé-日本語.txt", "ünï",
      ".hidden", "...", "back\\slash", "curly{}|^`\"", "tab\there", "emoji-😀.txt", "  ", "a+b c%20d",
  })
  void canonicalSegmentRoundTripsThroughDecodeStrict(String name) {
    String encoded = PercentCodec.canonicalSegment(name);
    assertEquals(Optional.of(name), PercentCodec.decodeStrict(encoded), "encoded as " + encoded);
  }

  @Test
  void canonicalSegmentRoundTripsTheLongName() {
    String encoded = PercentCodec.canonicalSegment(LONG_NAME);
    assertEquals(LONG_NAME, encoded);
    assertEquals(Optional.of(LONG_NAME), PercentCodec.decodeStrict(encoded));
  }

  @ParameterizedTest
  @ValueSource(strings = {"with space.txt", "hash#tag.txt", "what?.txt", "100%.txt", "a/b", "x\\y", "unicodé"})
  void canonicalSegmentIsOneSafeAsciiPathSegment(String name) {
    String encoded = PercentCodec.canonicalSegment(name);
    assertTrue(encoded.chars().allMatch(c -> c > 0x20 && c < 0x7f), encoded);
    for (char c : new char[] {'/', '\\', '?', '#', ' '}) {
      assertEquals(-1, encoded.indexOf(c), "'" + c + "' left raw in " + encoded);
    }
  }

  @Test
  void canonicalSegmentSpellsCommonNamesLikeNginx() {
    // Entries whose listing spelling equals the canonical one need not remember it (FileMetas relies on this).
    assertEquals("with%20space.txt", PercentCodec.canonicalSegment("with space.txt"));
    assertEquals("100%25.txt", PercentCodec.canonicalSegment("100%.txt"));
    assertEquals("%2541literal.txt", PercentCodec.canonicalSegment("%41literal.txt"));
    assertEquals("hash%23tag.txt", PercentCodec.canonicalSegment("hash#tag.txt"));
    assertEquals("what%3F.txt", PercentCodec.canonicalSegment("what?.txt"));
    assertEquals("lt%3Cgt%3E.txt", PercentCodec.canonicalSegment("lt<gt>.txt"));
    assertEquals("unicod%C3%A9-%E6%97%A5%E6%9C%AC%E8%AA%9E.txt",
        PercentCodec.canonicalSegment("unicodé-日本語.txt"));
    assertEquals("%C3%BCn%C3%AF", PercentCodec.canonicalSegment("ünï"));
    assertEquals("plain.txt", PercentCodec.canonicalSegment("plain.txt"));
  }
}
