package dev.lazydir.tree;

import dev.lazydir.tree.EntryMeta.FileMeta;
import java.util.Optional;

/**
 * Told of every change to a tree's entries once it is in place, so that the serving daemon can keep counts of its
 * files and directories (serve's TreeCounts) without walking the tree. A file is described by its metadata and
 * its recorded segment map (the xattr's bytes, absent when none), exactly what a walk would read.
 */
public interface TreeChanges {
  TreeChanges NONE = new TreeChanges() {};

  default void fileAdded(FileMeta meta) {}

  default void fileRemoved(FileMeta meta, Optional<byte[]> map) {}

  /** The same file's metadata or map changed (bytes recorded, completed). */
  default void fileChanged(FileMeta before, Optional<byte[]> mapBefore, FileMeta after, Optional<byte[]> mapAfter) {}

  default void dirAdded(boolean listed) {}

  default void dirRemoved(boolean listed) {}

  /** A directory's metadata went from unlisted to listed. */
  default void dirListed() {}
}
