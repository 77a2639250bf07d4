package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A symlink planted where lazydir keeps its own files in the store (run/state.tmp, run/state, run/lock, run,
 * tree) never makes lazydir write the file it points to: the link is replaced, or the operation fails with one
 * sentence naming the link and the fix.
 */
class StoreFilesAreNeverFollowedThroughSymlinksTest {
  @TempDir Path tmp;
  Path victim;
  Path outside;
  StoreLayout layout;

  @BeforeEach
  void setUp() throws IOException {
    outside = tmp.resolve("outside");
    Files.createDirectories(outside);
    victim = outside.resolve("victim");
    Files.writeString(victim, "intact");
    layout = new StoreLayout(tmp.resolve("store"));
  }

  @Test
  void stateWrittenOverLinksAtStateTmpAndStateReplacesTheLinksAndLeavesTheVictimIntact() throws IOException {
    layout.create();
    Files.createSymbolicLink(layout.run().resolve("state.tmp"), victim);
    Files.createSymbolicLink(layout.stateFile(), victim);

    layout.writeState("pid=1\n");

    assertEquals("intact", Files.readString(victim));
    assertFalse(Files.isSymbolicLink(layout.stateFile()));
    assertEquals("pid=1\n", Files.readString(layout.stateFile()));
    assertFalse(Files.exists(layout.run().resolve("state.tmp"), LinkOption.NOFOLLOW_LINKS), "renamed into place");
    assertEquals("pid=1\n", layout.readState().orElseThrow());
  }

  @Test
  void stateIsRemovedAsALinkNeverThroughIt() throws IOException {
    layout.create();
    layout.writeState("pid=1\n");
    Files.delete(layout.stateFile());
    Files.createSymbolicLink(layout.stateFile(), victim);

    IOException read = assertThrows(IOException.class, layout::readState);
    assertOneSentenceNaming(read, "run/state", "symbolic link");
    layout.removeState();

    assertFalse(Files.exists(layout.stateFile(), LinkOption.NOFOLLOW_LINKS));
    assertEquals("intact", Files.readString(victim));
  }

  @Test
  void aLinkAtTheLockFileIsRefusedAndNothingIsCreatedWhereItPoints() throws IOException {
    layout.create();
    Path target = outside.resolve("created-through-the-link");
    Files.createSymbolicLink(layout.run().resolve("lock"), target);

    IOException e = assertThrows(IOException.class, layout::lock);

    assertOneSentenceNaming(e, "run/lock", "symbolic link");
    assertFalse(Files.exists(target), "no file made through the link");
  }

  @Test
  void aRunDirectoryThatIsALinkIsRefusedBeforeAnythingIsWrittenThere() throws IOException {
    Files.createDirectories(layout.store());
    Files.createSymbolicLink(layout.run(), outside);

    IOException create = assertThrows(IOException.class, layout::create);
    IOException write = assertThrows(IOException.class, () -> layout.writeState("pid=1\n"));
    assertThrows(IOException.class, layout::lock);

    assertOneSentenceNaming(create, "run", "symbolic link");
    assertOneSentenceNaming(write, "run", "symbolic link");
    try (var list = Files.list(outside)) {
      assertEquals(java.util.List.of(victim), list.toList(), "nothing created in the directory run points to");
    }
  }

  @Test
  void aTreeThatIsALinkIsRefused() throws IOException {
    Files.createDirectories(layout.store());
    Files.createSymbolicLink(layout.tree(), outside);

    IOException e = assertThrows(IOException.class, layout::create);

    assertOneSentenceNaming(e, "tree", "symbolic link");
  }

  static void assertOneSentenceNaming(IOException e, String where, String what) {
    String m = e.getMessage();
    assertTrue(m.contains(where) && m.contains(what), m);
    assertTrue(m.contains("remove"), "names the fix: " + m);
    assertFalse(m.contains("errno") || m.contains("openat") || m.contains("\n"), "one sentence, no syscall text: " + m);
  }
}
