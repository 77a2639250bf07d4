package dev.lazydir.index;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.testing.IndexedTree;
import dev.lazydir.tree.TreePath;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TreeIndexRoundTripTest {
  @TempDir Path tmp;

  @Test
  void anIndexRecordsEveryEntryOfALocalTreeExactly() throws Exception {
    IndexedTree t = new IndexedTree(tmp.resolve("src"));
    Map<String, TreeIndex.Entry> read = new LinkedHashMap<>();
    int[] block = {0};
    try (var in = Files.newInputStream(t.index)) {
      TreeIndex.read(in, new TreeIndex.Visitor() {
        @Override
        public void blockSize(int b) {
          block[0] = b;
        }

        @Override
        public void entry(TreeIndex.Entry e) {
          read.put(e.path().toString(), e);
        }
      });
    }
    assertEquals(IndexedTree.BLOCK, block[0]);
    List<String> expected = new ArrayList<>();
    try (var walk = Files.walk(t.src)) {
      walk.forEach(p -> expected.add(p.equals(t.src) ? "." : t.src.relativize(p).toString()));
    }
    assertEquals(expected.stream().sorted().toList(), read.keySet().stream().sorted().toList(), "every entry, once");
    for (String path : expected) {
      Path p = path.equals(".") ? t.src : t.src.resolve(path);
      TreeIndex.Entry e = read.get(path);
      int mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
      assertEquals(mode & 07777, e.mode(), path + " mode");
      assertEquals(((FileTime) Files.getAttribute(p, "unix:lastModifiedTime", LinkOption.NOFOLLOW_LINKS)).toInstant(),
          e.mtime(), path + " mtime (ns)");
      if (Files.isSymbolicLink(p)) {
        assertEquals(TreeIndex.Type.SYMLINK, e.type());
        assertEquals(Files.readSymbolicLink(p).toString(), e.target());
      } else if (Files.isDirectory(p)) {
        assertEquals(TreeIndex.Type.DIR, e.type());
      } else {
        byte[] content = Files.readAllBytes(p);
        assertEquals(TreeIndex.Type.FILE, e.type());
        assertEquals(content.length, e.size());
        assertArrayEquals(sha(content), e.sha256(), path);
        int blocks = (content.length + IndexedTree.BLOCK - 1) / IndexedTree.BLOCK;
        for (int i = 0; i < blocks; i++) {
          byte[] b = Arrays.copyOfRange(content, i * IndexedTree.BLOCK, Math.min(content.length, (i + 1) * IndexedTree.BLOCK));
          assertArrayEquals(sha(b), e.blockDigest(i), path + " block " + i);
        }
        if (blocks <= 1) {
          assertNull(e.blocks());
        }
      }
    }
    assertEquals(6, read.get("data/big.bin").blocks().length / 32, "a file of several blocks has them all");
    assertTrue(read.containsKey(".hidden") && read.containsKey("deep/.git/config"), "dotfiles");
    assertEquals("../../etc/passwd", read.get("deep/escaping").target(), "the index records links as they are");
    assertEquals("/etc/passwd", read.get("absolute").target());
  }

  @Test
  void theIndexWrittenAtTheRootOfATreeNeverListsItself() throws Exception {
    Path src = tmp.resolve("s");
    Files.createDirectories(src);
    Files.writeString(src.resolve("a"), "a");
    Path out = src.resolve(TreeIndex.DEFAULT_NAME);
    new IndexBuilder(src, out, TreeIndex.DEFAULT_BLOCK_SIZE).build();
    new IndexBuilder(src, out, TreeIndex.DEFAULT_BLOCK_SIZE).build(); // again, with the first one there
    List<String> paths = new ArrayList<>();
    try (var in = Files.newInputStream(out)) {
      TreeIndex.read(in, e -> paths.add(e.path().toString()));
    }
    assertEquals(List.of(".", "a"), paths);
    try (var names = Files.list(src)) {
      assertEquals(2, names.count(), "no temporary left beside it");
    }
  }

  @Test
  void aNewerFormatIsRefusedInOneClearSentence() throws Exception {
    byte[] gz = gzip("lazydir-index 2\nblock 4096\nd\t0755\t0\t.\nend 1\n");
    var e = assertThrows(TreeIndex.IndexException.class, () -> TreeIndex.validate(gz));
    assertEquals("the index is format 2, newer than this lazydir reads (format 1); upgrade lazydir, or give"
        + " --no-index to list directories instead", e.getMessage());
  }

  @Test
  void namesWithTabsNewlinesAndBackslashesRoundTrip() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (TreeIndex.Writer w = new TreeIndex.Writer(out, 4096)) {
      w.dir(TreePath.root(), 0755, java.time.Instant.EPOCH);
      w.symlink(TreePath.of(List.of("a\tb\\c\nd")), 0777, java.time.Instant.EPOCH, "x\ty");
    }
    List<TreeIndex.Entry> read = new ArrayList<>();
    TreeIndex.read(new ByteArrayInputStream(out.toByteArray()), read::add);
    assertEquals(List.of("a\tb\\c\nd"), read.get(1).path().names());
    assertEquals("x\ty", read.get(1).target());
    assertFalse(new String(out.toByteArray(), StandardCharsets.ISO_8859_1).isEmpty());
  }

  @Test
  void linesLongerThanTheReadersBufferAndNamesBeyondAsciiReadBackExactly() throws Exception {
    // 3,000 block digests make a line of 192,000 hex digits: it spans several of the reader's 64 KiB buffers.
    byte[] blocks = new byte[3000 * 32];
    new java.util.Random(7).nextBytes(blocks);
    byte[] whole = sha(blocks);
    // UTF-8 byte order: 'z' < 'é' (U+00E9) < '\uFB01' (a BMP char above the surrogates) < '𝄞' (U+1D11E, a
    // surrogate pair in Java, which UTF-16 order would put before U+FB01).
    List<String> names = List.of("z", "\u00e9", "\ufb01", "\ud834\udd1e");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (TreeIndex.Writer w = new TreeIndex.Writer(out, 4096)) {
      w.dir(TreePath.root(), 0755, java.time.Instant.EPOCH);
      w.file(TreePath.of(List.of("big")), 0644, java.time.Instant.EPOCH, 3000L * 4096, whole, blocks);
      for (String n : names) {
        w.dir(TreePath.of(List.of(n)), 0755, java.time.Instant.EPOCH);
        w.file(TreePath.of(List.of(n, "x")), 0600, java.time.Instant.ofEpochSecond(1, 5), 0, sha(new byte[0]), null);
      }
    }
    List<TreeIndex.Entry> read = new ArrayList<>();
    assertEquals(10, TreeIndex.read(new ByteArrayInputStream(out.toByteArray()), read::add));
    assertArrayEquals(blocks, read.get(1).blocks());
    assertArrayEquals(whole, read.get(1).sha256());
    for (int i = 0; i < names.size(); i++) {
      assertEquals(List.of(names.get(i)), read.get(2 + 2 * i).path().names());
      assertEquals(List.of(names.get(i), "x"), read.get(3 + 2 * i).path().names());
      assertEquals(java.time.Instant.ofEpochSecond(1, 5), read.get(3 + 2 * i).mtime());
    }

    String text = "lazydir-index 1\nblock 4096\nd\t0755\t0\t.\nd\t0755\t0\t\ud834\udd1e\nd\t0755\t0\t\ufb01\nend 3\n";
    var e = assertThrows(TreeIndex.IndexException.class, () -> TreeIndex.validate(gzip(text)));
    assertTrue(e.getMessage().contains("comes after"), e.getMessage());
    byte[] latin1 = "lazydir-index 1\nblock 4096\nd\t0755\t0\t.\nd\t0755\t0\t\u00e9\nend 2\n"
        .getBytes(StandardCharsets.ISO_8859_1);
    ByteArrayOutputStream gz = new ByteArrayOutputStream();
    try (GZIPOutputStream g = new GZIPOutputStream(gz)) {
      g.write(latin1);
    }
    var notUtf8 = assertThrows(TreeIndex.IndexException.class, () -> TreeIndex.validate(gz.toByteArray()));
    assertEquals("invalid index, line 4: not UTF-8", notUtf8.getMessage());
  }

  static byte[] gzip(String text) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
      gz.write(text.getBytes(StandardCharsets.UTF_8));
    }
    return out.toByteArray();
  }

  static byte[] sha(byte[] b) throws Exception {
    return MessageDigest.getInstance("SHA-256").digest(b);
  }
}
