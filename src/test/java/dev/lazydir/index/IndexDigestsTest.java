package dev.lazydir.index;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.index.IndexDigests.FileDigests;
import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Posix;
import dev.lazydir.testing.IndexedTree;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The tree index's digests as the store keeps them: written from the index, looked up by path and version. */
class IndexDigestsTest {
  @TempDir Path tmp;

  Fd dir(Path p) throws IOException {
    Files.createDirectories(p);
    return Posix.open(p.toString(), Posix.O_RDONLY | Posix.O_DIRECTORY);
  }

  static Instant mtime(IndexedTree t, String path) throws IOException {
    return Files.getLastModifiedTime(t.src.resolve(path)).toInstant();
  }

  @Test
  void everyFileOfTheIndexIsFoundWithItsDigestsAndOnlyForTheVersionTheIndexDescribes() throws Exception {
    IndexedTree t = new IndexedTree(tmp.resolve("src"));
    try (Fd run = dir(tmp.resolve("run"))) {
      IndexDigests.write(Files.readAllBytes(t.index), run);
      try (IndexDigests d = IndexDigests.open(run).orElseThrow()) {
        assertEquals(IndexedTree.BLOCK, d.blockSize());
        assertEquals(t.files.size(), d.fileCount());
        for (Map.Entry<String, byte[]> f : t.files.entrySet()) {
          FileDigests got = d.lookup(f.getKey(), f.getValue().length, mtime(t, f.getKey())).orElseThrow(() -> new AssertionError(f.getKey()));
          FileDigests want = FileDigests.of(f.getValue(), IndexedTree.BLOCK);
          assertArrayEquals(want.sha256(), got.sha256(), f.getKey());
          assertArrayEquals(want.blocks(), got.blocks(), f.getKey());
          for (int i = 0; i < want.blockCount(); i++) {
            assertTrue(got.matches(i, IndexDigests.sha256(f.getValue(), i * IndexedTree.BLOCK, got.blockLength(i))));
          }
        }
        FileDigests big = d.lookup("data/big.bin", 5 * 4096 + 123, mtime(t, "data/big.bin")).orElseThrow();
        assertEquals(6, big.blockCount());
        assertEquals(123, big.blockLength(5));
        assertNull(d.lookup("README", 4, mtime(t, "README")).orElseThrow().blocks(), "one block: the file's digest");
        assertFalse(d.lookup("README", 5, mtime(t, "README")).isPresent(), "another size: another version");
        assertFalse(d.lookup("README", 4, mtime(t, "README").plusNanos(1)).isPresent(), "another mtime");
        assertFalse(d.lookup("deep", 0, mtime(t, "deep")).isPresent(), "a directory has none");
        assertFalse(d.lookup("deep/link-in", 0, Instant.EPOCH).isPresent());
        assertFalse(d.lookup("nothing/here", 1, Instant.EPOCH).isPresent());
      }
    }
  }

  @Test
  void aLinkPlantedAtItsNameOrItsTemporaryNameIsReplacedNeverWrittenThrough() throws Exception {
    IndexedTree t = new IndexedTree(tmp.resolve("src"));
    Path victim = tmp.resolve("victim");
    Files.writeString(victim, "keep me");
    Path run = tmp.resolve("run");
    Files.createDirectories(run);
    Files.createSymbolicLink(run.resolve(IndexDigests.FILE_NAME), victim);
    Files.createSymbolicLink(run.resolve(IndexDigests.TMP_NAME), victim);
    try (Fd fd = dir(run)) {
      assertThrows(IOException.class, () -> IndexDigests.open(fd), "a link is not read through");
      IndexDigests.write(Files.readAllBytes(t.index), fd);
      assertEquals("keep me", Files.readString(victim));
      assertFalse(Files.isSymbolicLink(run.resolve(IndexDigests.FILE_NAME)));
      assertFalse(Files.exists(run.resolve(IndexDigests.TMP_NAME), java.nio.file.LinkOption.NOFOLLOW_LINKS));
      try (IndexDigests d = IndexDigests.open(fd).orElseThrow()) {
        assertEquals(t.files.size(), d.fileCount());
      }
    }
  }

  @Test
  void noFileIsNoDigestsAndABrokenOneIsRefused() throws Exception {
    try (Fd fd = dir(tmp.resolve("run"))) {
      assertFalse(IndexDigests.open(fd).isPresent());
      Files.write(tmp.resolve("run").resolve(IndexDigests.FILE_NAME), new byte[100]);
      IOException e = assertThrows(IOException.class, () -> IndexDigests.open(fd));
      assertTrue(e.getMessage().contains("corrupt"), e.getMessage());
    }
  }
}
