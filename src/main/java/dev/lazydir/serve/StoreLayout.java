package dev.lazydir.serve;

import dev.lazydir.index.IndexDigests;
import dev.lazydir.internal.posix.Errno;
import dev.lazydir.internal.posix.ErrnoException;
import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Posix;
import dev.lazydir.internal.posix.Stat;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;

/**
 * Where a served tree lives: {@code STORE/tree} (the stub tree, bind-mounted read-only at DIR) and
 * {@code STORE/run} (lock, daemon state, the tree index's digests). The default store of DIR is
 * {@code .NAME.lazydir} beside it, on the same filesystem; it is private (0700) because reading it directly
 * bypasses the daemon.
 *
 * <p>The store path is the user's and is followed like any path they give; inside it nothing is: {@code run}
 * is opened with O_NOFOLLOW and its files are reached by *at() calls with O_NOFOLLOW, so a symlink planted in
 * the store never makes lazydir write the file it points to. Files written whole (the state) are made under a
 * temporary name created exclusively and renamed over the old one, which replaces a planted link, never its
 * target; the lock file, opened in place, is refused if it is a link.
 *
 * <p>This class holds the store's everyday files (format, lock, state, digests); taking a store away, the one act
 * that destroys fetched data, is {@link StoreRemoval}'s, behind the three remove methods here.
 */
public record StoreLayout(Path store) {
  static final String STATE = "state";
  static final String STATE_TMP = "state.tmp";
  static final String LOCK = "lock";
  static final String DEMO_MARKER = "demo";
  /**
   * The store's format: how its tree, xattrs, segment maps and run files are laid out. Raised when a lazydir
   * writes a store an older one would misread; an older lazydir then refuses the store instead of damaging it.
   * Recorded in {@code run/format} ("1\n"); a store made before the record existed is format 1.
   */
  public static final int FORMAT = 1;
  static final String FORMAT_FILE = "format";

  public static StoreLayout defaultFor(Path dir) {
    Path abs = dir.toAbsolutePath().normalize();
    Path parent = abs.getParent() == null ? abs : abs.getParent();
    return new StoreLayout(parent.resolve("." + abs.getFileName() + ".lazydir"));
  }

  public Path tree() {
    return store.resolve("tree");
  }

  public Path run() {
    return store.resolve("run");
  }

  public Path stateFile() {
    return run().resolve(STATE);
  }

  /** Creates the store (0700) and its run directory; refuses a run or tree that is not a real directory. */
  public void create() throws IOException {
    Files.createDirectories(store);
    Files.setPosixFilePermissions(store, PosixFilePermissions.fromString("rwx------"));
    try (Fd s = openStore()) {
      try {
        s.mkdirAt("run", 0700);
      } catch (ErrnoException e) {
        if (e.errno() != Errno.EEXIST) {
          throw e;
        }
      }
      try (Fd run = s.openDirAt("run")) { // a link or a file where run belongs fails here, before anything uses it
        recordFormat(run);
      }
      Optional<Stat> tree = s.statAt("tree");
      if (tree.isPresent() && !tree.get().isDirectory()) {
        throw notOurs(tree(), tree.get(), "a directory");
      }
    } catch (ErrnoException e) {
      throw explained(e, run());
    }
  }

  /**
   * Refuses, reading only, a store a newer lazydir wrote in a format this one does not know: one sentence with
   * the cause and the fix. No store, or no record (a store older than the record), passes.
   */
  public void checkFormat() throws IOException {
    if (!Files.isDirectory(run(), LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    String text;
    try (Fd run = openRun()) {
      Optional<Stat> st = run.statAt(FORMAT_FILE);
      if (st.isEmpty()) {
        return;
      }
      if (!st.get().isRegularFile()) {
        throw notOurs(run().resolve(FORMAT_FILE), st.get(), "a file");
      }
      text = Files.readString(inside(run, FORMAT_FILE), StandardCharsets.US_ASCII).strip();
    }
    int format;
    try {
      format = Integer.parseInt(text);
    } catch (NumberFormatException e) {
      throw new IOException(run().resolve(FORMAT_FILE) + " does not hold a store format number (it holds '"
          + (text.length() > 20 ? text.substring(0, 20) + "..." : text) + "'); lazydir does not guess a store's"
          + " format: give serve another --store, or remove " + store + " to start afresh");
    }
    if (format > FORMAT) {
      throw new IOException("the store " + store + " was written by a newer lazydir (store format " + format
          + "; this lazydir reads format " + FORMAT + " and older): serve it with that newer"
          + " lazydir, or give this one another --store");
    }
  }

  /** Writes run/format when the store has no record yet (a new store, or one made before the record). */
  private static void recordFormat(Fd run) throws IOException {
    if (run.statAt(FORMAT_FILE).isPresent()) {
      return;
    }
    byte[] text = (FORMAT + "\n").getBytes(StandardCharsets.US_ASCII);
    try (Fd f = run.openAt(FORMAT_FILE, Posix.O_WRONLY | Posix.O_CREAT | Posix.O_EXCL | Posix.O_NOFOLLOW, 0644)) {
      f.pwriteFully(ByteBuffer.allocateDirect(text.length).put(text).flip(), 0);
    } catch (ErrnoException e) {
      if (e.errno() != Errno.EEXIST) {
        throw e;
      }
    }
  }

  /** Takes the store's lock for this process; fails if another daemon holds it. */
  public FileLock lock() throws IOException {
    FileChannel ch = openLockFile();
    FileLock lock;
    try {
      lock = ch.tryLock();
    } catch (OverlappingFileLockException e) {
      lock = null; // this JVM holds it already (a demo whose serve is still running)
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
    if (lock == null) {
      ch.close();
      throw new StoreInUseException("another lazydir serve (pid " + servingPid() + ") is serving " + store);
    }
    return lock;
  }

  /** The store's lock is held by a running serve (nothing is taken or changed by asking). */
  static final class StoreInUseException extends IOException {
    StoreInUseException(String message) {
      super(message);
    }
  }

  private String servingPid() {
    try {
      return readState().flatMap(s -> s.lines().filter(l -> l.startsWith("pid=")).findFirst())
          .map(l -> l.substring(4)).orElse("?");
    } catch (IOException e) {
      return "?";
    }
  }

  /** The lock file, opened in place without following a link (a JDK channel, for its fcntl lock). */
  private FileChannel openLockFile() throws IOException {
    try (Fd run = openRun()) {
      Optional<Stat> st = run.statAt(LOCK);
      if (st.isPresent() && !st.get().isRegularFile()) {
        throw notOurs(run().resolve(LOCK), st.get(), "a file");
      }
      // A JDK channel cannot open relative to a directory fd; /proc/self/fd/N names the directory run was
      // opened as, so only the last component is looked up, and NOFOLLOW_LINKS refuses a link there.
      return FileChannel.open(inside(run, LOCK), StandardOpenOption.CREATE, StandardOpenOption.WRITE,
          LinkOption.NOFOLLOW_LINKS);
    } catch (FileSystemException e) {
      throw new IOException(run().resolve(LOCK) + " cannot be opened (" + e.getReason() + "); lazydir keeps"
          + " the store's lock there: remove it if it is not a plain file", e);
    }
  }

  public Optional<String> readState() throws IOException {
    if (!Files.isDirectory(run(), LinkOption.NOFOLLOW_LINKS) && !Files.isSymbolicLink(run())) {
      return Optional.empty(); // no store here (status of a crawled tree): nothing to read
    }
    try (Fd run = openRun()) {
      Optional<Stat> st = run.statAt(STATE);
      if (st.isEmpty()) {
        return Optional.empty();
      }
      if (!st.get().isRegularFile()) {
        throw notOurs(stateFile(), st.get(), "a file");
      }
      try (SeekableByteChannel ch = Files.newByteChannel(inside(run, STATE), StandardOpenOption.READ,
          LinkOption.NOFOLLOW_LINKS)) {
        ByteBuffer buf = ByteBuffer.allocate((int) Math.min(ch.size(), 1 << 16));
        while (buf.hasRemaining() && ch.read(buf) > 0) {
          // a state file is a few hundred bytes
        }
        return Optional.of(new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8));
      }
    } catch (java.nio.file.NoSuchFileException gone) {
      return Optional.empty(); // removed between the stat and the open: the daemon stopped
    }
  }

  /**
   * Replaces the state file atomically so a reader never sees half of it. The temporary is created
   * exclusively after removing whatever had its name (a crash's leftover, or a planted link: the link is
   * removed, not followed), and renamed over the state file (a link there is replaced, not written through).
   * Callers serialise their writes (one daemon per store holds the lock).
   */
  public void writeState(String content) throws IOException {
    try (Fd run = openRun()) {
      unlinkIfPresent(run, STATE_TMP);
      byte[] bytes = content.getBytes(StandardCharsets.UTF_8);
      ByteBuffer buf = ByteBuffer.allocateDirect(bytes.length).put(bytes).flip();
      try (Fd tmp = run.openAt(STATE_TMP, Posix.O_WRONLY | Posix.O_CREAT | Posix.O_EXCL | Posix.O_NOFOLLOW, 0644)) {
        tmp.pwriteFully(buf, 0);
      }
      run.replaceAt(STATE_TMP, STATE);
    } catch (ErrnoException e) {
      throw explained(e, stateFile());
    }
  }

  /**
   * Validates a tree index whole and records the block digests of its files in {@code run/index.digests} (see
   * {@link IndexDigests#write}: a temporary created exclusively, synced, renamed into place; never through a link);
   * returns its entry count. A refused index leaves the recorded digests as they were.
   */
  public long writeDigests(byte[] treeIndexGz) throws IOException {
    try (Fd run = openRun()) {
      return IndexDigests.write(treeIndexGz, run);
    } catch (ErrnoException e) {
      throw explained(e, run().resolve(IndexDigests.FILE_NAME));
    }
  }

  /** The digests recorded by the last tree index applied to this store, if any (opened without following links). */
  public Optional<IndexDigests> openDigests() throws IOException {
    try (Fd run = openRun()) {
      return IndexDigests.open(run);
    }
  }

  /** Removes the state file (a daemon stopping); a link there is removed, never followed. */
  public void removeState() throws IOException {
    try (Fd run = openRun()) {
      unlinkIfPresent(run, STATE);
    }
  }

  /** Marks a store as the demo's own: the next demo on the same DIR may remove it, and no other store. */
  public void markAsDemo() throws IOException {
    try (Fd run = openRun();
        Fd marker = run.openAt(DEMO_MARKER, Posix.O_WRONLY | Posix.O_CREAT | Posix.O_NOFOLLOW, 0644)) {
      byte[] text = "made by lazydir demo, which removes it on its next run on the same DIR\n".getBytes(StandardCharsets.UTF_8);
      marker.pwriteFully(ByteBuffer.allocateDirect(text.length).put(text).flip(), 0);
    }
  }

  /** The pid of the serve holding the store's lock, if one does (the lock file is not created by asking). */
  public Optional<String> servingPidIfLocked() throws IOException {
    if (!Files.isDirectory(run(), LinkOption.NOFOLLOW_LINKS)) {
      return Optional.empty();
    }
    try (Fd run = openRun()) {
      if (!run.statAt(LOCK).map(Stat::isRegularFile).orElse(false)) {
        return Optional.empty();
      }
      try (FileChannel ch = FileChannel.open(inside(run, LOCK), StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
        FileLock probe = ch.tryLock();
        if (probe != null) {
          probe.release();
          return Optional.empty();
        }
      } catch (OverlappingFileLockException e) {
        // held by this JVM
      }
    }
    return Optional.of(servingPid());
  }

  /**
   * Removes a store the demo made, holding its lock meanwhile so that no serve starts on it. Refuses, changing
   * nothing, a store a running serve holds (the demo used to delete a live store) or one without the demo's
   * marker (someone's store with fetched data, which the demo must never remove).
   */
  public void removeDemoStore() throws IOException {
    new StoreRemoval(this).removeDemoStore();
  }

  /**
   * Removes a store and everything fetched in it (httpdirfs' --cache-clear), holding its lock meanwhile so that no
   * serve starts on it; refused, changing nothing, while a serve uses it, or if it does not look like a store.
   */
  public void removeStore() throws IOException {
    new StoreRemoval(this).removeStore();
  }

  /** Removes a store that a failed start has just made (the caller holds no mount on it). */
  void removeNew() throws IOException {
    new StoreRemoval(this).removeNew();
  }

  private static void unlinkIfPresent(Fd dir, String name) throws IOException {
    try {
      dir.unlinkAt(name, false);
    } catch (ErrnoException e) {
      if (e.errno() != Errno.ENOENT) {
        throw e;
      }
    }
  }

  Fd openStore() throws IOException {
    return Posix.open(store.toString(), Posix.O_RDONLY | Posix.O_DIRECTORY);
  }

  /** STORE/run, opened without following a link (the control socket is reached through it). */
  public Fd openRunDirectory() throws IOException {
    return openRun();
  }

  /** STORE/run, never through a link. */
  private Fd openRun() throws IOException {
    try (Fd s = openStore()) {
      return s.openDirAt("run");
    } catch (ErrnoException e) {
      throw explained(e, run());
    }
  }

  private static Path inside(Fd dir, String name) {
    return Path.of("/proc/self/fd/" + dir.intValue(), name);
  }

  /** One sentence for the errnos a planted entry gives; anything else is passed on as it is. */
  private static IOException explained(ErrnoException e, Path where) {
    if (e.errno() == Errno.ELOOP || e.errno() == Errno.ENOTDIR) {
      return new IOException(where + " is not a directory lazydir made (a symbolic link or a file);"
          + " lazydir does not follow links in its store: remove it", e);
    }
    return e;
  }

  private static IOException notOurs(Path where, Stat st, String want) {
    return new IOException(where + " is " + (st.isSymlink() ? "a symbolic link" : "not " + want) + ", which"
        + " lazydir never makes there and does not follow: remove it");
  }
}
