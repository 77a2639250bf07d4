package dev.lazydir.tree;

import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Posix;
import dev.lazydir.internal.posix.Stat;
import dev.lazydir.internal.posix.Users;
import dev.lazydir.tree.EntryMeta.DirMeta;
import dev.lazydir.tree.EntryMeta.FileMeta;
import java.io.Closeable;
import java.io.IOException;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Optional;
import java.util.logging.Logger;

/**
 * A whole tree made out of sight, then shown at once: when a tree is made from nothing (a tree index applied to an
 * empty tree), its entries are made in one temporary directory of the root under their own names, with no
 * temporary name and rename each (a stub costs five calls instead of seven), and once every one is finished the
 * top-level entries are moved into the root. A crash meanwhile leaves that temporary directory, which
 * {@link StubTree#sweepTemporaries} removes, and a root not yet listed (or, during the moves, finished subtrees):
 * never a directory that says it is listed and lacks entries.
 *
 * <p>Nothing is followed and nothing outside the tree is touched: every call is an *at() call on a directory fd with
 * a validated name. Entries get the tree's owner and exact modes; the owner is given with fchown only when the
 * process is not already that owner. Methods may be called from several threads, each on its own directories.
 */
public final class Staging implements Closeable {
  private static final Logger LOG = Logger.getLogger(Staging.class.getName());
  private static final SecureRandom RANDOM = new SecureRandom();
  /** Names of staging directories (temporaries: never a remote name, skipped by walks, swept at the next start). */
  static final String PREFIX = LocalName.TEMP_PREFIX + "staging.";

  private final StubTree tree;
  private final Fd dir;
  private final String name;
  /** The tree's access, without the owner when entries are made with it anyway (no fchown then). */
  private final Access made;
  private boolean published;

  private Staging(StubTree tree, Fd dir, String name, Access made) {
    this.tree = tree;
    this.dir = dir;
    this.name = name;
    this.made = made;
  }

  /** Makes the staging directory in the tree's root. */
  public static Staging open(StubTree tree) throws IOException {
    String name = PREFIX + hex();
    Fd root = tree.root();
    root.mkdirAt(name, 0700);
    Fd dir = null;
    try {
      dir = root.openDirAt(name);
      // What is made inside gets this process's ids, never a group inherited from a setgid root: a chmod
      // clears that bit. The xattr makes it lazydir's, so a leftover is removed.
      dir.fchmod(0700);
      dir.setXattr(EntryMeta.XATTR, new DirMeta(0, null, null).encode());
      Access a = tree.access();
      boolean owner = (a.uid() == -1 || a.uid() == Users.euid()) && (a.gid() == -1 || a.gid() == Users.egid());
      return new Staging(tree, dir, name, owner ? new Access(-1, -1, a.allowOther(), a.fileMode()) : a);
    } catch (IOException | RuntimeException e) {
      if (dir != null) {
        dir.close();
      }
      removeLeftover(root, name);
      throw e;
    }
  }

  /** The staging directory: the root of the tree being made. */
  public Fd dir() {
    return dir;
  }

  /**
   * Makes a directory with the index's mode {@code entryMode} (plus the owner's rwx until it is finished, so that
   * entries can be made in it) and returns it open; {@link #finishDir} gives it its metadata.
   */
  public Fd makeDir(Fd parent, String name, int entryMode) throws IOException {
    LocalName.require(name);
    parent.mkdirAt(name, made.bits(true, entryMode) | 0700);
    Fd fd = parent.openDirAt(name);
    try {
      if (made.uid() != -1 || made.gid() != -1) {
        fd.fchown(made.uid(), made.gid());
      }
      return fd;
    } catch (IOException | RuntimeException e) {
      fd.close();
      throw e;
    }
  }

  /** A directory made by {@link #makeDir} holds all its entries: metadata, exact mode, then mtime. */
  public void finishDir(Fd dir, DirMeta meta, Instant mtime) throws IOException {
    dir.setXattr(EntryMeta.XATTR, meta.encode());
    int bits = made.bits(true, meta.mode());
    if (((bits | 0700) & ~Posix.UMASK) != bits) {
      dir.fchmod(bits); // the umask took bits, or the owner's rwx the build needed are not the index's
    }
    if (mtime != null) {
      dir.setMtime(mtime);
    }
  }

  /** Makes a file stub (size, metadata, mtime, the tree's new-stub hook) under its own name. */
  public void makeStub(Fd parent, String name, FileMeta meta, Instant mtime) throws IOException {
    LocalName.require(name);
    try (Fd fd = parent.openAt(name, Posix.O_WRONLY | Posix.O_CREAT | Posix.O_EXCL | Posix.O_NOFOLLOW,
        made.bits(false, meta.mode()))) {
      made.applyTo(fd, false, true, meta.mode());
      // The xattr first: a crash leaves an empty file without it (removed as holding nothing) or a stub of ours.
      fd.setXattr(EntryMeta.XATTR, meta.encode());
      if (meta.size() > 0) {
        fd.truncate(meta.size());
      }
      if (mtime != null) {
        fd.setMtime(mtime);
      }
      tree.newStubHook().beforePublish(fd, meta);
    }
  }

  /** Makes a symbolic link {@code name -> target} (the caller checked the target), owned by the tree's owner. */
  public void makeSymlink(Fd parent, String name, String target, Instant mtime) throws IOException {
    LocalName.require(name);
    parent.symlinkAt(target, name);
    if (made.uid() != -1 || made.gid() != -1) {
      parent.chownAtNoFollow(name, made.uid(), made.gid());
    }
    if (mtime != null) {
      parent.setMtimeAtNoFollow(name, mtime);
    }
  }

  /**
   * Moves every top-level entry into the root (which held only temporaries) and removes the staging directory;
   * returns how many entries were moved. The caller then finishes the root.
   */
  public int publish() throws IOException {
    int moved = 0;
    for (String entry : dir.list()) {
      dir.moveNoReplace(entry, tree.root(), entry);
      moved++;
    }
    dir.close();
    tree.root().unlinkAt(name, true);
    published = true;
    return moved;
  }

  /** Unless published, removes what was made (a failed build leaves nothing behind). */
  @Override
  public void close() {
    if (published) {
      return;
    }
    try {
      dir.close();
      removeLeftover(tree.root(), name);
    } catch (IOException e) {
      LOG.warning("could not remove " + name + " from " + tree.path() + ": " + e.getMessage()
          + "; the next start removes it");
    }
  }

  /** Whether {@code name} (a temporary of a tree's root) is a staging directory. */
  static boolean isStaging(String name) {
    return name.startsWith(PREFIX);
  }

  /**
   * Removes a staging directory a crash or a failed build left, with what is in it: lazydir's entries, links, and
   * what holds nothing (an empty directory, or a file with no data block: a crash between creating a stub and
   * giving it its xattr). Anything else is kept, with its directory; returns how many such entries were kept.
   */
  static int removeLeftover(Fd dir, String name) throws IOException {
    Optional<Stat> st = dir.statAt(name);
    if (st.isEmpty()) {
      return 0;
    }
    if (st.get().isSymlink()) {
      dir.unlinkAt(name, false); // never followed
      return 0;
    }
    if (st.get().isRegularFile()) {
      if (st.get().allocatedBytes() == 0 || ours(dir, name, st.get())) {
        dir.unlinkAt(name, false);
        return 0;
      }
      return 1;
    }
    if (!st.get().isDirectory()) {
      return 1;
    }
    int kept = 0;
    Fd sub = TreeWalk.open(dir, name, st.get());
    if (sub == null) {
      return 0;
    }
    try (sub) {
      if ((sub.stat().permissions() & 0700) != 0700 && StubTree.metaOf(sub).isPresent()) {
        sub.fchmod(0700); // one of lazydir's that a build had finished read-only
      }
      for (String child : sub.list()) {
        kept += removeLeftover(sub, child);
      }
    }
    if (kept == 0) {
      dir.unlinkAt(name, true);
    }
    return kept;
  }

  private static boolean ours(Fd dir, String name, Stat st) throws IOException {
    try (Fd fd = TreeWalk.open(dir, name, st)) {
      return fd != null && StubTree.metaOf(fd).isPresent();
    }
  }

  private static String hex() {
    byte[] b = new byte[6];
    RANDOM.nextBytes(b);
    return HexFormat.of().formatHex(b);
  }
}
