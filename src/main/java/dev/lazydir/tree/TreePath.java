package dev.lazydir.tree;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Where an entry sits below the root of a tree: the names from the root down, each one a valid
 * {@link LocalName}, so a path can never climb out of the tree or hide a "/" inside a name. It exists so that
 * the path is built, compared and printed in one way everywhere instead of joining names by hand; it is only
 * ever opened one name at a time ({@link StubTree#openDir(TreePath)}), never handed to the kernel whole.
 */
public final class TreePath {
  private static final TreePath ROOT = new TreePath(List.of());

  private final List<String> names;

  private TreePath(List<String> names) {
    this.names = names;
  }

  /** The root of the tree itself. */
  public static TreePath root() {
    return ROOT;
  }

  /** The path of these names from the root down (none: the root); refuses a name that is not one plain name. */
  public static TreePath of(List<String> names) {
    if (names.isEmpty()) {
      return ROOT;
    }
    List<String> copy = List.copyOf(names);
    copy.forEach(LocalName::require);
    return new TreePath(copy);
  }

  /**
   * Reads a path relative to the root as written by a user or by {@link #toString()} of an entry ("a/b/c"),
   * refusing with one sentence anything that is not names joined by single slashes: "", ".", "..", a leading,
   * trailing or doubled "/", NUL.
   */
  public static TreePath parse(String relative) {
    if (relative.isEmpty()) {
      throw new IllegalArgumentException("an empty path names no entry; give a path relative to the view's top");
    }
    List<String> names = new ArrayList<>();
    for (String name : relative.split("/", -1)) {
      Optional<String> problem = LocalName.problem(name);
      if (problem.isPresent()) {
        throw new IllegalArgumentException("refusing path '" + LocalName.printable(relative) + "': "
            + (name.isEmpty() ? "empty name (a leading, trailing or doubled '/')" : problem.get())
            + "; give names below the view's top joined by single '/'");
      }
      names.add(name);
    }
    return new TreePath(List.copyOf(names));
  }

  /** The entry {@code name} inside this directory. */
  public TreePath child(String name) {
    List<String> out = new ArrayList<>(names.size() + 1);
    out.addAll(names);
    out.add(LocalName.require(name));
    return new TreePath(List.copyOf(out));
  }

  /** The path {@code below} names relative to this one (a walk started here reports paths relative to it). */
  public TreePath resolve(TreePath below) {
    if (below.isRoot()) {
      return this;
    }
    if (isRoot()) {
      return below;
    }
    List<String> out = new ArrayList<>(names.size() + below.names.size());
    out.addAll(names);
    out.addAll(below.names);
    return new TreePath(List.copyOf(out));
  }

  /** The directory holding this entry; the root has none. */
  public TreePath parent() {
    if (isRoot()) {
      throw new IllegalStateException("the root of a tree has no parent");
    }
    return names.size() == 1 ? ROOT : new TreePath(names.subList(0, names.size() - 1));
  }

  /** The last name of this path; the root has none. */
  public String name() {
    if (isRoot()) {
      throw new IllegalStateException("the root of a tree has no name");
    }
    return names.get(names.size() - 1);
  }

  /** The names from the root down (unmodifiable; empty for the root). */
  public List<String> names() {
    return names;
  }

  public boolean isRoot() {
    return names.isEmpty();
  }

  /** The path relative to the root, names joined by "/"; "." for the root. */
  @Override
  public String toString() {
    return isRoot() ? "." : String.join("/", names);
  }

  /** As {@link #toString()}, with control characters escaped: for logs and messages. */
  public String printable() {
    return LocalName.printable(toString());
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TreePath p && p.names.equals(names);
  }

  @Override
  public int hashCode() {
    return names.hashCode();
  }
}
