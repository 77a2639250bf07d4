package dev.lazydir.origin;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link LinkScanner} reads every captured real listing, and pages built to trip a hand-written scanner, the
 * way jsoup's document did: the same links, in the same order, with the same text beside each.
 */
class StreamingScanMatchesTheDocumentTest {
  record Page(String name, String html) {
    @Override
    public String toString() {
      return name;
    }
  }

  static Stream<Page> pages() throws IOException {
    List<Page> pages = new ArrayList<>();
    try (Stream<Path> files = Files.walk(Path.of("test-fixtures/listings"))) {
      for (Path f : (Iterable<Path>) files.sorted()::iterator) {
        if (f.toString().endsWith(".html")) {
          pages.add(new Page(f.toString(), Files.readString(f, StandardCharsets.UTF_8)));
        }
      }
    }
    String[] tricky = {
        "<pre><a href=\"a\">a</a>  01-Jan-2024 10:00  12\n<a href=b>b</a> <span>01-Jan-2024</span> <b>10:00</b>  7\n</pre>",
        "<pre><a href=\"x\"><img src=i></a> <a href=\"x\">x</a>   05-Mar-2024 06:07  149\n</pre>",
        "<ul><li><a href=\"a.txt\">a.txt</a></li><li><a href='b.txt'>b</a> tail</li></ul>",
        "<table><tr><td><a href=\"i\"><img></a></td><td><a href=\"n\">n</a> </td><td align=right>2024-03-05 06:07  </td>"
            + "<td>1.2K</td><td>&nbsp;</td></tr><tr><td><a href=m>m</a><td>2024-01-01 00:00<td> 5 </table>",
        "<table><tr><th><a href=\"?C=N\">Name</a></th><th>x</th></tr></table><a href=after>after</a> trailing\ntext",
        "<a href=one>one<a href=two>two</a> rest\n",
        "<a href=\"a&amp;b.txt\">a&amp;b</a> &lt;tag&gt; &#x41;\n<a href=\"c&d=e\">c</a>\n",
        "<!-- <a href=hidden>x</a> --><script>var s = '<a href=\"js\">';</script><a href=shown>s</a>\n",
        "<A HREF=\"Upper.TXT\">U</A> <SPAN>  12   34 </SPAN> <div>block</div>\n",
        "<p><a href=\"p1\">p1</a> in a paragraph<p><a href=p2>p2</a></p>",
        "<td><a href=stray>stray</a> 01-Jan-2024 10:00 3\n</td>",
        "<table><tr><td><pre><a href=inpre>inpre</a> x\n</pre></td><td>  a\n b  </td></tr></table>",
        "<pre><a href=u>u</a><span>  two\n lines </span> after\n</pre>",
        "<div><a href=d>d</a> text <br> more\n</div>",
        "<base href=\"/sub/\"><a href=rel>rel</a>",
        "<!-- <base href=/no/> --><script>'<base href=/js/>'</script><title><base href=t></title><a href=x>x</a>"
            + "<BASE HREF=\"/yes/\"><base href=/second/>",
        "<a href=last>last</a> no newline at the end",
        "<a href=unclosed>never closed",
        "<pre><a href=\"x\" title='a>b'>x</a> 1 < 2 here\n</pre>",
        "<table><tr><td><a href=a1>a1</a></td><td><a href=desc>d</a> 2024-01-01 00:00</td><td>9</td></tr></table>",
    };
    for (int i = 0; i < tricky.length; i++) {
      pages.add(new Page("tricky " + i, tricky[i]));
    }
    return pages.stream();
  }

  @ParameterizedTest
  @MethodSource("pages")
  void linksAndTheirTextMatchWhatTheDocumentGave(Page page) {
    List<String> expected = new ArrayList<>();
    var doc = DocumentLinks.parse(page.html());
    DocumentLinks.scan(doc, (href, beside) -> expected.add(href + " | " + beside));
    List<String> actual = new ArrayList<>();
    LinkScanner.scan(page.html(), (href, beside) -> actual.add(href + " | " + beside));
    assertEquals(String.join("\n", expected), String.join("\n", actual));
    assertEquals(DocumentLinks.baseHref(doc), LinkScanner.baseHref(page.html()));
  }
}
