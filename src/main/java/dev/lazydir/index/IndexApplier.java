package dev.lazydir.index;

import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Stat;
import dev.lazydir.tree.EntryMeta.DirMeta;
import dev.lazydir.tree.EntryMeta.FileMeta;
import dev.lazydir.tree.EntryMeta.TimePrecision;
import dev.lazydir.tree.LocalName;
import dev.lazydir.tree.StubTree;
import dev.lazydir.tree.TreePath;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.logging.Logger;

/**
 * Makes (or brings up to date) a {@link StubTree} from a {@link TreeIndex}: every directory, file stub and
 * symlink the index names, with its size, mtime and mode, every directory marked listed (and made from the index,
 * so it is never listed from an index page), and what lazydir made earlier that the index no longer names
 * removed. The index is validated whole first: a refused index changes nothing.
 *
 * <p>Everything goes through the tree's *at() calls, so nothing is made outside it. A symlink is made only if its
 * target stays inside the tree whatever the links on its way resolve to: relative, with every ".." leading (after
 * dropping "." and empty names) and no more of them than the link is deep; others are skipped with a warning.
 * (Each made link then resolves to a place inside the tree: the leading ".." climb real directories, the names
 * after them are directories or links of the same kind.) A file stub is kept when its size and mtime are the
 * index's, and reset to an empty stub otherwise. A symlink carries no user xattr, so a symlink at a path the
 * index names as a symlink counts as lazydir's: it is replaced when the target differs (never followed); one at
 * another path is left alone. Entries lazydir did not make are never modified, and what is below a foreign
 * directory is skipped.
 */
public final class IndexApplier {
  private static final Logger LOG = Logger.getLogger(IndexApplier.class.getName());
  /**
   * On the root: the index the tree was last made from, {@code applied SHA256 DIRECTORIES} (the digest of the index
   * file as fetched, the directories it made), or {@code applying} while an apply in place runs; a tree made whole
   * gets it when it is in place. "applying" left behind means an apply stopped halfway.
   */
  public static final String RECORD_XATTR = "user.lazydir.index";
  private static final String APPLYING = "applying";

  /**
   * What applying an index did; {@code fresh}: the tree held nothing and was made whole, so every entry in it is
   * one this apply made (with the tree's access, each new stub seen by the tree's new-stub hook).
   */
  public record Result(long directories, long files, long symlinks, long bytes, long created, long reset,
      long refined, long removed, long unchanged, long warnings, boolean fresh) {}

  private final StubTree tree;
  private final Instant now;
  private long directories;
  private long files;
  private long symlinks;
  private long bytes;
  private long created;
  private long reset;
  private long refined;
  private long removed;
  private long unchanged;
  private long warnings;

  /** A directory being filled: its fd (null: skipped, not lazydir's), the names the index gives it. */
  private record Frame(TreePath path, Fd fd, TreeIndex.Entry entry, Set<String> names) {}

  private final Deque<Frame> stack = new ArrayDeque<>();

  private IndexApplier(StubTree tree, Instant now) {
    this.tree = tree;
    this.now = now;
  }

  /** Validates {@code gz} whole, then applies it to {@code tree}. */
  public static Result apply(byte[] gz, StubTree tree, Instant now) throws IOException {
    TreeIndex.validate(gz);
    return applyValidated(gz, tree, now);
  }

  /**
   * Applies an index that {@link TreeIndex#validate} accepted: to a tree that holds nothing yet, by making it
   * whole out of sight ({@link FreshBuild}); else entry by entry, in place.
   */
  public static Result applyValidated(byte[] gz, StubTree tree, Instant now) throws IOException {
    Fd root = tree.root();
    writable(root);
    Result r;
    if (FreshBuild.empty(root)) {
      r = FreshBuild.build(gz, tree, now);
    } else {
      root.setXattr(RECORD_XATTR, APPLYING);
      r = applyInPlace(gz, tree, now);
    }
    root.setXattr(RECORD_XATTR, "applied " + sha256(gz) + " " + r.directories());
    return r;
  }

  /**
   * The number of directories of the tree at {@code root} if the last apply to it was of this very index and it
   * ended (nothing to do then: the tree is that index's), else empty.
   */
  public static java.util.OptionalLong upToDate(Fd root, byte[] gz) throws IOException {
    String[] r = root.getXattrString(RECORD_XATTR).orElse("").split(" ");
    if (r.length == 3 && r[0].equals("applied") && r[1].equals(sha256(gz))) {
      try {
        return java.util.OptionalLong.of(Long.parseLong(r[2]));
      } catch (NumberFormatException e) {
        return java.util.OptionalLong.empty();
      }
    }
    return java.util.OptionalLong.empty();
  }

  /** The number of directories of the index the tree was last made from whole, from its record; empty if none. */
  public static java.util.OptionalLong recordedDirectories(Fd root) throws IOException {
    String[] r = root.getXattrString(RECORD_XATTR).orElse("").split(" ");
    if (r.length == 3 && r[0].equals("applied")) {
      try {
        return java.util.OptionalLong.of(Long.parseLong(r[2]));
      } catch (NumberFormatException e) {
        return java.util.OptionalLong.empty();
      }
    }
    return java.util.OptionalLong.empty();
  }

  /** Whether an apply in place to the tree at {@code root} began and did not end (a crash or a failure). */
  public static boolean interrupted(Fd root) throws IOException {
    return root.getXattrString(RECORD_XATTR).orElse("").equals(APPLYING);
  }

  /** Forgets which index the tree was made from (before anything that may change it: its digests, an apply). */
  public static void forget(Fd root) throws IOException {
    if (!interrupted(root)) {
      root.removeXattr(RECORD_XATTR);
    }
  }

  private static String sha256(byte[] gz) {
    try {
      return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(gz));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Applies a validated index entry by entry, in place (also to an empty tree: tests compare it with FreshBuild). */
  static Result applyInPlace(byte[] gz, StubTree tree, Instant now) throws IOException {
    IndexApplier a = new IndexApplier(tree, now);
    try {
      TreeIndex.read(new ByteArrayInputStream(gz), a::entry);
      while (!a.stack.isEmpty()) {
        a.finish(a.stack.pop());
      }
    } finally {
      for (Frame f : a.stack) {
        if (f.fd() != null) {
          f.fd().close();
        }
      }
    }
    return new Result(a.directories, a.files, a.symlinks, a.bytes, a.created, a.reset, a.refined, a.removed,
        a.unchanged, a.warnings, false);
  }

  private void entry(TreeIndex.Entry e) throws IOException {
    if (e.path().isRoot()) {
      Fd root = tree.openDir(TreePath.root());
      stack.push(new Frame(TreePath.root(), root, e, new HashSet<>()));
      tree.sweepTemporaries(root);
      writable(root);
      directories++;
      return;
    }
    TreePath parentPath = e.path().parent();
    while (!stack.peek().path().equals(parentPath)) {
      finish(stack.pop());
    }
    Frame parent = stack.peek();
    String name = e.path().name();
    parent.names().add(name);
    if (parent.fd() == null) {
      if (e.type() == TreeIndex.Type.DIR) {
        stack.push(new Frame(e.path(), null, e, Set.of()));
      }
      return;
    }
    Fd dir = parent.fd();
    String where = e.path().printable();
    StubTree.Entry local = tree.inspect(dir, name);
    boolean link = local.exists() && local.stat().isSymlink();
    if (local.exists() && !local.ours() && !(link && e.type() == TreeIndex.Type.SYMLINK)) {
      warn(where + ": exists and was not made by lazydir; left as is");
      if (e.type() == TreeIndex.Type.DIR) {
        stack.push(new Frame(e.path(), null, e, Set.of()));
      }
      return;
    }
    switch (e.type()) {
      case DIR -> dir(dir, name, e, local);
      case FILE -> file(dir, name, e, local, where);
      case SYMLINK -> symlink(dir, name, e, local, where);
    }
  }

  private void dir(Fd dir, String name, TreeIndex.Entry e, StubTree.Entry local) throws IOException {
    directories++;
    if (!(local.meta() instanceof DirMeta)) {
      if (local.ours() && !replaceable(dir, name, e)) {
        stack.push(new Frame(e.path(), null, e, Set.of()));
        return;
      }
      tree.createDir(dir, name, new DirMeta(0, null, null, true, e.mode()), null);
      created++;
    } else {
      unchanged++;
    }
    Fd sub = dir.openDirAt(name);
    stack.push(new Frame(e.path(), sub, e, new HashSet<>()));
    tree.sweepTemporaries(sub);
    writable(sub);
  }

  private void file(Fd dir, String name, TreeIndex.Entry e, StubTree.Entry local, String where) throws IOException {
    files++;
    bytes += e.size();
    FileMeta meta = new FileMeta(e.size(), e.mtime(), TimePrecision.NANOS, null, null, false, e.mode());
    if (local.meta() instanceof FileMeta old) {
      if (old.size() == e.size() && old.mtimePrecision() == TimePrecision.NANOS && e.mtime().equals(old.mtime())) {
        if (old.mode() != e.mode() || !Objects.equals(old.etag(), null) || old.listedName() != null) {
          tree.refineStub(dir, name, meta, e.mtime());
          refined++;
        } else {
          unchanged++;
        }
      } else {
        LOG.info(where + ": changed in the index; reset to a stub");
        tree.resetStub(dir, name, meta, e.mtime());
        reset++;
      }
      return;
    }
    if (local.ours() && !replaceable(dir, name, e)) {
      return;
    }
    tree.createStub(dir, name, meta, e.mtime());
    created++;
  }

  private void symlink(Fd dir, String name, TreeIndex.Entry e, StubTree.Entry local, String where)
      throws IOException {
    Optional<String> escapes = escapes(e);
    if (escapes.isPresent()) {
      warn(where + " -> " + LocalName.printable(e.target()) + ": symlink not made (" + escapes.get() + ")");
      return;
    }
    symlinks++;
    if (local.exists() && local.stat().isSymlink()) {
      if (dir.readlinkAt(name).equals(e.target())) {
        unchanged++;
        return;
      }
      dir.unlinkAt(name, false); // a link at a path the index names as a link: replaced, never followed
      reset++;
    } else if (local.ours() && !replaceable(dir, name, e)) {
      return;
    }
    tree.createSymlink(dir, name, e.target(), e.mtime());
    created++;
  }

  /** Why a symlink's target could lead outside the tree, or empty if it cannot. */
  static Optional<String> escapes(TreeIndex.Entry e) {
    String target = e.target();
    if (target.startsWith("/")) {
      return Optional.of("absolute target");
    }
    int up = 0;
    boolean down = false;
    for (String part : target.split("/")) {
      if (part.isEmpty() || part.equals(".")) {
        continue;
      }
      if (part.equals("..")) {
        if (down) {
          return Optional.of("target goes up after going down; lazydir makes only links whose '..' come first");
        }
        up++;
      } else {
        down = true;
      }
    }
    int depth = e.path().names().size() - 1;
    if (up > depth) {
      return Optional.of("target leaves the tree");
    }
    return Optional.empty();
  }

  /** A lazydir entry of another kind where the index puts this one: removed, unless it holds foreign entries. */
  private boolean replaceable(Fd dir, String name, TreeIndex.Entry e) throws IOException {
    int kept = tree.removeOwned(dir, name);
    if (kept > 0) {
      warn(e.path().printable() + ": changed kind in the index but holds " + kept
          + " entries lazydir did not make; left as is");
      return false;
    }
    removed++;
    return true;
  }

  /** Lets this process make entries in a directory a previous index made read-only (its mode comes back at the end). */
  private static void writable(Fd dir) throws IOException {
    Stat st = dir.stat();
    if ((st.permissions() & 0700) != 0700) {
      dir.fchmod(st.permissions() | 0700);
    }
  }

  /** A directory is complete: what lazydir made that the index no longer names goes; then meta, mode, mtime. */
  private void finish(Frame f) throws IOException {
    if (f.fd() == null) {
      return;
    }
    try (Fd dir = f.fd()) {
      for (String local : dir.list()) {
        if (f.names().contains(local) || local.startsWith(LocalName.TEMP_PREFIX)) {
          continue;
        }
        StubTree.Entry entry = tree.inspect(dir, local);
        if (!entry.ours()) {
          continue; // foreign entries (and symlinks the index does not name) are the user's
        }
        String where = f.path().child(local).printable();
        int kept = tree.removeOwned(dir, local);
        if (kept > 0) {
          warn(where + ": gone from the index, but holds " + kept + " entries lazydir did not make; kept");
        } else {
          LOG.info(where + ": gone from the index; removed");
          removed++;
        }
      }
      DirMeta old = StubTree.metaOf(dir).orElse(null) instanceof DirMeta m ? m : new DirMeta(0, null, null);
      DirMeta meta = new DirMeta(Math.max(1, now.getEpochSecond()), null, f.path().isRoot() ? old.url() : null,
          true, f.entry().mode());
      tree.finishDir(dir, meta, f.entry().mtime());
    }
  }

  private void warn(String message) {
    warnings++;
    LOG.warning(message);
  }
}
