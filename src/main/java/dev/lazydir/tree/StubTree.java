package dev.lazydir.tree;

import dev.lazydir.internal.posix.Errno;
import dev.lazydir.internal.posix.ErrnoException;
import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Posix;
import dev.lazydir.internal.posix.Stat;
import dev.lazydir.tree.EntryMeta.DirMeta;
import dev.lazydir.tree.EntryMeta.FileMeta;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.logging.Logger;

/**
 * A lazydir tree on disk, and the only code that changes it. Confinement is structural: every operation below
 * the root is an *at() call on a directory fd with a single validated name and O_NOFOLLOW, so a symlink planted
 * in the tree fails (ELOOP) instead of leading outside, and a name can never be "..". Entries without lazydir's
 * xattr are foreign: they are never modified or removed.
 *
 * <p>New entries are made complete under a temporary name (size, xattr, mtime) and then renamed into place,
 * so a crash never leaves an entry that looks like lazydir's but is not.
 */
public final class StubTree implements Closeable {
  private static final Logger LOG = Logger.getLogger(StubTree.class.getName());
  private static final SecureRandom RANDOM = new SecureRandom();

  private final Path path;
  private final Fd root;
  private final long device;
  private volatile Access access = Access.OWNER_ONLY;
  private volatile NewStubHook newStubHook = (stub, meta) -> {};
  private volatile TreeChanges changes = TreeChanges.NONE;

  /** Sees each new file stub while it is still nameless, before any other process can open it. */
  @FunctionalInterface
  public interface NewStubHook {
    void beforePublish(Fd stub, FileMeta meta) throws IOException;
  }

  private StubTree(Path path, Fd root) throws IOException {
    this.path = path;
    this.root = root;
    this.device = root.stat().dev();
  }

  /**
   * Opens (creating if needed) the tree at {@code dir} for {@code originUrl}. Refuses a directory that belongs
   * to another origin, or that holds files and is not a lazydir tree: lazydir never mixes its stubs into
   * someone's data.
   */
  public static StubTree open(Path dir, String originUrl) throws IOException {
    Files.createDirectories(dir);
    Fd fd = Posix.open(dir.toString(), Posix.O_RDONLY | Posix.O_DIRECTORY);
    try {
      Optional<String> recorded = fd.getXattrString(EntryMeta.ORIGIN_XATTR);
      if (recorded.isPresent() && !recorded.get().equals(originUrl)) {
        throw new TreeException(dir + " is a lazydir tree of " + recorded.get() + ", not of " + originUrl
            + "; use another directory or remove this one");
      }
      if (recorded.isEmpty()) {
        List<String> names = fd.list();
        if (!names.isEmpty()) {
          throw new TreeException(dir + " is not empty and is not a lazydir tree (" + names.size()
              + " entries); lazydir only fills an empty directory or one it made");
        }
        fd.setXattr(EntryMeta.XATTR, new DirMeta(0, null, null).encode());
        fd.setXattr(EntryMeta.ORIGIN_XATTR, originUrl);
      }
      return new StubTree(dir, fd);
    } catch (ErrnoException e) {
      fd.close();
      if (e.errno() == Errno.EOPNOTSUPP) {
        throw new TreeException(dir + ": the filesystem does not support user extended attributes,"
            + " which lazydir needs (use ext4, xfs or btrfs)");
      }
      throw e;
    } catch (IOException | RuntimeException e) {
      fd.close();
      throw e;
    }
  }

  public Path path() {
    return path;
  }

  /**
   * The same tree reached through another fd for its root (e.g. a private mount of it); it owns that fd and
   * starts with this tree's access.
   */
  public StubTree reachedThrough(Fd otherRoot) throws IOException {
    Stat other = otherRoot.stat();
    if (other.dev() != device || other.ino() != root.stat().ino()) {
      throw new TreeException(otherRoot.label() + " is not the root of " + path);
    }
    StubTree t = new StubTree(path, otherRoot);
    t.access = access;
    return t;
  }

  /**
   * Runs hook on every file stub this tree makes from now on, before it is renamed into place; if the hook
   * fails the stub is discarded and the creation fails.
   */
  public void onNewStub(NewStubHook hook) {
    this.newStubHook = hook;
  }

  /** Tells changes about every entry this tree adds, changes or removes from now on. */
  public void onChange(TreeChanges changes) {
    this.changes = changes;
  }

  public TreeChanges changes() {
    return changes;
  }

  /**
   * Owner and permission bits of every entry made from now on ({@link Access#OWNER_ONLY} by default), given to
   * the root at once: the top of a view must be right before anything appears below it.
   */
  public void access(Access access) throws IOException {
    this.access = access;
    access.applyTo(root, true, false, metaOf(root).map(EntryMeta::mode).orElse(-1));
  }

  /**
   * Gives every lazydir entry already in the tree this tree's access (a restart with other --uid, --gid or
   * --allow-other); foreign entries are not touched and entries already right are not even opened. Returns how
   * many entries were changed.
   */
  public int applyAccessToExisting() throws IOException {
    return applyAccess(root, access);
  }

  /** Threads of the walks over a whole tree at start (statx and marks: CPU in the kernel): one a core, at most 4. */
  public static final int WALK_THREADS = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));

  /** The same for the tree below an open root, which is left alone unless it is lazydir's. */
  public static int applyAccess(Fd root, Access access) throws IOException {
    java.util.concurrent.atomic.AtomicInteger changed = new java.util.concurrent.atomic.AtomicInteger();
    TreeWalk.walk(root, new TreeWalk.Visitor() {
      @Override
      public void directory(Fd dir, DirMeta meta) throws IOException {
        if (!access.holds(dir.stat(), meta.mode())) {
          access.applyTo(dir, true, false, meta.mode());
          changed.incrementAndGet();
        }
      }

      @Override
      public void file(Fd parent, String name, Stat st) throws IOException {
        if (access.holds(st)) {
          return;
        }
        try (Fd fd = TreeWalk.open(parent, name, st)) {
          Optional<EntryMeta> meta = fd == null ? Optional.empty() : metaOf(fd);
          if (meta.isPresent() && !access.holds(st, meta.get().mode())) {
            access.applyTo(fd, false, false, meta.get().mode());
            changed.incrementAndGet();
          }
        }
      }
    }, WALK_THREADS);
    return changed.get();
  }

  public Fd root() {
    return root;
  }

  /** The owner and permission bits entries are made with. */
  public Access access() {
    return access;
  }

  /** What sees each new file stub before it is published. */
  NewStubHook newStubHook() {
    return newStubHook;
  }

  /** Device of the tree: the daemon writes only to inodes on it. */
  public long device() {
    return device;
  }

  /** Sees each directory a walk from the root enters, below the root, while it is open. */
  @FunctionalInterface
  public interface Step {
    void entered(String name, Fd dir) throws IOException;
  }

  /** Opens a directory below the root, one name at a time, never following a symlink. */
  public Fd openDir(TreePath path) throws IOException {
    return openDir(path, (name, dir) -> {});
  }

  /**
   * Opens a directory below the root one name at a time, never following a symlink, showing {@code step} each
   * directory on the way (the last one included): one walk serves whoever needs what the ancestors record.
   */
  public Fd openDir(TreePath path, Step step) throws IOException {
    Fd current = root.dup();
    try {
      for (String name : path.names()) {
        Fd next = current.openDirAt(name);
        current.close();
        current = next;
        step.entered(name, current);
      }
      return current;
    } catch (IOException | RuntimeException e) {
      current.close();
      throw e;
    }
  }

  /** Reads lazydir's metadata of a directory's own inode (empty: not lazydir's). */
  public static Optional<EntryMeta> metaOf(Fd fd) throws IOException {
    Optional<byte[]> raw = fd.getXattr(EntryMeta.XATTR);
    return raw.isEmpty() ? Optional.empty() : EntryMeta.decode(raw.get());
  }

  /** What is at {@code dir/name}: nothing, a lazydir entry (with its stat), or something foreign. */
  public Entry inspect(Fd dir, String name) throws IOException {
    Optional<Stat> stat = dir.statAt(name);
    if (stat.isEmpty()) {
      return Entry.ABSENT;
    }
    Stat st = stat.get();
    if (!st.isRegularFile() && !st.isDirectory()) {
      return new Entry(st, null); // symlink, fifo, device: never opened, never ours
    }
    try (Fd fd = openEntry(dir, name, st.isDirectory())) {
      Stat now = fd.stat();
      if (now.ino() != st.ino() || now.dev() != st.dev()) {
        return new Entry(now, null); // swapped under us: treat as foreign
      }
      return new Entry(now, metaOf(fd).orElse(null));
    } catch (ErrnoException e) {
      if (e.errno() == Errno.ENOENT) {
        return Entry.ABSENT;
      }
      if (e.errno() == Errno.ELOOP || e.errno() == Errno.ENOTDIR) {
        return new Entry(st, null);
      }
      throw e;
    }
  }

  private static Fd openEntry(Fd dir, String name, boolean directory) throws IOException {
    int flags = Posix.O_RDONLY | Posix.O_NOFOLLOW | Posix.O_NONBLOCK | (directory ? Posix.O_DIRECTORY : 0);
    return dir.openAt(LocalName.require(name), flags, 0);
  }

  /** Creates a sparse file stub: right size, right mtime, metadata, no data and no blocks. */
  public void createStub(Fd dir, String name, FileMeta meta, Instant mtime) throws IOException {
    LocalName.require(name);
    moveIntoPlace(dir, newStub(dir, meta, mtime), name, false);
    changes.fileAdded(meta);
  }

  /**
   * Replaces a lazydir file with an empty stub because the origin's file changed. The new stub is a new inode
   * renamed over the old one: a reader that still holds the old file goes on reading its old bytes, never a
   * hole; whoever opens the name from now on gets the new version.
   */
  public void resetStub(Fd dir, String name, FileMeta meta, Instant mtime) throws IOException {
    FileMeta oldMeta;
    Optional<byte[]> oldMap;
    try (Fd old = dir.openAt(LocalName.require(name), Posix.O_RDONLY | Posix.O_NOFOLLOW | Posix.O_NONBLOCK, 0)) {
      requireOurs(old, name);
      if (!old.stat().isRegularFile()) {
        throw new TreeException(name + " is not a file; leaving it untouched");
      }
      oldMeta = metaOf(old).orElse(null) instanceof FileMeta m ? m : null;
      oldMap = old.getXattr(EntryMeta.MAP_XATTR);
    }
    String temp = newStub(dir, meta, mtime);
    try {
      dir.replaceAt(temp, name);
    } catch (IOException e) {
      discardTemp(dir, temp, false);
      throw e;
    }
    if (oldMeta != null) {
      changes.fileRemoved(oldMeta, oldMap);
    }
    changes.fileAdded(meta);
  }

  /** A complete stub under a temporary name, seen by the new-stub hook; returns that name. */
  private String newStub(Fd dir, FileMeta meta, Instant mtime) throws IOException {
    String temp = tempName();
    Access a = access;
    try (Fd fd = dir.openAt(temp, Posix.O_WRONLY | Posix.O_CREAT | Posix.O_EXCL | Posix.O_NOFOLLOW,
        a.bits(false, meta.mode()))) {
      a.applyTo(fd, false, true, meta.mode());
      fd.truncate(meta.size());
      fd.setXattr(EntryMeta.XATTR, meta.encode());
      if (mtime != null) {
        fd.setMtime(mtime);
      }
      newStubHook.beforePublish(fd, meta);
    } catch (IOException | RuntimeException e) {
      discardTemp(dir, temp, false);
      throw e;
    }
    return temp;
  }

  /** Records better metadata (a precise mtime, an ETag) for a file whose content is still valid. */
  public void refineStub(Fd dir, String name, FileMeta meta, Instant mtime) throws IOException {
    try (Fd fd = dir.openAt(LocalName.require(name), Posix.O_RDONLY | Posix.O_NOFOLLOW | Posix.O_NONBLOCK, 0)) {
      requireOurs(fd, name);
      // Same version, better metadata: bytes already complete stay complete.
      FileMeta old = metaOf(fd).orElse(null) instanceof FileMeta m ? m : null;
      boolean complete = old != null && old.complete();
      FileMeta refined = complete ? meta.asComplete() : meta;
      fd.setXattr(EntryMeta.XATTR, refined.encode());
      if (old != null) {
        Optional<byte[]> map = fd.getXattr(EntryMeta.MAP_XATTR);
        changes.fileChanged(old, map, refined, map);
      }
      if (meta.mode() >= 0) {
        access.applyTo(fd, false, false, meta.mode());
      }
      if (mtime != null) {
        fd.setMtime(mtime);
      }
    }
  }

  /**
   * Finishes a lazydir directory made from a tree index once everything in it is in place: its metadata, the
   * index's mode (through this tree's access) and its mtime, in that order (a chmod would not move the mtime,
   * but the entries made inside did).
   */
  public void finishDir(Fd dir, DirMeta meta, Instant mtime) throws IOException {
    requireOurs(dir, dir.label());
    boolean wasListed = metaOf(dir).orElse(null) instanceof DirMeta old && old.listed();
    dir.setXattr(EntryMeta.XATTR, meta.encode());
    if (!wasListed && meta.listed()) {
      changes.dirListed();
    }
    access.applyTo(dir, true, false, meta.mode());
    if (mtime != null) {
      dir.setMtime(mtime);
    }
  }

  /**
   * Makes a symbolic link {@code name -> target} (complete under a temporary name, then renamed into place),
   * owned by this tree's owner. A symlink can carry no user xattr: callers decide what a link is (the tree
   * index names each one with its target); lazydir never follows one.
   */
  public void createSymlink(Fd dir, String name, String target, Instant mtime) throws IOException {
    LocalName.require(name);
    String temp = tempName();
    dir.symlinkAt(target, temp);
    try {
      Access a = access;
      if (a.uid() != -1 || a.gid() != -1) {
        dir.chownAtNoFollow(temp, a.uid(), a.gid());
      }
      if (mtime != null) {
        dir.setMtimeAtNoFollow(temp, mtime);
      }
    } catch (IOException | RuntimeException e) {
      discardTemp(dir, temp, false);
      throw e;
    }
    moveIntoPlace(dir, temp, name, false);
  }

  /** Creates a lazydir directory (not yet listed unless {@code meta} says so). */
  public void createDir(Fd dir, String name, DirMeta meta, Instant mtime) throws IOException {
    LocalName.require(name);
    String temp = tempName();
    Access a = access;
    dir.mkdirAt(temp, a.dirBits());
    try (Fd fd = dir.openDirAt(temp)) {
      a.applyTo(fd, true, true);
      fd.setXattr(EntryMeta.XATTR, meta.encode());
      if (mtime != null) {
        fd.setMtime(mtime);
      }
    } catch (IOException | RuntimeException e) {
      discardTemp(dir, temp, true);
      throw e;
    }
    moveIntoPlace(dir, temp, name, true);
    changes.dirAdded(meta.listed());
  }

  /** As {@link #writeDirMeta}, telling this tree's {@link TreeChanges} when the directory becomes listed. */
  public void updateDirMeta(Fd dir, DirMeta meta, Instant mtime) throws IOException {
    boolean wasListed = metaOf(dir).orElse(null) instanceof DirMeta old && old.listed();
    writeDirMeta(dir, meta, mtime);
    if (!wasListed && meta.listed()) {
      changes.dirListed();
    }
  }

  /** Updates the metadata (and optionally the mtime) of an open lazydir directory. */
  public static void writeDirMeta(Fd dir, DirMeta meta, Instant mtime) throws IOException {
    requireOurs(dir, dir.label());
    dir.setXattr(EntryMeta.XATTR, meta.encode());
    if (mtime != null) {
      dir.setMtime(mtime);
    }
  }

  /**
   * Removes a lazydir entry and, for a directory, everything lazydir made inside it. Foreign entries inside
   * are kept (and so is their directory); returns the number of foreign entries that prevented removal.
   */
  public int removeOwned(Fd dir, String name) throws IOException {
    Entry entry = inspect(dir, name);
    if (!entry.ours()) {
      return entry.exists() ? 1 : 0;
    }
    if (entry.stat().isRegularFile()) {
      Optional<byte[]> map = Optional.empty();
      if (changes != TreeChanges.NONE) {
        try (Fd f = openEntry(dir, name, false)) {
          map = f.stat().ino() == entry.stat().ino() ? f.getXattr(EntryMeta.MAP_XATTR) : Optional.empty();
        }
      }
      dir.unlinkAt(name, false);
      if (entry.meta() instanceof FileMeta m) {
        changes.fileRemoved(m, map);
      }
      return 0;
    }
    int kept = 0;
    try (Fd sub = dir.openDirAt(name)) {
      for (String child : sub.list()) {
        kept += removeOwned(sub, child);
      }
    }
    if (kept == 0) {
      dir.unlinkAt(name, true);
      changes.dirRemoved(entry.meta() instanceof DirMeta d && d.listed());
    }
    return kept;
  }

  /**
   * Removes temporaries left by a crash during creation (they carry lazydir's xattr; anything else stays), and a
   * staging directory left by a crash while a whole tree was being made (see {@link Staging}).
   */
  public void sweepTemporaries(Fd dir) throws IOException {
    for (String name : dir.list()) {
      if (Staging.isStaging(name)) {
        int kept = Staging.removeLeftover(dir, name);
        if (kept > 0) {
          LOG.warning(dir.label() + "/" + name + ": left by an interrupted build, holds " + kept
              + " entries lazydir did not make; kept");
        }
      } else if (name.startsWith(LocalName.TEMP_PREFIX)) {
        Entry entry = inspectTemp(dir, name);
        if (entry.ours()) {
          removeOwnedTemp(dir, name, entry);
        }
      }
    }
  }

  private Entry inspectTemp(Fd dir, String name) throws IOException {
    Optional<Stat> st = dir.statAt(name);
    if (st.isPresent() && st.get().isSymlink()) {
      dir.unlinkAt(name, false); // a link being made from an index (the name is reserved; unlinking never follows)
      return Entry.ABSENT;
    }
    if (st.isEmpty() || (!st.get().isRegularFile() && !st.get().isDirectory())) {
      return Entry.ABSENT;
    }
    int flags = Posix.O_RDONLY | Posix.O_NOFOLLOW | Posix.O_NONBLOCK | (st.get().isDirectory() ? Posix.O_DIRECTORY : 0);
    try (Fd fd = dir.openAt(name, flags, 0)) {
      return new Entry(fd.stat(), metaOf(fd).orElse(null));
    }
  }

  private void removeOwnedTemp(Fd dir, String name, Entry entry) throws IOException {
    if (entry.stat().isDirectory()) {
      try (Fd sub = dir.openDirAt(name)) {
        if (!sub.list().isEmpty()) {
          return; // a temporary directory is renamed before anything goes in; not ours to empty
        }
      }
    }
    dir.unlinkAt(name, entry.stat().isDirectory());
  }

  private static void requireOurs(Fd fd, String what) throws IOException {
    if (metaOf(fd).isEmpty()) {
      throw new TreeException(what + " is not a lazydir entry; leaving it untouched");
    }
  }

  private static void moveIntoPlace(Fd dir, String temp, String name, boolean directory) throws IOException {
    try {
      dir.renameNoReplaceAt(temp, name);
    } catch (IOException e) {
      discardTemp(dir, temp, directory);
      throw e;
    }
  }

  private static void discardTemp(Fd dir, String temp, boolean directory) {
    try {
      dir.unlinkAt(temp, directory);
    } catch (IOException e) {
      LOG.warning("could not remove temporary " + dir.label() + "/" + temp + ": " + e.getMessage());
    }
  }

  private static String tempName() {
    byte[] b = new byte[6];
    RANDOM.nextBytes(b);
    return LocalName.TEMP_PREFIX + HexFormat.of().formatHex(b);
  }

  @Override
  public void close() throws IOException {
    root.close();
  }

  /** An inspected entry: absent ({@code stat == null}), lazydir's ({@code meta != null}) or foreign. */
  public record Entry(Stat stat, EntryMeta meta) {
    public static final Entry ABSENT = new Entry(null, null);

    public boolean exists() {
      return stat != null;
    }

    public boolean ours() {
      return meta != null;
    }
  }
}
