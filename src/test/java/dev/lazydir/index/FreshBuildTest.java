package dev.lazydir.index;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.testing.IndexedTree;
import dev.lazydir.testing.LocalTree;
import dev.lazydir.tree.EntryMeta;
import dev.lazydir.tree.StubTree;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A tree made whole from an index (a first start: nothing there yet) is made several directories at a time, out of
 * sight, then moved into place. It must be exactly the tree the entry-by-entry apply makes, and neither a failure nor
 * a crash in the middle may leave a directory that says it is listed while it lacks entries.
 */
class FreshBuildTest {
  static final Instant NOW = Instant.parse("2026-11-29T12:00:00Z");
  static final String ORIGIN = "http://origin.invalid/pub/";
  @TempDir Path tmp;

  /** Path -> kind, mode, owner, ns mtime, size or target, and lazydir's xattr, of everything below root. */
  static Map<String, String> facts(Path root) throws Exception {
    Map<String, String> out = new TreeMap<>();
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : (Iterable<Path>) walk::iterator) {
        boolean link = Files.isSymbolicLink(p);
        boolean dir = Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS);
        Map<String, Object> a = Files.readAttributes(p, "unix:mode,uid,gid,lastModifiedTime,size", LinkOption.NOFOLLOW_LINKS);
        String what = link ? "l -> " + Files.readSymbolicLink(p) : dir ? "d" : "f " + a.get("size");
        String mtime = link ? "" : ((FileTime) a.get("lastModifiedTime")).toInstant().toString();
        out.put(root.relativize(p).toString(), what + " " + Integer.toOctalString((Integer) a.get("mode") & 07777) + " "
            + a.get("uid") + ":" + a.get("gid") + " " + mtime + " "
            + (link ? "" : LocalTree.xattr(p, EntryMeta.XATTR).orElse("(none)").replace('\n', ' ')));
      }
    }
    return out;
  }

  static byte[] index(IndexedTree t) throws IOException {
    return Files.readAllBytes(t.index);
  }

  @Test
  void aTreeMadeWholeOnSeveralThreadsIsExactlyTheTreeTheEntryByEntryApplyMakes() throws Exception {
    IndexedTree t = new IndexedTree(tmp.resolve("src"), 40, 150);
    byte[] gz = index(t);
    TreeIndex.validate(gz);
    Map<String, IndexApplier.Result> results = new TreeMap<>();
    for (String how : List.of("one-by-one", "threads-1", "threads-4")) {
      try (StubTree tree = StubTree.open(tmp.resolve(how), ORIGIN)) {
        results.put(how, how.equals("one-by-one") ? IndexApplier.applyInPlace(gz, tree, NOW)
            : FreshBuild.build(gz, tree, NOW, Integer.parseInt(how.substring(8))));
      }
    }
    Map<String, String> expected = facts(tmp.resolve("one-by-one"));
    assertTrue(expected.size() > 6000 + t.files.size(), "the whole index was made: " + expected.size());
    assertEquals(expected, facts(tmp.resolve("threads-1")));
    assertEquals(expected, facts(tmp.resolve("threads-4")));
    assertFalse(results.get("one-by-one").fresh());
    assertTrue(results.get("threads-4").fresh());
    for (IndexApplier.Result r : results.values()) {
      assertEquals(results.get("one-by-one").directories(), r.directories());
      assertEquals(results.get("one-by-one").files(), r.files());
      assertEquals(results.get("one-by-one").symlinks(), r.symlinks());
      assertEquals(results.get("one-by-one").created(), r.created());
      assertEquals(2, r.warnings(), "the absolute and the escaping link");
    }
  }

  @Test
  void anEmptyTreeIsMadeWholeAndTheStubsAreSeenByTheNewStubHookBeforeTheyAreInPlace() throws Exception {
    IndexedTree t = new IndexedTree(tmp.resolve("src"));
    List<String> seen = new ArrayList<>();
    try (StubTree tree = StubTree.open(tmp.resolve("m"), ORIGIN)) {
      tree.onNewStub((fd, meta) -> {
        synchronized (seen) {
          // Still in the staging directory: nobody can open it by its name in the tree yet.
          seen.add(Path.of(fd.label()).getFileName().toString());
          assertTrue(fd.label().contains(".lazydir.tmp.staging."), fd.label());
        }
      });
      IndexApplier.Result r = IndexApplier.applyValidated(index(t), tree, NOW);
      assertTrue(r.fresh());
    }
    List<String> names = t.files.keySet().stream().map(p -> Path.of(p).getFileName().toString()).sorted().toList();
    assertEquals(names, seen.stream().sorted().toList(), "every file stub, once");
    assertEquals(List.of(), Files.list(tmp.resolve("m")).filter(p -> p.getFileName().toString().startsWith(".lazydir.tmp"))
        .toList(), "nothing of the staging directory is left");
  }

  @Test
  void aBuildThatFailsHalfwayLeavesTheTreeAsItWasAndTheNextOneMakesItWhole() throws Exception {
    IndexedTree t = new IndexedTree(tmp.resolve("src"), 10, 100);
    byte[] gz = index(t);
    Path dir = tmp.resolve("m");
    AtomicInteger made = new AtomicInteger();
    try (StubTree tree = StubTree.open(dir, ORIGIN)) {
      tree.onNewStub((fd, meta) -> {
        if (made.incrementAndGet() == 300) {
          throw new IOException("disk on fire");
        }
      });
      IOException e = assertThrows(IOException.class, () -> IndexApplier.applyValidated(gz, tree, NOW));
      assertEquals("disk on fire", e.getMessage());
    }
    try (Stream<Path> left = Files.list(dir)) {
      assertEquals(List.of(), left.toList(), "nothing made is left, not even the staging directory");
    }
    assertFalse(rootMeta(dir).listed(), "the root does not say it is listed");

    try (StubTree tree = StubTree.open(dir, ORIGIN)) {
      assertTrue(IndexApplier.applyValidated(gz, tree, NOW).fresh());
    }
    try (StubTree tree = StubTree.open(tmp.resolve("expected"), ORIGIN)) {
      IndexApplier.applyInPlace(gz, tree, NOW);
    }
    assertEquals(facts(tmp.resolve("expected")), facts(dir));
  }

  static EntryMeta.DirMeta rootMeta(Path dir) throws IOException {
    return (EntryMeta.DirMeta) EntryMeta.decode(LocalTree.xattrBytes(dir, EntryMeta.XATTR).orElseThrow()).orElseThrow();
  }
}
