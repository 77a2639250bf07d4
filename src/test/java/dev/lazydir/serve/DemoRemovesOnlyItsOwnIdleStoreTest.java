package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.testing.LocalTree;
import dev.lazydir.testing.LockHolder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The demo starts from a fresh store, but removes only one it made itself and no serve holds: a live store
 * (its lock held) and someone else's store are refused with one sentence, and nothing in them changes.
 */
class DemoRemovesOnlyItsOwnIdleStoreTest {
  @TempDir Path tmp;

  StoreLayout storeWithData(boolean demo) throws IOException {
    StoreLayout layout = new StoreLayout(tmp.resolve(".view.lazydir"));
    layout.create();
    if (demo) {
      layout.markAsDemo();
    }
    Files.createDirectories(layout.tree().resolve("sub"));
    Files.writeString(layout.tree().resolve("sub/fetched.bin"), "bytes fetched from the origin");
    layout.writeState("pid=4242\n");
    Files.createSymbolicLink(layout.tree().resolve("link"), tmp.resolve("outside"));
    return layout;
  }

  @Test
  void theDemosOwnIdleStoreIsRemovedWithoutFollowingLinks() throws IOException {
    Files.createDirectories(tmp.resolve("outside"));
    Files.writeString(tmp.resolve("outside/victim"), "intact");
    StoreLayout layout = storeWithData(true);

    layout.removeDemoStore();

    assertFalse(Files.exists(layout.store()));
    assertEquals("intact", Files.readString(tmp.resolve("outside/victim")));
  }

  @Test
  void aStoreAServeHoldsIsRefusedAndLeftAsItWas() throws IOException {
    StoreLayout layout = storeWithData(true);
    Files.createFile(layout.run().resolve("lock"));
    Map<String, String> before = LocalTree.snapshot(layout.store());
    try (LockHolder serve = new LockHolder(layout.run().resolve("lock"))) {
      IOException e = assertThrows(StoreLayout.StoreInUseException.class, layout::removeDemoStore);
      assertTrue(e.getMessage().contains("in use by lazydir serve (pid 4242)") && e.getMessage().contains("stop that serve"),
          e.getMessage());
    }
    assertEquals(before, LocalTree.snapshot(layout.store()), "nothing changed");
  }

  @Test
  void aStoreTheDemoDidNotMakeIsRefusedAndLeftAsItWas() throws IOException {
    StoreLayout layout = storeWithData(false);
    Map<String, String> before = LocalTree.snapshot(layout.store());

    IOException e = assertThrows(IOException.class, layout::removeDemoStore);

    assertTrue(e.getMessage().contains("was not made by lazydir demo") && e.getMessage().contains("another DIR"),
        e.getMessage());
    assertEquals(before, LocalTree.snapshot(layout.store()), "nothing changed, not even a lock file");
  }
}
