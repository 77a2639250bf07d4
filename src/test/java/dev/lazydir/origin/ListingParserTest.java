package dev.lazydir.origin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import okhttp3.HttpUrl;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Pins what {@link ListingParser} makes of real nginx, Apache and python listings (test-fixtures/listings, of
 * the tree built by test-fixtures/make-tree.sh) and of hostile or unusual pages.
 */
class ListingParserTest {
  private static final HttpUrl ROOT = HttpUrl.get("http://127.0.0.1:8080/");
  private static final HttpUrl SUB = HttpUrl.get("http://127.0.0.1:8080/sub%20dir/");
  private static final HttpUrl DEEPER = HttpUrl.get("http://127.0.0.1:8080/sub%20dir/deeper/");
  private static final HttpUrl EMPTYDIR = HttpUrl.get("http://127.0.0.1:8080/emptydir/");

  /** The server kinds captured, with the charset their listing response declares (null: none). */
  enum Kind {
    NGINX("nginx", null),
    NGINX_APPROX("nginx-approx", null),
    APACHE_FANCY("apache-fancy", "ISO-8859-1"),
    APACHE_TABLE("apache-table", "ISO-8859-1"),
    PYTHON("python", "utf-8");

    final String dir;
    final String charset;

    Kind(String dir, String charset) {
      this.dir = dir;
      this.charset = charset;
    }

    boolean nginx() {
      return this == NGINX || this == NGINX_APPROX;
    }

    boolean apache() {
      return this == APACHE_FANCY || this == APACHE_TABLE;
    }
  }

  // --- the tree of make-tree.sh ------------------------------------------------------------------------

  private static final String LONG_NAME = longName();
  private static final Instant T_DEFAULT = Instant.parse("2024-03-05T06:07:08Z");

  /** 236 ascii letters + ".txt", exactly as make-tree.sh builds it. */
  private static String longName() {
    StringBuilder sb = new StringBuilder();
    while (sb.length() < 236) {
      sb.append("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
    }
    return sb.substring(0, 236) + ".txt";
  }

  /** make-tree.sh's sz(): 100 + 7 * the name's length in bytes (it runs with LC_ALL=C). */
  private static long sz(String name) {
    return 100 + 7L * name.getBytes(StandardCharsets.UTF_8).length;
  }

  /** One entry of the tree's top level as make-tree.sh creates it. */
  record Expected(String name, boolean directory, long size, Instant mtime) {}

  private static final List<String> TRICKY = List.of("with space.txt", "unicodé-日本語.txt", "100%.txt",
      "hash#tag.txt", "what?.txt", "a&b.txt", "c++.txt", "semi;colon.txt", ".hidden", "quote'name.txt",
      "lt<gt>.txt", "%41literal.txt", LONG_NAME);

  /** Top level of the tree, dotfiles included. */
  private static Map<String, Expected> rootTree() {
    Map<String, Expected> m = new LinkedHashMap<>();
    add(m, new Expected("sub dir", true, -1, Instant.parse("2024-01-16T11:21:32Z")));
    add(m, new Expected("ünï", true, -1, T_DEFAULT));
    add(m, new Expected("emptydir", true, -1, Instant.parse("2020-06-07T08:09:10Z")));
    add(m, new Expected("nginxindex", true, -1, T_DEFAULT));
    add(m, new Expected("plain.txt", false, 1234, Instant.parse("2023-11-12T13:14:15Z")));
    add(m, new Expected("empty", false, 0, T_DEFAULT));
    add(m, new Expected("big.bin", false, 3L * 1024 * 1024 + 17, Instant.parse("2022-01-02T03:04:59Z")));
    for (String name : TRICKY) {
      add(m, new Expected(name, false, sz(name), T_DEFAULT));
    }
    add(m, new Expected("with space.txt", false, sz("with space.txt"), Instant.parse("2021-12-31T23:59:58Z")));
    return m;
  }

  private static void add(Map<String, Expected> m, Expected e) {
    m.put(e.name(), e);
  }

  /** The top level names the kind lists: nginx hides dotfiles, the others list them. */
  private static Map<String, Expected> listedAtRoot(Kind kind) {
    Map<String, Expected> m = rootTree();
    if (kind.nginx()) {
      m.remove(".hidden");
    }
    return m;
  }

  /** The href each kind writes for each top level name (HTML-unescaped, trailing slash removed). */
  private static Map<String, String> hrefs(Kind kind) {
    Map<String, String> h = new LinkedHashMap<>();
    for (String name : rootTree().keySet()) {
      h.put(name, name); // names that need no escaping anywhere
    }
    h.put("sub dir", "sub%20dir");
    h.put("with space.txt", "with%20space.txt");
    h.put("100%.txt", "100%25.txt");
    h.put("%41literal.txt", "%2541literal.txt");
    h.put("hash#tag.txt", "hash%23tag.txt");
    if (kind.apache()) {
      h.put("what?.txt", "what%3f.txt");
      h.put("a&b.txt", "a&b.txt");
      h.put("c++.txt", "c++.txt");
      h.put("semi;colon.txt", "semi;colon.txt");
      h.put("quote'name.txt", "quote'name.txt");
      h.put("lt<gt>.txt", "lt%3cgt%3e.txt");
      h.put("unicodé-日本語.txt", "unicod%c3%a9-%e6%97%a5%e6%9c%ac%e8%aa%9e.txt");
      h.put("ünï", "%c3%bcn%c3%af");
    } else {
      h.put("what?.txt", "what%3F.txt");
      h.put("a&b.txt", "a%26b.txt");
      h.put("c++.txt", "c%2B%2B.txt");
      h.put("semi;colon.txt", "semi%3Bcolon.txt");
      h.put("quote'name.txt", "quote%27name.txt");
      h.put("lt<gt>.txt", "lt%3Cgt%3E.txt");
      h.put("unicodé-日本語.txt", "unicod%C3%A9-%E6%97%A5%E6%9C%AC%E8%AA%9E.txt");
      h.put("ünï", "%C3%BCn%C3%AF");
    }
    return h;
  }

  // --- helpers ----------------------------------------------------------------------------------------

  private static byte[] fixture(Kind kind, String page) {
    Path path = Path.of("test-fixtures/listings", kind.dir, page);
    try {
      return Files.readAllBytes(path);
    } catch (IOException e) {
      throw new UncheckedIOException("fixture " + path.toAbsolutePath() + " (tests run from the project root)", e);
    }
  }

  private static Listing parseFixture(Kind kind, String page, HttpUrl url) {
    return ListingParser.parse(fixture(kind, page), kind.charset, url);
  }

  private static Listing root(Kind kind) {
    return parseFixture(kind, "root.html", ROOT);
  }

  private static Listing parseHtml(String html, HttpUrl url) {
    return ListingParser.parse(html.getBytes(StandardCharsets.UTF_8), "UTF-8", url);
  }

  private static Map<String, RemoteEntry> byName(Listing listing) {
    Map<String, RemoteEntry> m = new LinkedHashMap<>();
    for (RemoteEntry e : listing.entries()) {
      RemoteEntry previous = m.put(e.name(), e);
      assertNull(previous, "name listed twice: " + e.name());
    }
    return m;
  }

  private static Set<String> names(Listing listing) {
    return listing.entries().stream().map(RemoteEntry::name).collect(Collectors.toCollection(TreeSet::new));
  }

  private static RemoteEntry entry(Listing listing, String name) {
    RemoteEntry e = byName(listing).get(name);
    if (e == null) {
      fail("no entry '" + name + "' in " + names(listing));
    }
    return e;
  }

  private static Instant minute(Instant t) {
    return t.truncatedTo(ChronoUnit.MINUTES);
  }

  // --- names ------------------------------------------------------------------------------------------

  @ParameterizedTest
  @EnumSource(Kind.class)
  void rootListingGivesExactlyTheNamesTheServerLists(Kind kind) {
    Listing listing = root(kind);
    assertEquals(new TreeSet<>(listedAtRoot(kind).keySet()), names(listing));
    assertEquals(List.of(), listing.rejected());
    assertEquals(ROOT, listing.url());
  }

  @Test
  void nginxListingHidesDotfiles() {
    assertFalse(names(root(Kind.NGINX)).contains(".hidden"));
    assertTrue(names(root(Kind.APACHE_FANCY)).contains(".hidden"));
    assertTrue(names(root(Kind.APACHE_TABLE)).contains(".hidden"));
    assertTrue(names(root(Kind.PYTHON)).contains(".hidden"));
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void directoriesAreRecognisedByTheirTrailingSlash(Kind kind) {
    Map<String, RemoteEntry> entries = byName(root(kind));
    for (Expected e : listedAtRoot(kind).values()) {
      assertEquals(e.directory(), entries.get(e.name()).directory(), e.name());
    }
    // nginxindex/ serves an index.html, but in the listing it is just a directory.
    assertTrue(entries.get("nginxindex").directory());
    assertEquals(-1, entries.get("nginxindex").size());
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void encodedNameIsTheHrefSpellingAndNameIsDecodedOnce(Kind kind) {
    Map<String, String> hrefs = hrefs(kind);
    for (RemoteEntry e : root(kind).entries()) {
      assertEquals(hrefs.get(e.name()), e.encodedName(), "href of " + e.name());
      assertEquals(java.util.Optional.of(e.name()), PercentCodec.decodeStrict(e.encodedName()), e.encodedName());
    }
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void trickyNamesAreDecodedToTheRealFileNames(Kind kind) {
    Map<String, RemoteEntry> entries = byName(root(kind));
    assertEquals("%2541literal.txt", entries.get("%41literal.txt").encodedName());
    assertFalse(entries.containsKey("Aliteral.txt"), "decoded twice");
    assertTrue(entries.containsKey("c++.txt"));
    assertFalse(entries.containsKey("c  .txt"), "'+' read as a space");
    assertTrue(entries.containsKey("what?.txt"));
    assertTrue(entries.containsKey("hash#tag.txt"));
    assertTrue(entries.containsKey("a&b.txt"));
    assertTrue(entries.containsKey("lt<gt>.txt"));
    assertTrue(entries.containsKey("100%.txt"));
    assertTrue(entries.containsKey("with space.txt"));
    assertTrue(entries.containsKey("unicodé-日本語.txt"));
    assertTrue(entries.containsKey("ünï"));
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void longNameIsTakenInFullFromTheHrefNotTheTruncatedLinkText(Kind kind) {
    Map<String, RemoteEntry> entries = byName(root(kind));
    RemoteEntry e = entries.get(LONG_NAME);
    assertNotNull(e, "long name missing; got " + entries.keySet());
    assertEquals(240, e.name().length());
    assertEquals(LONG_NAME, e.encodedName());
    assertTrue(entries.keySet().stream().noneMatch(n -> n.endsWith("..>")), "link text used as name");
  }

  // --- sizes ------------------------------------------------------------------------------------------

  @Test
  void nginxListingGivesExactSizesAndMinuteTimes() {
    Map<String, RemoteEntry> entries = byName(root(Kind.NGINX));
    for (Expected x : listedAtRoot(Kind.NGINX).values()) {
      RemoteEntry e = entries.get(x.name());
      assertEquals(x.size(), e.size(), "size of " + x.name());
      assertEquals(minute(x.mtime()), e.mtime(), "mtime of " + x.name());
      assertFalse(e.mtimeExactSeconds(), x.name());
      assertTrue(e.listingIsEnough(), x.name());
      assertNull(e.etag());
    }
    assertEquals(3145745, entries.get("big.bin").size());
    assertEquals(0, entries.get("empty").size());
    assertEquals(1780, entries.get(LONG_NAME).size());
  }

  @Test
  void nginxApproxListingKeepsOnlyPlainDigitSizes() {
    Map<String, RemoteEntry> entries = byName(root(Kind.NGINX_APPROX));
    for (Expected x : listedAtRoot(Kind.NGINX_APPROX).values()) {
      RemoteEntry e = entries.get(x.name());
      if (x.name().equals("big.bin")) {
        assertEquals(-1, e.size(), "'3M' is rounded, not a size");
        assertFalse(e.listingIsEnough());
      } else {
        assertEquals(x.size(), e.size(), "size of " + x.name());
        assertTrue(e.listingIsEnough(), x.name());
      }
      assertEquals(minute(x.mtime()), e.mtime(), "mtime of " + x.name());
    }
    assertEquals(1234, entries.get("plain.txt").size());
    assertEquals(1780, entries.get(LONG_NAME).size());
    assertEquals(0, entries.get("empty").size());
  }

  /** Apache writes 1024-based rounded sizes from 1K up ("1.2K", "1.7K", "3.0M") and plain bytes below. */
  private static void assertApacheSizes(Kind kind) {
    Map<String, RemoteEntry> entries = byName(root(kind));
    Set<String> rounded = Set.of("plain.txt", "big.bin", LONG_NAME);
    List<String> wrong = new ArrayList<>();
    for (Expected x : listedAtRoot(kind).values()) {
      RemoteEntry e = entries.get(x.name());
      long want = x.directory() || rounded.contains(x.name()) ? -1 : x.size();
      if (e.size() != want) {
        wrong.add(x.name() + ": want " + want + " got " + e.size());
      }
      if (e.listingIsEnough() != (want >= 0 || x.directory())) {
        wrong.add(x.name() + ": listingIsEnough " + e.listingIsEnough());
      }
    }
    assertEquals(List.of(), wrong);
    assertEquals(198, entries.get("%41literal.txt").size());
    assertEquals(0, entries.get("empty").size());
  }

  @Test
  void apacheTableListingGivesPlainByteSizesButNotRoundedOnes() {
    assertApacheSizes(Kind.APACHE_TABLE);
  }

  @Test
  void apacheFancyListingGivesPlainByteSizesButNotRoundedOnes() {
    assertApacheSizes(Kind.APACHE_FANCY);
  }

  @Test
  void pythonListingHasNoSizesNorTimesSoFilesNeedAProbe() {
    for (RemoteEntry e : root(Kind.PYTHON).entries()) {
      assertEquals(-1, e.size(), e.name());
      assertNull(e.mtime(), e.name());
      assertFalse(e.mtimeExactSeconds(), e.name());
      assertEquals(e.directory(), e.listingIsEnough(), e.name());
    }
  }

  // --- times ------------------------------------------------------------------------------------------

  @ParameterizedTest
  @EnumSource(value = Kind.class, names = {"NGINX", "NGINX_APPROX", "APACHE_FANCY", "APACHE_TABLE"})
  void listingTimesAreUtcTruncatedToTheMinute(Kind kind) {
    Map<String, RemoteEntry> entries = byName(root(kind));
    for (Expected x : listedAtRoot(kind).values()) {
      RemoteEntry e = entries.get(x.name());
      assertEquals(minute(x.mtime()), e.mtime(), "mtime of " + x.name());
      assertFalse(e.mtimeExactSeconds(), x.name());
    }
    // 23:59:58 must not round up into the next year, nor shift by a time zone.
    assertEquals(Instant.parse("2021-12-31T23:59:00Z"), entries.get("with space.txt").mtime());
    assertEquals(Instant.parse("2023-11-12T13:14:00Z"), entries.get("plain.txt").mtime());
  }

  // --- sub directories --------------------------------------------------------------------------------

  @ParameterizedTest
  @EnumSource(Kind.class)
  void subdirectoryPageListsItsOwnEntriesWithTheirSpelling(Kind kind) {
    Listing listing = parseFixture(kind, "subdir.html", SUB);
    assertEquals(SUB, listing.url());
    assertEquals(Set.of("deeper", "inner file.txt"), names(listing)); // not "/" nor "../"
    assertEquals(List.of(), listing.rejected());
    RemoteEntry deeper = entry(listing, "deeper");
    RemoteEntry inner = entry(listing, "inner file.txt");
    assertTrue(deeper.directory());
    assertEquals("deeper", deeper.encodedName());
    assertFalse(inner.directory());
    assertEquals("inner%20file.txt", inner.encodedName());
    if (kind == Kind.PYTHON) {
      assertEquals(-1, inner.size());
      assertNull(inner.mtime());
    } else {
      assertEquals(321, inner.size());
      assertEquals(Instant.parse("2024-02-29T12:34:00Z"), inner.mtime());
      assertEquals(Instant.parse("2024-01-15T10:20:00Z"), deeper.mtime());
    }
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void deeperPageDropsTheParentLinkWhateverItsSpelling(Kind kind) {
    // apache's parent link here is the absolute "/sub%20dir/", nginx's is "../".
    Listing listing = parseFixture(kind, "deeper.html", DEEPER);
    assertEquals(Set.of("leaf.txt"), names(listing));
    RemoteEntry leaf = entry(listing, "leaf.txt");
    assertFalse(leaf.directory());
    assertEquals(kind == Kind.PYTHON ? -1 : 42, leaf.size());
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void emptyDirectoryPageHasNoEntriesAndNothingRejected(Kind kind) {
    Listing listing = parseFixture(kind, "emptydir.html", EMPTYDIR);
    assertEquals(List.of(), listing.entries());
    assertEquals(List.of(), listing.rejected());
  }

  // --- charset ----------------------------------------------------------------------------------------

  @Test
  void apacheTablePageLabelledLatin1ButWrittenInUtf8StillGivesUnicodeNames() {
    Listing listing = ListingParser.parse(fixture(Kind.APACHE_TABLE, "root.html"), "ISO-8859-1", ROOT);
    Map<String, RemoteEntry> entries = byName(listing);
    assertTrue(entries.containsKey("unicodé-日本語.txt"), entries.keySet().toString());
    assertTrue(entries.containsKey("ünï"), entries.keySet().toString());
    assertEquals(254, entries.get("unicodé-日本語.txt").size());
    assertTrue(entries.keySet().stream().noneMatch(n -> n.contains("Ã")), "mojibake: " + entries.keySet());
  }

  @Test
  void pageThatIsNotUtf8IsReadWithItsDeclaredCharsetOrAGuess() {
    // A genuine Latin-1 page: the é in the text is byte E9, not valid UTF-8.
    String html = "<html><body><pre><a href=\"caf%C3%A9.txt\">caf\u00e9.txt</a>  05-Mar-2024 06:07  12\n"
        + "<a href=\"plain.txt\">plain.txt</a>  12-Nov-2023 13:14  1234\n</pre></body></html>";
    byte[] latin1 = html.getBytes(StandardCharsets.ISO_8859_1);
    for (String charset : new String[] {"ISO-8859-1", null}) {
      Listing listing = ListingParser.parse(latin1, charset, ROOT);
      assertEquals(Set.of("café.txt", "plain.txt"), names(listing), "charset " + charset);
      assertEquals(12, entry(listing, "café.txt").size());
      assertEquals(1234, entry(listing, "plain.txt").size());
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "utf-8", "meta"})
  void rawBytesThatAreNotUtf8InAnHrefSkipTheEntryWithAReasonNeverAReplacementCharacter(String declared) {
    java.io.ByteArrayOutputStream page = new java.io.ByteArrayOutputStream();
    page.writeBytes(("<html><head>" + (declared.equals("meta") ? "<meta charset=\"utf-8\">" : "")
        + "</head><body><pre>\n<a href=\"bad").getBytes(StandardCharsets.US_ASCII));
    page.write(0xFF);
    page.writeBytes(".txt\">bad".getBytes(StandardCharsets.US_ASCII));
    page.write(0xFF);
    page.writeBytes((".txt</a>  05-Mar-2024 06:07  12\n<a href=\"ok.txt\">ok").getBytes(StandardCharsets.US_ASCII));
    page.write(0xFF);
    page.writeBytes(("</a>  05-Mar-2024 06:07  34\n"
        + "<a href=\"real%EF%BF%BD.txt\">real\uFFFD.txt</a>  05-Mar-2024 06:07  56\n</pre></body></html>")
        .getBytes(StandardCharsets.UTF_8));

    Listing listing = ListingParser.parse(page.toByteArray(), declared.equals("utf-8") ? "utf-8" : null, ROOT);

    assertEquals(Set.of("ok.txt", "real\uFFFD.txt"), names(listing), "a name the server really has keeps its U+FFFD");
    assertEquals(34, entry(listing, "ok.txt").size(), "a bad byte in the link text alone costs nothing");
    assertEquals(1, listing.rejected().size(), listing.rejected().toString());
    String reason = listing.rejected().get(0);
    assertTrue(reason.startsWith("'bad%FF.txt': not valid UTF-8") && reason.contains("not valid UTF-8, shown as %XX"),
        reason);
  }

  // --- dropped links ----------------------------------------------------------------------------------

  @Test
  void parentSortSelfAndForeignLinksAreDropped() {
    String html = "<html><body>"
        + "<a href=\"../\">../</a>"
        + "<a href=\"..\">..</a>"
        + "<a href=\"/\">Parent Directory</a>"
        + "<a href=\"/sub%20dir/\">self, absolute path</a>"
        + "<a href=\"?C=N;O=D\">Name</a><a href=\"?C=M;O=A\">Last modified</a>"
        + "<a href=\"./\">self</a><a href=\".\">self</a><a href=\"\">empty</a><a href=\"#top\">top</a>"
        + "<a href=\"http://127.0.0.1:8080/sub%20dir/\">self, absolute</a>"
        + "<a href=\"http://other.example/sub%20dir/x.txt\">other host</a>"
        + "<a href=\"http://localhost:8080/sub%20dir/x.txt\">other host name</a>"
        + "<a href=\"https://127.0.0.1:8080/sub%20dir/x.txt\">other scheme</a>"
        + "<a href=\"http://127.0.0.1:8081/sub%20dir/x.txt\">other port</a>"
        + "<a href=\"//other.example/sub%20dir/y.txt\">scheme-relative other host</a>"
        + "<a href=\"mailto:root@127.0.0.1\">mail</a>"
        + "<a href=\"javascript:alert(1)\">js</a>"
        + "<a href=\"ftp://127.0.0.1:8080/sub%20dir/x.txt\">ftp</a>"
        + "<a href=\"/other/x.txt\">sibling directory</a>"
        + "<a href=\"../sibling.txt\">sibling file</a>"
        + "<a href=\"/sub%20dirx/y.txt\">prefix, not a parent</a>"
        + "<a>no href</a>"
        + "</body></html>";
    Listing listing = parseHtml(html, SUB);
    assertEquals(List.of(), listing.entries());
    assertEquals(List.of(), listing.rejected());
  }

  @ParameterizedTest
  @ValueSource(strings = {"a.txt?x=1#y", "a.txt?x=1", "a.txt#y", "./a.txt", "a.txt?C=N;O=D",
      "http://127.0.0.1:8080/sub%20dir/a.txt?download=1"})
  void queryAndFragmentAreStrippedFromEntryLinks(String href) {
    Listing listing = parseHtml("<a href=\"" + href + "\">a</a>", SUB);
    assertEquals(1, listing.entries().size(), href);
    RemoteEntry e = listing.entries().get(0);
    assertEquals("a.txt", e.name());
    assertEquals("a.txt", e.encodedName());
    assertFalse(e.directory());
  }

  @Test
  void pageUrlQueryAndFragmentAreNotPartOfTheListingUrl() {
    Listing listing = parseHtml("<a href=\"a.txt\">a</a>", HttpUrl.get("http://127.0.0.1:8080/sub%20dir/?C=M;O=A#x"));
    assertEquals(SUB, listing.url());
    assertEquals(Set.of("a.txt"), names(listing));
  }

  @Test
  void deeperLinkGivesOneDirectoryEntryForItsFirstSegment() {
    Listing listing = parseHtml("<a href=\"sub/x/y.txt\">y</a><a href=\"sub/z.txt\">z</a><a href=\"sub/\">sub</a>",
        ROOT);
    assertEquals(1, listing.entries().size());
    RemoteEntry sub = listing.entries().get(0);
    assertEquals("sub", sub.name());
    assertEquals("sub", sub.encodedName());
    assertTrue(sub.directory());
    assertEquals(-1, sub.size());
  }

  @Test
  void nameWithAndWithoutSlashCountsOnceFirstWins() {
    Listing fileFirst = parseHtml("<pre><a href=\"a\">a</a>  05-Mar-2024 06:07  12\n"
        + "<a href=\"a/\">a/</a>  05-Mar-2024 06:07  -\n</pre>", ROOT);
    assertEquals(1, fileFirst.entries().size());
    assertFalse(fileFirst.entries().get(0).directory());
    assertEquals(12, fileFirst.entries().get(0).size());

    Listing dirFirst = parseHtml("<pre><a href=\"a/\">a/</a>  05-Mar-2024 06:07  -\n"
        + "<a href=\"a\">a</a>  05-Mar-2024 06:07  12\n</pre>", ROOT);
    assertEquals(1, dirFirst.entries().size());
    assertTrue(dirFirst.entries().get(0).directory());
    assertEquals(-1, dirFirst.entries().get(0).size());
  }

  @Test
  void differentSpellingsOfOneNameCountOnceFirstSpellingWins() {
    Listing listing = parseHtml("<a href=\"what%3f.txt\">1</a><a href=\"what%3F.txt\">2</a>"
        + "<a href=\"c++.txt\">3</a><a href=\"c%2B%2B.txt\">4</a>", ROOT);
    assertEquals(List.of("what?.txt", "c++.txt"), listing.entries().stream().map(RemoteEntry::name).toList());
    assertEquals(List.of("what%3f.txt", "c++.txt"),
        listing.entries().stream().map(RemoteEntry::encodedName).toList());
  }

  @Test
  void entriesKeepTheListingOrder() {
    Listing listing = root(Kind.NGINX);
    List<String> order = listing.entries().stream().map(RemoteEntry::name).toList();
    assertEquals(List.of("emptydir", "nginxindex", "sub dir", "ünï", "%41literal.txt"), order.subList(0, 5));
    assertEquals("with space.txt", order.get(order.size() - 1));
  }

  // --- hostile names ----------------------------------------------------------------------------------

  private static final String NAME_300 = "x".repeat(296) + ".txt";

  @Test
  void hostileNamesAreRejectedWithAReasonAndNeverBecomeEntries() {
    String[] hostile = {"..%2Fetc", "..%2fetc%2fpasswd", "a%2Fb", "a%00b", NAME_300, "%FF%FE.txt",
        ".lazydir.tmp.x", "%2e%2e%2fboot"};
    StringBuilder html = new StringBuilder("<html><body><ul>");
    for (String h : hostile) {
      html.append("<li><a href=\"").append(h).append("\">x</a></li>");
    }
    html.append("<li><a href=\"ok.txt\">ok.txt</a></li></ul></body></html>");
    Listing listing = parseHtml(html.toString(), ROOT);

    assertEquals(Set.of("ok.txt"), names(listing));
    assertEquals(hostile.length, listing.rejected().size(), listing.rejected().toString());
    for (String h : hostile) {
      assertEquals(1, listing.rejected().stream().filter(r -> r.contains("'" + h + "'")).count(),
          "one reason naming " + h + " in " + listing.rejected());
    }
    Map<String, String> reasons = new LinkedHashMap<>();
    for (String h : hostile) {
      reasons.put(h, listing.rejected().stream().filter(r -> r.contains("'" + h + "'")).findFirst().orElseThrow());
    }
    assertTrue(reasons.get("..%2Fetc").contains("contains '/'"), reasons.get("..%2Fetc"));
    assertTrue(reasons.get("a%2Fb").contains("contains '/'"), reasons.get("a%2Fb"));
    assertTrue(reasons.get("a%00b").contains("NUL"), reasons.get("a%00b"));
    assertTrue(reasons.get(NAME_300).contains("300 bytes"), reasons.get(NAME_300));
    assertTrue(reasons.get("%FF%FE.txt").contains("UTF-8"), reasons.get("%FF%FE.txt"));
    assertTrue(reasons.get(".lazydir.tmp.x").contains("reserved"), reasons.get(".lazydir.tmp.x"));
    for (String r : listing.rejected()) {
      assertTrue(r.chars().noneMatch(c -> c < 0x20), "unprintable reason: " + r);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"%2e%2e/", "%2E%2E/", ".%2e/", "%2e./", "../../etc/passwd", "%2e%2e/%2e%2e/etc/passwd",
      "/../../etc/passwd", "..%2F", "%2e%2e%2f", "%2e", "%2e/", "./", "..", "%2e%2e",
      "http://127.0.0.1:8080/sub%20dir/%2e%2e/%2e%2e/etc/passwd"})
  void dotSegmentsNeverEscapeTheDirectory(String href) {
    Listing listing = parseHtml("<a href=\"" + href + "\">x</a>", SUB);
    for (RemoteEntry e : listing.entries()) {
      assertFalse(e.name().equals(".") || e.name().equals("..") || e.name().contains("/")
          || e.name().isEmpty(), href + " gave entry '" + e.name() + "'");
    }
    assertTrue(listing.entries().isEmpty(), href + " gave " + names(listing));
  }

  @Test
  void hostileNameListedTwiceIsReportedOnce() {
    Listing listing = parseHtml("<a href=\"a%2Fb\">1</a><a href=\"a%2fb\">2</a><a href=\"a%2Fb/\">3</a>", ROOT);
    assertEquals(List.of(), listing.entries());
    assertEquals(1, listing.rejected().size(), listing.rejected().toString());
    // two spellings of one decoded name: one reason, naming the first spelling
    Listing twoSpellings = parseHtml("<a href=\"..%2Fetc\">1</a><a href=\"%2e%2e%2fetc\">2</a>", ROOT);
    assertEquals(List.of(), twoSpellings.entries());
    assertEquals(1, twoSpellings.rejected().size(), twoSpellings.rejected().toString());
    assertTrue(twoSpellings.rejected().get(0).contains("'..%2Fetc'"), twoSpellings.rejected().get(0));
  }

  @Test
  void nameOfExactly255BytesIsKeptAnd256IsRejected() {
    String n255 = "y".repeat(251) + ".txt";
    String n256 = "z".repeat(252) + ".txt";
    Listing listing = parseHtml("<a href=\"" + n255 + "\">a</a><a href=\"" + n256 + "\">b</a>", ROOT);
    assertEquals(Set.of(n255), names(listing));
    assertEquals(1, listing.rejected().size());
    // the limit counts UTF-8 bytes, not characters: 86 * 3 bytes = 258 bytes in 86 chars
    String wide = "%E6%97%A5".repeat(86);
    Listing wideListing = parseHtml("<a href=\"" + wide + "\">w</a>", ROOT);
    assertEquals(List.of(), wideListing.entries());
    assertEquals(1, wideListing.rejected().size());
  }

  // --- URL resolution ---------------------------------------------------------------------------------

  @Test
  void baseHrefIsHonoured() {
    // Without the base tag these links would resolve to /sub dir/sub dir/... and give one entry "sub dir".
    String html = "<html><head><base href=\"http://127.0.0.1:8080/\"></head><body>"
        + "<a href=\"sub%20dir/inner%20file.txt\">inner</a>"
        + "<a href=\"sub%20dir/deeper/\">deeper</a>"
        + "<a href=\"other.txt\">not below the directory</a>"
        + "</body></html>";
    Listing listing = parseHtml(html, SUB);
    assertEquals(Set.of("inner file.txt", "deeper"), names(listing));
    assertFalse(entry(listing, "inner file.txt").directory());
    assertTrue(entry(listing, "deeper").directory());
    assertEquals(SUB, listing.url());
  }

  @Test
  void relativeBaseHrefIsResolvedAgainstThePage() {
    String html = "<html><head><base href=\"deeper/\"></head><body><a href=\"leaf.txt\">leaf</a></body></html>";
    Listing listing = parseHtml(html, SUB);
    assertEquals(Set.of("deeper"), names(listing));
    assertTrue(entry(listing, "deeper").directory());
  }

  @Test
  void linksResolveAgainstThePagesFinalUrl() {
    String html = "<html><body>"
        + "<a href=\"http://127.0.0.1:8080/sub%20dir/abs.txt\">absolute, same origin</a>"
        + "<a href=\"/sub%20dir/rooted.txt\">root-relative</a>"
        + "<a href=\"//127.0.0.1:8080/sub%20dir/schemeless.txt\">scheme-relative</a>"
        + "<a href=\"http://127.0.0.1:8080/sub%20dir/absdir/x\">absolute, deeper</a>"
        + "<a href=\"http://127.0.0.1:9090/sub%20dir/otherport.txt\">same path, other port</a>"
        + "<a href=\"http://127.0.0.1/sub%20dir/defaultport.txt\">same path, default port</a>"
        + "<a href=\"http://127.0.0.1:8080/abs-root.txt\">absolute, above the directory</a>"
        + "<a href=\"rel.txt\">relative</a>"
        + "</body></html>";
    Listing listing = parseHtml(html, SUB);
    assertEquals(Set.of("abs.txt", "rooted.txt", "schemeless.txt", "absdir", "rel.txt"), names(listing));
    assertTrue(entry(listing, "absdir").directory());
    // The same page fetched at another URL (say after a redirect) means other entries.
    Listing atRoot = parseHtml(html, ROOT);
    assertEquals(Set.of("sub dir", "abs-root.txt", "rel.txt"), names(atRoot));
    assertTrue(entry(atRoot, "sub dir").directory());
    assertEquals("sub%20dir", entry(atRoot, "sub dir").encodedName());
  }

  @Test
  void rawCharactersInHrefsAreCanonicallyEncoded() {
    // Servers sometimes write hrefs unescaped; the entry's spelling must still be a valid URL path segment.
    Listing listing = parseHtml("<a href=\"with space.txt\">1</a><a href=\"caf\u00e9.txt\">2</a>"
        + "<a href=\"x{y}.txt\">3</a>", ROOT);
    Map<String, RemoteEntry> entries = byName(listing);
    assertEquals(Set.of("with space.txt", "café.txt", "x{y}.txt"), entries.keySet());
    assertEquals("with%20space.txt", entries.get("with space.txt").encodedName());
    assertEquals("caf%C3%A9.txt", entries.get("café.txt").encodedName());
    assertEquals("x%7By%7D.txt", entries.get("x{y}.txt").encodedName());
  }

  @Test
  void rawPercentThatIsNotAnEscapeIsRejectedNotGuessed() {
    // "100%.txt" is not a valid URL path (servers answer 400 to it): no entry, but a reason naming it.
    Listing listing = parseHtml("<a href=\"100%.txt\">100%.txt</a><a href=\"ok.txt\">ok</a>", ROOT);
    assertEquals(Set.of("ok.txt"), names(listing));
    assertEquals(1, listing.rejected().size(), listing.rejected().toString());
    assertTrue(listing.rejected().get(0).contains("'100%.txt'"), listing.rejected().get(0));
  }

  // --- metadata beside the link -----------------------------------------------------------------------

  @Test
  void metadataIsReadFromTheLinksOwnLineOnly() {
    String html = "<pre><a href=\"a.txt\">a.txt</a>\n"
        + "<a href=\"b.txt\">b.txt</a>    05-Mar-2024 06:07    77\n"
        + "<a href=\"c.txt\">c.txt</a>    2024-03-05 06:07:09  88\n</pre>";
    Map<String, RemoteEntry> entries = byName(parseHtml(html, ROOT));
    assertNull(entries.get("a.txt").mtime());
    assertEquals(-1, entries.get("a.txt").size());
    assertEquals(Instant.parse("2024-03-05T06:07:00Z"), entries.get("b.txt").mtime());
    assertEquals(77, entries.get("b.txt").size());
    assertFalse(entries.get("b.txt").mtimeExactSeconds());
    assertEquals(Instant.parse("2024-03-05T06:07:09Z"), entries.get("c.txt").mtime());
    assertTrue(entries.get("c.txt").mtimeExactSeconds());
    assertEquals(88, entries.get("c.txt").size());
  }

  @Test
  void sizeFollowedByPaddingIsStillExact() {
    // Apache's <pre> lines end with spaces after the size column.
    String html = "<pre><a href=\"a.txt\">a.txt</a>   2024-03-05 06:07  198   \n"
        + "<a href=\"b.txt\">b.txt</a>   2024-03-05 06:07    0   \n"
        + "<a href=\"c.txt\">c.txt</a>   2024-03-05 06:07  1.2K  \n</pre>";
    Map<String, RemoteEntry> entries = byName(parseHtml(html, ROOT));
    assertEquals(198, entries.get("a.txt").size());
    assertEquals(0, entries.get("b.txt").size());
    assertEquals(-1, entries.get("c.txt").size());
  }


  @Test
  void iconLinkBesideTheNameLinkKeepsTheLinesSizeAndTime() {
    // Apache with "IndexOptions FancyIndexing IconsAreLinks": the icon is a second link to the same file.
    String html = "<pre><img src=\"/icons/blank.gif\" alt=\"Icon \"> <a href=\"?C=N;O=D\">Name</a><hr>"
        + "<a href=\"plain.txt\"><img src=\"/icons/text.gif\" alt=\"[TXT]\"></a> <a href=\"plain.txt\">plain.txt</a>"
        + "               2023-11-12 13:14  198   \n"
        + "<a href=\"sub%20dir/\"><img src=\"/icons/folder.gif\" alt=\"[DIR]\"></a> <a href=\"sub%20dir/\">sub dir/</a>"
        + "                2024-01-16 11:21    -   \n<hr></pre>";
    Listing listing = parseHtml(html, ROOT);
    assertEquals(Set.of("plain.txt", "sub dir"), names(listing));
    RemoteEntry plain = entry(listing, "plain.txt");
    assertEquals(Instant.parse("2023-11-12T13:14:00Z"), plain.mtime());
    assertEquals(198, plain.size());
    assertTrue(plain.listingIsEnough());
    assertEquals(Instant.parse("2024-01-16T11:21:00Z"), entry(listing, "sub dir").mtime());
  }

  @Test
  void iconLinkInATableRowKeepsTheRowsSizeAndTime() {
    String html = "<table><tr><td valign=\"top\"><a href=\"plain.txt\"><img src=\"/icons/text.gif\" alt=\"[TXT]\">"
        + "</a></td><td><a href=\"plain.txt\">plain.txt</a>   </td><td align=\"right\">2023-11-12 13:14  </td>"
        + "<td align=\"right\">198 </td><td>&nbsp;</td></tr></table>";
    RemoteEntry plain = entry(parseHtml(html, ROOT), "plain.txt");
    assertEquals(Instant.parse("2023-11-12T13:14:00Z"), plain.mtime());
    assertEquals(198, plain.size());
  }

  @Test
  void impossibleDatesGiveNoTimeRatherThanAnError() {
    String html = "<pre><a href=\"a.txt\">a.txt</a>   31-Feb-2024 06:07  12\n"
        + "<a href=\"b.txt\">b.txt</a>   05-Xyz-2024 06:07  12\n</pre>";
    Map<String, RemoteEntry> entries = byName(parseHtml(html, ROOT));
    assertNull(entries.get("a.txt").mtime());
    assertEquals(-1, entries.get("a.txt").size()); // a size is only trusted after a date
    assertNull(entries.get("b.txt").mtime());
  }

  // --- nginx's JSON and XML formats (autoindex_format json; / xml;) ------------------------------------

  /** The structured formats captured (test-fixtures/listings/nginx-json, nginx-xml), with their Content-Type. */
  enum Format {
    JSON("nginx-json", "json", "application/json"),
    XML("nginx-xml", "xml", "text/xml; charset=utf-8");

    final String dir;
    final String ext;
    final String contentType;

    Format(String dir, String ext, String contentType) {
      this.dir = dir;
      this.ext = ext;
      this.contentType = contentType;
    }
  }

  private static byte[] fixture(Format format, String page) {
    Path path = Path.of("test-fixtures/listings", format.dir, page + "." + format.ext);
    try {
      return Files.readAllBytes(path);
    } catch (IOException e) {
      throw new UncheckedIOException("fixture " + path.toAbsolutePath() + " (tests run from the project root)", e);
    }
  }

  private static Listing parse(byte[] body, String contentType, HttpUrl url) {
    try {
      return ListingParser.parse(body, contentType, null, url);
    } catch (MalformedListingException e) {
      throw new AssertionError(e.getMessage(), e);
    }
  }

  private static Listing parseFixture(Format format, String page, HttpUrl url) {
    return parse(fixture(format, page), format.contentType, url);
  }

  private static Listing parseJson(String json) {
    return parse(json.getBytes(StandardCharsets.UTF_8), "application/json", ROOT);
  }

  private static Listing parseXml(String xml) {
    return parse(xml.getBytes(StandardCharsets.UTF_8), "text/xml", ROOT);
  }

  private static String reason(Listing listing, String about) {
    List<String> matching = listing.rejected().stream().filter(r -> r.contains(about)).toList();
    assertEquals(1, matching.size(), "one reason about " + about + " in " + listing.rejected());
    return matching.get(0);
  }

  @ParameterizedTest
  @EnumSource(Format.class)
  void structuredRootGivesExactlyTheServedNamesExactSizesAndTimesToTheSecond(Format format) {
    Listing listing = parseFixture(format, "root", ROOT);
    Map<String, Expected> served = listedAtRoot(Kind.NGINX); // nginx hides dotfiles in every format
    assertEquals(new TreeSet<>(served.keySet()), names(listing));
    assertEquals(List.of(), listing.rejected());
    assertEquals(ROOT, listing.url());
    assertTrue(listing.timesInUtc(), "GMT by the format: no probe to learn the zone");
    for (RemoteEntry e : listing.entries()) {
      Expected x = served.get(e.name());
      assertEquals(x.directory(), e.directory(), e.name());
      assertEquals(x.size(), e.size(), "size of " + e.name());
      assertEquals(x.mtime(), e.mtime(), "mtime of " + e.name());
      assertTrue(e.mtimeExactSeconds(), e.name());
      assertTrue(e.listingIsEnough(), e.name());
      assertNull(e.etag());
    }
    assertEquals(3145745, entry(listing, "big.bin").size());
    assertEquals(0, entry(listing, "empty").size());
    assertEquals(Instant.parse("2021-12-31T23:59:58Z"), entry(listing, "with space.txt").mtime());
  }

  @ParameterizedTest
  @EnumSource(Format.class)
  void structuredNamesAreLiteralAndRequestsUseTheirCanonicalEncoding(Format format) {
    Listing listing = parseFixture(format, "root", ROOT);
    Map<String, String> nginxHrefs = hrefs(Kind.NGINX);
    for (RemoteEntry e : listing.entries()) {
      assertEquals(PercentCodec.canonicalSegment(e.name()), e.encodedName(), e.name());
      HttpUrl url = ROOT.newBuilder().addEncodedPathSegment(e.encodedName()).build(); // as the crawler builds it
      assertEquals(List.of(e.name()), url.pathSegments(), url.toString());
      // the same request as nginx's own HTML href, up to the escapes nginx adds where OkHttp need not
      assertEquals(PercentCodec.decodeStrict(nginxHrefs.get(e.name())), PercentCodec.decodeStrict(e.encodedName()));
    }
    assertEquals("%2541literal.txt", entry(listing, "%41literal.txt").encodedName(), "not percent-decoded");
    assertFalse(names(listing).contains("Aliteral.txt"));
    assertEquals("100%25.txt", entry(listing, "100%.txt").encodedName());
    assertEquals("hash%23tag.txt", entry(listing, "hash#tag.txt").encodedName());
    assertEquals("what%3F.txt", entry(listing, "what?.txt").encodedName());
    assertEquals("lt%3Cgt%3E.txt", entry(listing, "lt<gt>.txt").encodedName());
    assertEquals("a&b.txt", entry(listing, "a&b.txt").encodedName(), "XML's &amp; decoded once");
    assertEquals("sub%20dir", entry(listing, "sub dir").encodedName());
    assertEquals("%C3%BCn%C3%AF", entry(listing, "ünï").encodedName());
    assertEquals(LONG_NAME, entry(listing, LONG_NAME).encodedName());
  }

  @ParameterizedTest
  @EnumSource(Format.class)
  void structuredSubdirectoriesAndAnEmptyOne(Format format) {
    Listing sub = parseFixture(format, "subdir", SUB);
    assertEquals(Set.of("deeper", "inner file.txt"), names(sub));
    assertEquals(SUB, sub.url());
    assertEquals(321, entry(sub, "inner file.txt").size());
    assertEquals(Instant.parse("2024-02-29T12:34:56Z"), entry(sub, "inner file.txt").mtime());
    assertEquals(Instant.parse("2024-01-15T10:20:31Z"), entry(sub, "deeper").mtime());
    assertTrue(entry(sub, "deeper").directory());
    assertEquals(Set.of("leaf.txt"), names(parseFixture(format, "deeper", DEEPER)));
    Listing empty = parseFixture(format, "emptydir", EMPTYDIR);
    assertEquals(List.of(), empty.entries());
    assertEquals(List.of(), empty.rejected());
  }

  @ParameterizedTest
  @EnumSource(Format.class)
  void theFormatIsToldByTheContentTypeOrTheBodyNeverByTheUrl(Format format) throws Exception {
    byte[] body = fixture(format, "root");
    Set<String> want = names(parseFixture(format, "root", ROOT));
    for (String type : new String[] {null, "text/html", "text/plain", format.contentType.toUpperCase(java.util.Locale.ROOT)}) {
      for (HttpUrl url : List.of(ROOT, HttpUrl.get("http://127.0.0.1:8080/index.html/"),
          HttpUrl.get("http://127.0.0.1:8080/x.json/"), HttpUrl.get("http://127.0.0.1:8080/x.xml/"))) {
        Listing listing = parse(body, type, url);
        assertEquals(want, names(listing), type + " at " + url);
        assertTrue(listing.timesInUtc());
      }
    }
    // with a byte-order mark and blank lines first
    byte[] padded = ("\uFEFF \r\n\t" + new String(body, StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8);
    assertEquals(want, names(parse(padded, null, ROOT)));
    // an HTML listing stays HTML whatever its URL; an XHTML page is not nginx's XML
    Listing html = parse(fixture(Kind.NGINX, "root.html"), "text/html", HttpUrl.get("http://127.0.0.1:8080/x.json/"));
    assertFalse(html.timesInUtc());
    assertEquals(new TreeSet<>(listedAtRoot(Kind.NGINX).keySet()), names(html));
    Listing xhtml = parse(("<?xml version=\"1.0\"?>\n<!DOCTYPE html><html><body><a href=\"a.txt\">a</a></body></html>")
        .getBytes(StandardCharsets.UTF_8), "application/xhtml+xml", ROOT);
    assertEquals(Set.of("a.txt"), names(xhtml));
  }

  @ParameterizedTest
  @EnumSource(Format.class)
  void realNginxHostileEntriesAreSkippedWithAReasonOrKeptLiterally(Format format) {
    // Captured by hand from nginx 1.22 (see test-fixtures/listings/README.md): a dangling symlink, a fifo and a
    // socket are type "other"; a name with the byte 0xFF is not UTF-8; control characters, quotes, '\', '&'
    // and '>' are legal in a local name and kept as they are.
    Listing listing = parseFixture(format, "hostile", ROOT);
    assertEquals(new TreeSet<>(List.of("d", "dirlink", "self", "amp&x", "apos'x", "bs\\x", "ctl\u0001x", "dq\"x",
        "gt>x", "nl\nx", "tab\tx")), names(listing));
    assertEquals(4, listing.rejected().size(), listing.rejected().toString());
    for (String other : List.of("'dangling'", "'fifo'", "'sock'")) {
      assertTrue(reason(listing, other).contains("type \"other\""), reason(listing, other));
    }
    assertTrue(reason(listing, "'bad%FFname'").contains("not valid UTF-8"), listing.rejected().toString());
    assertTrue(entry(listing, "self").directory());
    assertEquals(0, entry(listing, "nl\nx").size());
    assertEquals("ctl%01x", entry(listing, "ctl\u0001x").encodedName());
    assertEquals(Instant.parse("2025-11-29T12:00:00Z"), entry(listing, "d").mtime());
    for (String r : listing.rejected()) {
      assertTrue(r.chars().noneMatch(c -> c < 0x20), "unprintable reason: " + r);
    }
  }

  private static final String T_JSON = "\"mtime\":\"Sat, 29 Nov 2025 12:00:00 GMT\"";
  private static final String T_XML = "mtime=\"2025-11-29T12:00:00Z\"";

  @Test
  void hostileJsonNamesAndTypesAreSkippedWithAReason() {
    String[] hostile = {"a/b", "../etc", "..", ".", "", "nul\\u0000x", "\\ud800lone", NAME_300, ".lazydir.tmp.x",
        "sl\\/ash"};
    StringBuilder json = new StringBuilder("[\n");
    for (String h : hostile) {
      json.append("{ \"name\":\"").append(h).append("\", \"type\":\"file\", ").append(T_JSON).append(", \"size\":1 },\n");
    }
    json.append("{ \"name\":\"link\", \"type\":\"symlink\", ").append(T_JSON).append(" },\n")
        .append("{ \"name\":\"notype\", ").append(T_JSON).append(", \"size\":1 },\n")
        .append("{ \"type\":\"file\", ").append(T_JSON).append(", \"size\":1 },\n")
        .append("{ \"name\":42, \"type\":\"file\" },\n")
        .append("{ \"name\":\"ok.txt\", \"type\":\"file\", ").append(T_JSON)
        .append(", \"size\":7, \"extra\":{\"nested\":[1,2.5e3,true,null,\"x\"]} },\n")
        .append("{ \"name\":\"ok.txt\", \"type\":\"directory\", ").append(T_JSON).append(" },\n")
        .append("{ \"name\":\"\\u65e5\\ud83d\\ude00.txt\", \"type\":\"file\", ").append(T_JSON).append(", \"size\":2 }\n")
        .append("]");
    Listing listing = parseJson(json.toString());

    assertEquals(Set.of("ok.txt", "日\uD83D\uDE00.txt"), names(listing));
    assertEquals(7, entry(listing, "ok.txt").size());
    assertFalse(entry(listing, "ok.txt").directory(), "the first of two entries of one name is kept");
    assertEquals(hostile.length + 5, listing.rejected().size(), listing.rejected().toString());
    assertTrue(reason(listing, "'a/b'").contains("contains '/'"));
    assertTrue(reason(listing, "'../etc'").contains("contains '/'"));
    assertTrue(reason(listing, "'sl/ash'").contains("contains '/'"), "\\/ is a JSON escape of '/'");
    assertTrue(reason(listing, "'..'").contains("not a file name"));
    assertTrue(reason(listing, "'.'").contains("not a file name"));
    assertTrue(reason(listing, "''").contains("empty name"));
    assertTrue(reason(listing, "'nul\\x00x'").contains("NUL"));
    assertTrue(reason(listing, "lone").contains("not a Unicode character"));
    assertTrue(reason(listing, "300 bytes").contains(NAME_300.substring(0, 20)));
    assertTrue(reason(listing, "'.lazydir.tmp.x'").contains("reserved"));
    assertTrue(reason(listing, "'link'").contains("unknown type \"symlink\""));
    assertTrue(reason(listing, "'notype'").contains("no type"));
    assertTrue(reason(listing, "without a name (type \"file\")").startsWith("an entry"));
    assertTrue(reason(listing, "not a JSON string").contains("name"));
    assertTrue(reason(listing, "listed twice").contains("'ok.txt'"));
    for (String r : listing.rejected()) {
      assertTrue(r.chars().noneMatch(c -> c < 0x20), "unprintable reason: " + r);
    }
  }

  @Test
  void hostileXmlNamesAndTypesAreSkippedWithAReason() {
    String xml = "<?xml version=\"1.0\"?>\n<list>\n"
        + "<file " + T_XML + " size=\"1\">a/b</file>\n"
        + "<file " + T_XML + " size=\"1\">..</file>\n"
        + "<file " + T_XML + " size=\"1\">c&#47;d</file>\n"
        + "<file " + T_XML + " size=\"1\">a&#x2F;b</file>\n"
        + "<file " + T_XML + " size=\"1\">nul&#0;x</file>\n"
        + "<file " + T_XML + " size=\"1\">sur&#xD800;x</file>\n"
        + "<file " + T_XML + " size=\"1\">ent&foo;x</file>\n"
        + "<file " + T_XML + " size=\"1\">amp&x</file>\n"
        + "<file " + T_XML + " size=\"1\"/>\n"
        + "<link " + T_XML + ">l</link>\n"
        + "<other " + T_XML + ">dangling</other>\n"
        + "<!-- a comment --><file size='5' " + T_XML + ">&lt;&#x41;&#66;&gt; ok &amp; &quot;&apos;</file>\n"
        + "<directory " + T_XML + " size=\"99\">d</directory>\n"
        + "</list>\n";
    Listing listing = parseXml(xml);
    assertEquals(Set.of("<AB> ok & \"'", "d"), names(listing));
    assertEquals(5, entry(listing, "<AB> ok & \"'").size());
    assertEquals(-1, entry(listing, "d").size(), "a directory has no size");
    assertEquals(10, listing.rejected().size(), listing.rejected().toString());
    assertTrue(reason(listing, "'a/b': contains").contains("contains '/'"), "a/b twice, one reason");
    assertTrue(reason(listing, "'c/d'").contains("contains '/'"), "&#47; is '/'");
    assertTrue(reason(listing, "'..'").contains("not a file name"));
    assertTrue(reason(listing, "NUL").contains("nul"));
    assertTrue(reason(listing, "U+d800").contains("not a Unicode character"));
    assertTrue(reason(listing, "&foo;").contains("unknown entity"));
    assertTrue(reason(listing, "starts no entity").contains("'amp&x'"));
    assertTrue(reason(listing, "empty name").startsWith("''"));
    assertTrue(reason(listing, "'l'").contains("unknown type \"link\""));
    assertTrue(reason(listing, "'dangling'").contains("type \"other\""));
  }

  @Test
  void sizesThatAreNotExactAndTimesThatAreNotReadableLeaveTheFileToAProbe() {
    String json = "[\n"
        + "{ \"name\":\"frac\", \"type\":\"file\", " + T_JSON + ", \"size\":1.5 },\n"
        + "{ \"name\":\"neg\", \"type\":\"file\", " + T_JSON + ", \"size\":-1 },\n"
        + "{ \"name\":\"exp\", \"type\":\"file\", " + T_JSON + ", \"size\":1e3 },\n"
        + "{ \"name\":\"huge\", \"type\":\"file\", " + T_JSON + ", \"size\":99999999999999999999 },\n"
        + "{ \"name\":\"text\", \"type\":\"file\", " + T_JSON + ", \"size\":\"12\" },\n"
        + "{ \"name\":\"nosize\", \"type\":\"file\", " + T_JSON + " },\n"
        + "{ \"name\":\"badtime\", \"type\":\"file\", \"mtime\":\"Sat, 31 Feb 2025 12:00:00 GMT\", \"size\":3 },\n"
        + "{ \"name\":\"zoned\", \"type\":\"file\", \"mtime\":\"Sat, 29 Nov 2025 12:00:00 +0200\", \"size\":3 },\n"
        + "{ \"name\":\"notime\", \"type\":\"file\", \"size\":3 },\n"
        + "{ \"name\":\"max\", \"type\":\"file\", " + T_JSON + ", \"size\":9223372036854775807 }\n"
        + "]";
    Map<String, RemoteEntry> entries = byName(parseJson(json));
    for (String name : List.of("frac", "neg", "exp", "huge", "text", "nosize")) {
      assertEquals(-1, entries.get(name).size(), name);
      assertFalse(entries.get(name).listingIsEnough(), name);
    }
    for (String name : List.of("badtime", "zoned", "notime")) {
      assertNull(entries.get(name).mtime(), name);
      assertFalse(entries.get(name).listingIsEnough(), name);
    }
    assertEquals(Long.MAX_VALUE, entries.get("max").size());
    Map<String, RemoteEntry> xml = byName(parseXml("<list><file mtime=\"2025-11-29 12:00:00\" size=\" 5\">a</file>"
        + "<file mtime=\"2025-13-29T12:00:00Z\" size=\"0x5\">b</file></list>"));
    assertNull(xml.get("a").mtime());
    assertEquals(-1, xml.get("a").size());
    assertNull(xml.get("b").mtime());
    assertEquals(-1, xml.get("b").size());
  }

  @ParameterizedTest
  @ValueSource(strings = {"", " ", "[", "[\n{", "{\"name\":\"a\",\"type\":\"file\"}", "[1]", "[\"a\"]", "[[]]", "[null]",
      "[{\"name\":\"a\",}]", "[{\"name\":\"a\"},]", "[{\"name\":\"a\"}] x", "[{\"name\":\"a\"}][]",
      "[{\"name\":\"a\\q\"}]", "[{\"name\":\"a\nb\"}]", "[{\"name\":\"\\u12\"}]", "[{\"name\" \"a\"}]",
      "[{name:\"a\"}]", "[{\"name\":'a'}]", "[{\"name\":\"a\" \"type\":\"file\"}]", "[{\"size\":01}]",
      "[{\"size\":1.}]", "[{\"size\":-}]", "[{\"x\":tru}]", "[{\"x\":nul}]", "[{\"x\":[1 2]}]",
      "[{\"x\":{\"a\"}}]", "<list></list>", "\uFEFF\uFEFF[]"})
  void invalidJsonFailsTheWholeListing(String body) {
    MalformedListingException e = org.junit.jupiter.api.Assertions.assertThrows(MalformedListingException.class,
        () -> ListingParser.parse(body.getBytes(StandardCharsets.UTF_8), "application/json", null, ROOT));
    assertTrue(e.getMessage().contains("not a valid nginx JSON listing"), e.getMessage());
    assertTrue(e.getMessage().contains("127.0.0.1:8080/"), e.getMessage());
  }

  @Test
  void jsonNestedTooDeepFailsTheListingNotTheStack() {
    String deep = "[{\"x\":" + "[".repeat(100_000) + "]".repeat(100_000) + "}]";
    MalformedListingException e = org.junit.jupiter.api.Assertions.assertThrows(MalformedListingException.class,
        () -> ListingParser.parse(deep.getBytes(StandardCharsets.UTF_8), "application/json", null, ROOT));
    assertTrue(e.getMessage().contains("nested deeper"), e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "<list>", "<list><file>a</file>", "<list><file>a</list>", "<list><file>a",
      "<list><file mtime=\"x\">a</fi", "<list><file><b/></file></list>", "<list>text</list>",
      "<list><file>a</file>text</list>", "<!DOCTYPE list [<!ENTITY x \"y\">]><list>&x;</list>",
      "<list></list><list></list>", "<list></list>x", "<list><file a=b>x</file></list>",
      "<list><file mtime=\"x>a</file></list>", "<list><file>a</directory></list>", "<list><![CDATA[x]]></list>",
      "<list><file><![CDATA[x]]></file></list>", "<list><!-- open", "<?xml version=\"1.0\"", "<lists></lists>",
      "<html><body><a href=\"a\">a</a></body></html>", "<list><file mtime=\"a\"mtime=\"b\">a</file></list>",
      "<list><file mtime=\"a<b\">a</file></list>", "[]"})
  void invalidXmlFailsTheWholeListing(String body) {
    MalformedListingException e = org.junit.jupiter.api.Assertions.assertThrows(MalformedListingException.class,
        () -> ListingParser.parse(body.getBytes(StandardCharsets.UTF_8), "text/xml", null, ROOT));
    assertTrue(e.getMessage().contains("not a valid nginx XML listing"), e.getMessage());
  }

  @ParameterizedTest
  @EnumSource(Format.class)
  void everyTruncationOfARealListingFailsItNeverGivesTheEntriesBeforeTheCut(Format format) {
    byte[] body = fixture(format, "root");
    String text = new String(body, StandardCharsets.UTF_8);
    int complete = format == Format.JSON ? text.lastIndexOf(']') + 1 : text.lastIndexOf("</list>") + "</list>".length();
    for (int cut = 0; cut < complete; cut++) {
      byte[] truncated = java.util.Arrays.copyOf(body, cut);
      int at = cut;
      for (String type : new String[] {format.contentType, null}) {
        try {
          Listing listing = ListingParser.parse(truncated, type, null, ROOT);
          // sniffed without a type, a cut before the first '[' or '<list' is no JSON/XML: an empty HTML page
          assertTrue(type == null && listing.entries().isEmpty() && !listing.timesInUtc(),
              "cut at byte " + at + " of " + body.length + " (" + type + ") gave " + names(listing));
        } catch (MalformedListingException expected) {
          assertTrue(expected.getMessage().contains("at byte"), expected.getMessage());
        }
      }
    }
  }

  /** A listing of n files as nginx writes it in the format. */
  static String hugeListing(Format format, int n) {
    StringBuilder b = new StringBuilder(format == Format.JSON ? "[\r\n" : "<?xml version=\"1.0\"?>\r\n<list>\r\n");
    for (int i = 0; i < n; i++) {
      String name = "package-with-a-longish-name-" + i + ".tar.gz";
      if (format == Format.JSON) {
        b.append("{ \"name\":\"").append(name).append("\", \"type\":\"file\", \"mtime\":\"Sat, 01 Jun 2024 12:34:56 GMT\", \"size\":")
            .append(1000 + i).append(i == n - 1 ? " }\r\n" : " },\r\n");
      } else {
        b.append("<file mtime=\"2024-06-01T12:34:56Z\" size=\"").append(1000 + i).append("\">").append(name)
            .append("</file>\r\n");
      }
    }
    return b.append(format == Format.JSON ? "]" : "</list>\r\n").toString();
  }

  @ParameterizedTest
  @EnumSource(Format.class)
  void aHugeStructuredListingIsReadInMemoryProportionalToItsEntries(Format format) {
    int n = 200_000;
    byte[] body = hugeListing(format, n).getBytes(StandardCharsets.UTF_8);
    com.sun.management.ThreadMXBean threads =
        (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
    Listing listing = null;
    long allocated = 0;
    for (int round = 0; round < 2; round++) { // the first round loads classes and warms up
      listing = null;
      long a0 = threads.getCurrentThreadAllocatedBytes();
      listing = parse(body, format.contentType, ROOT);
      allocated = threads.getCurrentThreadAllocatedBytes() - a0;
    }
    assertEquals(n, listing.entries().size());
    RemoteEntry last = listing.entries().get(n - 1);
    assertEquals("package-with-a-longish-name-" + (n - 1) + ".tar.gz", last.name());
    assertSame(last.name(), last.encodedName(), "one string per name when it needs no escaping");
    assertEquals(1000 + n - 1, last.size());
    assertEquals(Instant.parse("2024-06-01T12:34:56Z"), last.mtime());
    // No document and no copy of the page as text: what is allocated is the entries and the garbage of
    // reading them, a few hundred bytes per entry whatever the format.
    long perEntry = allocated / n;
    System.out.printf("%d-entry %s listing, %d KiB: %d bytes allocated per entry%n", n, format, body.length >> 10, perEntry);
    assertTrue(perEntry < 1024, perEntry + " bytes allocated per entry");
  }
}
