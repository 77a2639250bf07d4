package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.testing.Commands.Result;
import dev.lazydir.testing.FakeOrigin;
import dev.lazydir.testing.FakeOrigin.Fault;
import java.nio.file.Path;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** populate names the file it could not fetch, goes on with the others and exits 1. */
class PopulateErrorsTest {
  private static final Instant T = Instant.parse("2024-06-01T12:00:00Z");
  @TempDir Path tmp;

  @Test
  void aFileTheOriginFailsIsNamedTheOthersArePopulatedAndTheExitIsOne() throws Exception {
    try (ServeBed bed = new ServeBed(tmp); FakeOrigin origin = new FakeOrigin()) {
      origin.file("/d/bad.bin", new byte[5000], T).file("/d/good.txt", "fine", T);
      origin.fault("/d/bad.bin", Fault.status(500));
      bed.serve(origin.url("/").toString());
      Path bad = bed.view.resolve("d/bad.bin");
      Path good = bed.view.resolve("d/good.txt");
      Result r = ServeTest.lazydir("populate", "--content", bad.toString(), good.toString());
      assertEquals(1, r.exit(), r.text() + r.err());
      assertEquals(1, r.err().lines().count(), r.err());
      assertTrue(r.err().startsWith("lazydir: error: " + bad + ": the origin did not give its bytes"), r.err());
      assertFalse(r.err().contains("Input/output error\n") && !r.err().contains(bad.toString()), r.err());
      assertTrue(r.text().contains("populated " + good) && !r.text().contains("populated " + bad), r.text());
    }
  }
}
