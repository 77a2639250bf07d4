package dev.lazydir.serve;

import dev.lazydir.index.IndexApplier;
import dev.lazydir.index.IndexDigests;
import dev.lazydir.index.IndexFetch;
import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Posix;
import dev.lazydir.origin.OriginClient;
import dev.lazydir.tree.Access;
import dev.lazydir.tree.EntryMeta.DirMeta;
import dev.lazydir.tree.StubTree;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Clock;
import java.util.logging.Logger;

/**
 * A start's tree made (or updated) from the origin's tree index when it publishes one: every directory is then
 * listed, so the namespace crawl asks nothing more. A refused index changes nothing and fails the start; the same
 * index as the one the tree was last made from (a restart: asked with its validators, or compared byte for byte)
 * changes nothing and is not applied again. Each stub made gets its content mark as it is made.
 */
final class TreeFromIndex {
  private static final Logger LOG = Logger.getLogger(TreeFromIndex.class.getName());

  private TreeFromIndex() {}

  /**
   * The tree as a tree index left it this start: {@code fresh}, made whole now (every entry with this start's
   * access, every stub marked as it was made); {@code directories}, how many it holds, all listed.
   */
  record Applied(boolean fresh, long directories) {}

  /**
   * Applies the index {@code ahead} answers (asked for ahead of this call on a first start) to the store's tree;
   * null when the origin publishes no index.
   */
  static Applied apply(OriginClient client, OriginHeadStart ahead, IndexFetch.Where index, StoreLayout layout,
      String origin, Access access, ContentMarks marks) throws IOException {
    IndexFetch.Fetched fetched = ahead.index(client, index, appliedIndex(layout));
    if (fetched.unchanged()) {
      // A 304: the tree, and the digests on disk, are those of this index: nothing to download, check or walk.
      try (Fd root = Posix.open(layout.tree().toString(), Posix.O_RDONLY | Posix.O_DIRECTORY)) {
        java.util.OptionalLong dirs = IndexApplier.recordedDirectories(root);
        if (dirs.isPresent()) {
          LOG.info("tree index: the one the tree was made from; nothing to change (the origin answered 304)");
          return new Applied(false, dirs.getAsLong());
        }
      }
      fetched = IndexFetch.fetch(client, index, null); // no record of what it made: asked for in full
    }
    java.util.Optional<byte[]> gz = fetched.body();
    if (gz.isEmpty()) {
      return null;
    }
    if (Files.isDirectory(layout.tree())) {
      try (Fd root = Posix.open(layout.tree().toString(), Posix.O_RDONLY | Posix.O_DIRECTORY)) {
        java.util.OptionalLong same = IndexApplier.upToDate(root, gz.get());
        if (same.isPresent() && digestsRecorded(layout)) {
          LOG.info("tree index: the one the tree was made from; nothing to change");
          root.setXattr(IndexFetch.APPLIED_XATTR, fetched.validators().encode());
          return new Applied(false, same.getAsLong());
        }
        root.removeXattr(IndexFetch.APPLIED_XATTR); // a crash while applying leaves no claim it was applied
        IndexApplier.forget(root); // the digests change first
      }
    }
    // Validated whole as its digests are written, before the tree changes: every stub the new index makes or
    // keeps has its digests on disk when it is filled.
    long entries = layout.writeDigests(gz.get());
    String withSlash = origin.endsWith("/") ? origin : origin + "/";
    String recorded = Files.isDirectory(layout.tree()) ? ServeStart.firstOrigin(layout.tree(), withSlash) : withSlash;
    try (StubTree t = StubTree.open(layout.tree(), recorded)) {
      t.access(access);
      t.onNewStub(marks::watch);
      IndexApplier.Result r = IndexApplier.applyValidated(gz.get(), t, Clock.systemUTC().instant());
      t.root().setXattr(IndexFetch.APPLIED_XATTR, fetched.validators().encode());
      LOG.info("tree index: " + entries + " entries; " + r.created() + " created, " + r.reset() + " reset, "
          + r.removed() + " removed" + (r.warnings() > 0 ? ", " + r.warnings() + " warnings" : ""));
      return new Applied(r.fresh(), r.directories());
    }
  }

  /** Whether the tree's last apply of a tree index stopped halfway (see IndexApplier#interrupted). */
  static boolean applyInterrupted(java.nio.file.Path tree) throws IOException {
    try (Fd fd = Posix.open(tree.toString(), Posix.O_RDONLY | Posix.O_DIRECTORY)) {
      return IndexApplier.interrupted(fd);
    }
  }

  private static boolean digestsRecorded(StoreLayout layout) throws IOException {
    java.util.Optional<IndexDigests> d = layout.openDigests();
    d.ifPresent(OpenStubs::closeQuietly);
    return d.isPresent();
  }

  /**
   * The tree index the store's tree was made from, if it was made from one and its digests are on disk (a tree
   * whose digests are gone is made again, which writes them).
   */
  private static IndexFetch.Applied appliedIndex(StoreLayout layout) throws IOException {
    if (!Files.isDirectory(layout.tree())) {
      return null;
    }
    try (Fd fd = Posix.open(layout.tree().toString(), Posix.O_RDONLY | Posix.O_DIRECTORY)) {
      if (!(StubTree.metaOf(fd).orElse(null) instanceof DirMeta m && m.fromIndex())) {
        return null;
      }
      java.util.Optional<IndexDigests> digests = layout.openDigests();
      if (digests.isEmpty()) {
        return null;
      }
      digests.get().close();
      return IndexFetch.Applied.of(fd).orElse(null);
    }
  }
}
