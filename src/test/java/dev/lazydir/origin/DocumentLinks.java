package dev.lazydir.origin;

import org.jsoup.Jsoup;
import org.jsoup.nodes.Document;
import org.jsoup.nodes.Element;
import org.jsoup.nodes.Node;
import org.jsoup.nodes.TextNode;

/**
 * What ListingParser read from a page before it streamed: a jsoup document, each a[href] and the text beside it
 * taken from the DOM. The reference {@link LinkScanner} is checked against, and the baseline of its memory.
 */
final class DocumentLinks {
  private DocumentLinks() {}

  static Document parse(String html) {
    return Jsoup.parse(html, "http://127.0.0.1/");
  }

  static String baseHref(Document doc) {
    Element base = doc.selectFirst("base[href]");
    return base == null ? null : base.attr("href");
  }

  static void scan(Document doc, LinkScanner.Sink sink) {
    for (Element a : doc.select("a[href]")) {
      sink.link(a.attr("href"), textBeside(a));
    }
  }

  /** ListingParser.textBeside as it was. */
  static String textBeside(Element a) {
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
