package dev.lazydir.crawl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.origin.OriginException;
import dev.lazydir.testing.FakeOrigin;
import dev.lazydir.testing.FakeOrigin.Fault;
import dev.lazydir.testing.LocalTree;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Set;
import okhttp3.mockwebserver.MockResponse;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the crawler does with nginx's JSON and XML listings beyond parsing them (ListingParserTest). */
class StructuredListingCrawlTest {
  static final Instant T = Instant.parse("2024-03-05T06:07:08Z");
  @TempDir Path tmp;

  private static MockResponse json(String body) {
    return new MockResponse().setHeader("Content-Type", "application/json").setBody(body);
  }

  @Test
  void aJsonListingIsOneRequestAndItsNamesAreLiteral() throws Exception {
    try (FakeOrigin origin = new FakeOrigin()) {
      origin.file("/100%.txt", "abc", T).file("/%41.txt", "abcd", T).file("/sub/x", "x", T);
      origin.fault("/*", Fault.answer(r -> !r.getMethod().equals("GET") ? null
          : r.getPath().equals("/") ? json("[\n"
              + "{ \"name\":\"sub\", \"type\":\"directory\", \"mtime\":\"Tue, 05 Mar 2024 06:07:08 GMT\" },\n"
              + "{ \"name\":\"100%.txt\", \"type\":\"file\", \"mtime\":\"Tue, 05 Mar 2024 06:07:08 GMT\", \"size\":3 },\n"
              + "{ \"name\":\"%41.txt\", \"type\":\"file\", \"mtime\":\"Tue, 05 Mar 2024 06:07:09 GMT\", \"size\":4 },\n"
              + "{ \"name\":\"dangling\", \"type\":\"other\", \"mtime\":\"Tue, 05 Mar 2024 06:07:08 GMT\" }\n]")
          : r.getPath().equals("/sub/") ? json("[]")
          : null));
      Path dir = tmp.resolve("m");
      CrawlReport report = CrawlFixture.crawl(origin.url("/"), dir);
      assertEquals(Set.of("100%.txt", "%41.txt", "sub/"), LocalTree.entries(dir).keySet());
      assertEquals(3, Files.size(dir.resolve("100%.txt")));
      assertEquals(Instant.parse("2024-03-05T06:07:09Z"), Files.getLastModifiedTime(dir.resolve("%41.txt")).toInstant());
      assertEquals(2, origin.requestCount(), "GET / and GET /sub/, no probe");
      assertEquals(1, report.warnings(), "the entry of type other");
    }
  }

  @Test
  void aTruncatedJsonListingLeavesTheDirectoryAsItWas() throws Exception {
    try (FakeOrigin origin = new FakeOrigin()) {
      origin.file("/d/a.txt", "aaa", T).file("/d/b.txt", "bbb", T);
      Path dir = tmp.resolve("m");
      CrawlFixture.crawl(origin.url("/"), dir);
      assertEquals(Set.of("a.txt", "b.txt"), LocalTree.entries(dir.resolve("d")).keySet());

      origin.fault("/*", Fault.answer(r -> r.getPath().equals("/d/") ? json("[\n"
          + "{ \"name\":\"a.txt\", \"type\":\"file\", \"mtime\":\"Tue, 05 Mar 2024 06:07:08 GMT\", \"size\":3 },\n"
          + "{ \"name\":\"b.t") : null));
      CrawlReport report = CrawlFixture.crawl(origin.url("/"), dir);
      assertEquals(Set.of("a.txt", "b.txt"), LocalTree.entries(dir.resolve("d")).keySet(), "nothing removed");
      assertEquals(1, report.warnings());
      assertEquals(0, report.removed());
    }
  }

  @Test
  void anInvalidJsonListingAtTheRootFailsTheCrawl() throws Exception {
    try (FakeOrigin origin = new FakeOrigin()) {
      origin.file("/a.txt", "aaa", T);
      origin.fault("/*", Fault.answer(r -> r.getPath().equals("/") ? json("[{\"name\":") : null));
      OriginException e = assertThrows(OriginException.class, () -> CrawlFixture.crawl(origin.url("/"), tmp.resolve("m")));
      assertTrue(e.getMessage().contains("not a valid nginx JSON listing"), e.getMessage());
    }
  }

  @Test
  void aJsonOrXmlFileAtAFileUrlIsASingleFileNotAListing() throws Exception {
    try (FakeOrigin origin = new FakeOrigin()) {
      origin.fault("/*", Fault.answer(r -> r.getPath().equals("/data.json") ? json("{\"a\": [1, 2, 3]}")
          : r.getPath().equals("/data.xml") ? new MockResponse().setHeader("Content-Type", "text/xml")
              .setBody("<?xml version=\"1.0\"?><doc/>") : null));
      CrawlFixture.crawl(origin.url("/data.json"), tmp.resolve("j"));
      assertEquals(16, Files.size(tmp.resolve("j/data.json")));
      CrawlFixture.crawl(origin.url("/data.xml"), tmp.resolve("x"));
      assertEquals(27, Files.size(tmp.resolve("x/data.xml")));
    }
  }
}
