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
 * Which directory comes after another in its parent, in name order: a build goes through its modules so, and over
 * a network the small files of the next one are fetched while this one compiles. The subdirectories of the last
 * few parents asked about are kept, so a walk through a parent reads it once, not once per child; a parent with
 * very many entries is remembered as having no next directory (not worth a look ahead). What is kept may be older
 * than the tree: it only chooses what to fetch ahead, and the fetch checks the store itself.
 */
final class NextDirectories {
  /** Parents whose subdirectories are kept. */
  static final int PARENTS = 16;
  /** Entries of a parent beyond which it is not looked ahead in. */
  static final int MOST_ENTRIES = 4096;

  private final StubTree tree;
  private final Map<String, List<String>> parents = new LinkedHashMap<>(PARENTS, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, List<String>> eldest) {
      return size() > PARENTS;
    }
  };

  NextDirectories(StubTree tree) {
    this.tree = tree;
  }

  /** The directory after {@code dir} in its parent, by name; none for the last one, the root or a crowded parent. */
  Optional<TreePath> after(TreePath dir) throws IOException {
    if (dir.isRoot()) {
      return Optional.empty();
    }
    TreePath parent = dir.parent();
    String key = String.join("/", parent.names());
    List<String> subdirectories;
    synchronized (parents) {
      subdirectories = parents.get(key);
    }
    if (subdirectories == null) {
      subdirectories = subdirectoriesOf(parent);
      synchronized (parents) {
        parents.put(key, subdirectories);
      }
    }
    int at = Collections.binarySearch(subdirectories, dir.name());
    int next = at >= 0 ? at + 1 : -at - 1;
    return next < subdirectories.size() ? Optional.of(parent.child(subdirectories.get(next))) : Optional.empty();
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
