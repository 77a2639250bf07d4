package dev.lazydir.serve;

import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Stat;
import dev.lazydir.tree.StubTree;
import dev.lazydir.tree.TreePath;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Which directory comes after another, in name order: a build goes through its modules so, and over a network the
 * small files of the next one are fetched while this one compiles. After the last directory of a parent comes the
 * first directory of the parent's next sibling (a build's next group of modules: g00/m09 -> g01/m10), one level up
 * at most. The subdirectories of the last few parents asked about are kept, so a walk through a parent reads it
 * once, not once per child; a parent with very many entries is remembered as having no subdirectories (not worth a
 * look ahead within it: the look-ahead goes on to the next sibling of that parent). What is kept may be older than the tree: it only chooses what to fetch ahead, and the fetch checks
 * the store itself.
 */
final class NextDirectories {
  /** Parents whose subdirectories are kept. */
  static final int PARENTS = 16;
  /** Entries of a parent beyond which it is not looked ahead in. */
  static final int MOST_ENTRIES = 4096;

  private final StubTree tree;
  private final Map<TreePath, List<String>> parents = new LinkedHashMap<>(PARENTS, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<TreePath, List<String>> eldest) {
      return size() > PARENTS;
    }
  };

  NextDirectories(StubTree tree) {
    this.tree = tree;
  }

  /**
   * The directory after {@code dir}: the next in its parent by name, else the first of the parent's next sibling
   * (or that sibling, if it has none); none for the root, the very last one or a crowded parent.
   */
  Optional<TreePath> after(TreePath dir) throws IOException {
    Optional<TreePath> sibling = siblingAfter(dir);
    if (sibling.isPresent() || dir.isRoot() || dir.parent().isRoot()) {
      return sibling;
    }
    Optional<TreePath> uncle = siblingAfter(dir.parent());
    if (uncle.isEmpty()) {
      return uncle;
    }
    List<String> first = subdirectories(uncle.get());
    return Optional.of(first.isEmpty() ? uncle.get() : uncle.get().child(first.get(0)));
  }

  /** The directory after {@code dir} in its parent, by name; none for the last one, the root or a crowded parent. */
  private Optional<TreePath> siblingAfter(TreePath dir) throws IOException {
    if (dir.isRoot()) {
      return Optional.empty();
    }
    TreePath parent = dir.parent();
    List<String> subdirectories = subdirectories(parent);
    int at = Collections.binarySearch(subdirectories, dir.name());
    int next = at >= 0 ? at + 1 : -at - 1;
    return next < subdirectories.size() ? Optional.of(parent.child(subdirectories.get(next))) : Optional.empty();
  }

  private List<String> subdirectories(TreePath parent) throws IOException {
    List<String> known;
    synchronized (parents) {
      known = parents.get(parent);
    }
    if (known == null) {
      known = subdirectoriesOf(parent);
      synchronized (parents) {
        parents.put(parent, known);
      }
    }
    return known;
  }

  private List<String> subdirectoriesOf(TreePath parent) throws IOException {
    List<String> found = new ArrayList<>();
    try (Fd fd = tree.openDir(parent)) {
      List<String> names = fd.list();
      if (names.size() > MOST_ENTRIES) {
        return List.of();
      }
      for (String name : names) {
        Stat st = fd.statAt(name).orElse(null);
        if (st != null && st.isDirectory()) {
          found.add(name);
        }
      }
    }
    found.sort(null);
    return List.copyOf(found);
  }
}
