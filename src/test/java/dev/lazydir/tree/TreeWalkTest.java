package dev.lazydir.tree;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Stat;
import dev.lazydir.tree.EntryMeta.DirMeta;
import dev.lazydir.tree.EntryMeta.FileMeta;
import dev.lazydir.tree.EntryMeta.TimePrecision;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The walks a start makes over a whole tree: on several threads they see exactly what one thread sees. */
class TreeWalkTest {
  @TempDir Path tmp;

  /** 30 directories of 3 levels, 20 files each, plus what a walk must skip: a foreign directory, a link, temporaries. */
  StubTree tree() throws Exception {
    StubTree tree = StubTree.open(tmp.resolve("t"), "http://origin.invalid/");
    Fd root = tree.root();
    FileMeta meta = new FileMeta(5, Instant.EPOCH, TimePrecision.SECONDS, null, null, false, -1);
    List<TreePath> dirs = new ArrayList<>(List.of(TreePath.root()));
    for (int i = 0; i < 30; i++) {
      TreePath parent = dirs.get(i / 3);
      try (Fd p = tree.openDir(parent)) {
        tree.createDir(p, "d" + i, new DirMeta(1, null, null), null);
      }
      dirs.add(parent.child("d" + i));
    }
    for (TreePath d : dirs) {
      try (Fd dir = tree.openDir(d)) {
        for (int f = 0; f < 20; f++) {
          tree.createStub(dir, "f" + f, meta, null);
        }
      }
    }
    Files.createDirectories(tmp.resolve("t/d0/foreign"));
    Files.writeString(tmp.resolve("t/d0/foreign/x"), "not lazydir's");
    Files.createSymbolicLink(tmp.resolve("t/d1/link"), Path.of("f0"));
    Files.writeString(tmp.resolve("t/d2/" + LocalName.TEMP_PREFIX + "half-made"), "");
    root.mkdirAt(LocalName.TEMP_PREFIX + "dir", 0700);
    return tree;
  }

  /** Every directory (by inode) and file (by inode and name) a walk reports. */
  static Set<String> seen(Fd root, int threads) throws IOException {
    Set<String> seen = ConcurrentHashMap.newKeySet();
    TreeWalk.walk(root, new TreeWalk.Visitor() {
      @Override
      public void directory(Fd dir, DirMeta meta) throws IOException {
        assertTrue(seen.add("d " + dir.stat().ino()), "once");
      }

      @Override
      public void file(Fd parent, String name, Stat st) throws IOException {
        assertTrue(seen.contains("d " + parent.stat().ino()), "a directory is reported before its entries");
        assertTrue(seen.add("f " + st.ino() + " " + name), "once");
      }
    }, threads);
    return seen;
  }

  @Test
  void aWalkOnSeveralThreadsReportsExactlyWhatAWalkOnOneReports() throws Exception {
    try (StubTree tree = tree()) {
      Set<String> one = seen(tree.root(), 1);
      assertEquals(31 + 31 * 20, one.size(), "lazydir's directories and files only");
      assertEquals(one, seen(tree.root(), 4));
      assertEquals(one, seen(tree.root(), 2));
    }
  }

  @Test
  void aFailureOnAnotherThreadEndsTheWalkAndIsThrown() throws Exception {
    try (StubTree tree = tree()) {
      IOException boom = new IOException("visitor failed");
      IOException e = assertThrows(IOException.class, () -> TreeWalk.walk(tree.root(), new TreeWalk.Visitor() {
        @Override
        public void directory(Fd dir, DirMeta meta) {}

        @Override
        public void file(Fd parent, String name, Stat st) throws IOException {
          if (name.equals("f7")) {
            throw boom;
          }
        }
      }, 4));
      assertSame(boom, e);
      assertEquals(31 + 31 * 20, seen(tree.root(), 4).size(), "the root is still open and walks again");
    }
  }
}
