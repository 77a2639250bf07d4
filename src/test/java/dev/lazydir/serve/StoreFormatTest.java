package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.lazydir.testing.Commands.Result;
import dev.lazydir.testing.FakeOrigin;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The store records its format (run/format); a store written by a newer lazydir, in a format this one does not
 * know, is refused with one sentence naming the cause and the fix, before anything is touched.
 */
class StoreFormatTest {
  @TempDir Path tmp;

  @Test
  void aServedStoreRecordsItsFormatAndAStoreOfANewerFormatIsRefusedUntouched() throws Exception {
    try (FakeOrigin origin = new FakeOrigin(); ServeBed bed = new ServeBed(tmp, "64M")) {
      origin.file("/a.txt", "a", Instant.parse("2024-06-01T12:00:00Z"));
      String url = origin.url("/").toString();
      assertEquals(0, bed.stop(bed.serve(url)));
      Path format = bed.store.resolve("run").resolve("format");
      assertEquals(StoreLayout.FORMAT + "\n", Files.readString(format));

      Files.writeString(format, (StoreLayout.FORMAT + 1) + "\n"); // as a newer lazydir would leave it
      List<String> before = listing(bed.store);
      int asked = origin.requestCount();
      Result r = ServeTest.lazydir("serve", "--store", bed.store.toString(), url, bed.view.toString());

      assertEquals(1, r.exit(), r.err());
      assertEquals("lazydir: error: the store " + bed.store + " was written by a newer lazydir (store format "
          + (StoreLayout.FORMAT + 1) + "; this lazydir reads format " + StoreLayout.FORMAT + " and older): serve it"
          + " with that newer lazydir, or give this one another --store", r.err().strip());
      assertEquals(before, listing(bed.store), "the store is untouched");
      assertEquals(asked, origin.requestCount(), "the origin was not asked");
      assertFalse(bed.viewMounted());
    }
  }

  /** Every path in the store with its size and mtime. */
  static List<String> listing(Path store) throws Exception {
    try (var walk = Files.walk(store)) {
      return walk.map(p -> {
        try {
          return store.relativize(p) + " " + Files.size(p) + " " + Files.getLastModifiedTime(p);
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }).sorted().toList();
    }
  }
}
