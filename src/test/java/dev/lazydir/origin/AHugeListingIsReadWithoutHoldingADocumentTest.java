package dev.lazydir.origin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import okhttp3.HttpUrl;
import org.junit.jupiter.api.Test;

/**
 * A 50,000-entry nginx listing (7 MB) took the daemon to 169 MiB: the parser held a jsoup document of the
 * whole page (about 25 MiB) while it read the links. The scanner holds none: measured in one run against the
 * document reading it replaced (DocumentLinks), heap held in the middle of the page and bytes allocated.
 */
class AHugeListingIsReadWithoutHoldingADocumentTest {
  static final int ENTRIES = 50_000;
  static final com.sun.management.ThreadMXBean THREADS =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

  /** An nginx autoindex page (names as long as a mirror's, truncated link text, exact sizes). */
  static String nginxPage(int n) {
    StringBuilder b = new StringBuilder("<html>\n<head><title>Index of /big/</title></head>\n<body>\n"
        + "<h1>Index of /big/</h1><hr><pre><a href=\"../\">../</a>\n");
    for (int i = 0; i < n; i++) {
      String name = "package-with-a-longish-name-" + i + ".tar.gz";
      String text = name.length() > 50 ? name.substring(0, 47) + "..&gt;" : name;
      b.append("<a href=\"").append(name).append("\">").append(text).append("</a>")
          .append(" ".repeat(Math.max(1, 51 - name.length()))).append("01-Jun-2024 12:34")
          .append(String.format("%20d", 1000 + i)).append('\n');
    }
    return b.append("</pre><hr></body>\n</html>\n").toString();
  }

  static long heapInUse() {
    Runtime r = Runtime.getRuntime();
    long used = Long.MAX_VALUE;
    for (int i = 0; i < 4; i++) {
      System.gc();
      used = Math.min(used, r.totalMemory() - r.freeMemory());
    }
    return used;
  }

  /** Counts links; at the one in the middle of the page, measures the heap held beyond base. */
  static final class Probe implements LinkScanner.Sink {
    final long base;
    long held = -1;
    int links;

    Probe(long base) {
      this.base = base;
    }

    @Override
    public void link(String href, String beside) {
      if (++links == ENTRIES / 2) {
        held = heapInUse() - base;
      }
    }
  }

  @Test
  void theScannerHoldsATenthOfWhatTheDocumentHeldAndAllocatesLess() {
    String html = nginxPage(ENTRIES);
    for (int round = 0; round < 2; round++) { // the first round loads classes and warms up
      long base = heapInUse();
      long a0 = THREADS.getCurrentThreadAllocatedBytes();
      Probe before = new Probe(base);
      DocumentLinks.scan(DocumentLinks.parse(html), before);
      long allocBefore = THREADS.getCurrentThreadAllocatedBytes() - a0;

      base = heapInUse();
      a0 = THREADS.getCurrentThreadAllocatedBytes();
      Probe after = new Probe(base);
      LinkScanner.scan(html, after);
      long allocAfter = THREADS.getCurrentThreadAllocatedBytes() - a0;

      assertEquals(ENTRIES + 1, before.links);
      assertEquals(ENTRIES + 1, after.links);
      if (round == 1) {
        System.out.printf("%d-entry listing, %d KiB page: heap held mid-page %d KiB (document) -> %d KiB (scanner),"
                + " %.3f; allocated %d KiB -> %d KiB, %.2f%n", ENTRIES, html.length() >> 10, before.held >> 10,
            after.held >> 10, (double) after.held / before.held, allocBefore >> 10, allocAfter >> 10,
            (double) allocAfter / allocBefore);
        assertTrue(after.held * 10 < before.held, after.held + " bytes held vs " + before.held);
        assertTrue(allocAfter < allocBefore, allocAfter + " bytes allocated vs " + allocBefore);
      }
    }
  }

  @Test
  void aHugeListingGivesEveryEntryWithItsSizeAndTime() {
    byte[] body = nginxPage(ENTRIES).getBytes(StandardCharsets.UTF_8);
    Listing listing = ListingParser.parse(body, null, HttpUrl.get("http://127.0.0.1/big/"));
    assertEquals(ENTRIES, listing.entries().size());
    RemoteEntry last = listing.entries().get(ENTRIES - 1);
    assertEquals("package-with-a-longish-name-" + (ENTRIES - 1) + ".tar.gz", last.name());
    assertEquals(1000 + ENTRIES - 1, last.size());
    assertTrue(last.listingIsEnough());
  }
}
