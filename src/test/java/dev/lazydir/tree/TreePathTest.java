package dev.lazydir.tree;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** A path below the root of a tree: built, compared and printed one way, and never able to leave the tree. */
class TreePathTest {
  @Test
  void theRootHasNoNamesAndPrintsAsDot() {
    assertTrue(TreePath.root().isRoot());
    assertEquals(List.of(), TreePath.root().names());
    assertEquals(".", TreePath.root().toString());
    assertEquals(TreePath.root(), TreePath.of(List.of()));
  }

  @Test
  void aChildPrintsAsTheNamesJoinedBySlashesAndItsParentIsWhereItCameFrom() {
    TreePath b = TreePath.root().child("a").child("b c");
    assertEquals("a/b c", b.toString());
    assertEquals(List.of("a", "b c"), b.names());
    assertEquals("b c", b.name());
    assertEquals(TreePath.root().child("a"), b.parent());
    assertEquals(TreePath.root(), b.parent().parent());
    assertFalse(b.isRoot());
  }

  @Test
  void theRootHasNeitherParentNorName() {
    assertThrows(IllegalStateException.class, () -> TreePath.root().parent());
    assertThrows(IllegalStateException.class, () -> TreePath.root().name());
  }

  @Test
  void pathsOfTheSameNamesAreEqualHoweverTheyWereMade() {
    TreePath made = TreePath.root().child("x").child("y");
    TreePath parsed = TreePath.parse("x/y");
    TreePath listed = TreePath.of(List.of("x", "y"));
    assertEquals(made, parsed);
    assertEquals(made, listed);
    assertEquals(made.hashCode(), parsed.hashCode());
    assertNotEquals(made, TreePath.parse("x"));
    assertNotEquals(TreePath.parse("x/y"), TreePath.parse("y/x"));
  }

  @Test
  void parseReadsWhatToStringWrote() {
    TreePath p = TreePath.root().child("dir").child("file.tar.gz");
    assertEquals(p, TreePath.parse(p.toString()));
  }

  @Test
  void parseRefusesAnythingThatIsNotNamesJoinedBySingleSlashes() {
    for (String bad : List.of("", ".", "..", "a/../b", "a/./b", "/a", "a/", "a//b", "a\0b")) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TreePath.parse(bad),
          "'" + bad.replace("\0", "\\0") + "' should be refused");
      assertFalse(e.getMessage().contains("\0"), "the message prints the path safely: " + e.getMessage());
    }
  }

  @Test
  void aNameThatIsNotOnePlainNameCannotBecomePartOfAPath() {
    assertThrows(IllegalArgumentException.class, () -> TreePath.root().child("a/b"));
    assertThrows(IllegalArgumentException.class, () -> TreePath.root().child(".."));
    assertThrows(IllegalArgumentException.class, () -> TreePath.root().child(""));
    assertThrows(IllegalArgumentException.class, () -> TreePath.of(List.of("ok", "..")));
    assertThrows(IllegalArgumentException.class, () -> TreePath.root().child(LocalName.TEMP_PREFIX + "x"));
  }

  @Test
  void aPathIsNotChangedByChangingTheListItWasMadeFrom() {
    List<String> names = new java.util.ArrayList<>(List.of("a", "b"));
    TreePath p = TreePath.of(names);
    names.add("c");
    assertEquals("a/b", p.toString());
    assertThrows(UnsupportedOperationException.class, () -> p.names().add("d"));
  }

  @Test
  void printableEscapesControlCharactersForLogs() {
    TreePath p = TreePath.root().child("bad\nname");
    assertEquals("bad\\x0aname", p.printable());
    assertEquals("bad\nname", p.toString());
  }
}
