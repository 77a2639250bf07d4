package dev.lazydir.tree;

import dev.lazydir.internal.Failures;
import dev.lazydir.internal.posix.Errno;
import dev.lazydir.internal.posix.ErrnoException;
import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Posix;
import dev.lazydir.internal.posix.Stat;
import dev.lazydir.tree.EntryMeta.DirMeta;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;
import java.util.Optional;

/**
 * A depth-first walk of a lazydir tree through directory fds and *at() calls. No path is ever built, so a tree
 * deeper than PATH_MAX (4096 bytes from /) walks like any other; symlinks are never followed (O_NOFOLLOW). Only
 * lazydir's directories are entered; temporaries are not entries yet and are skipped, and so is whatever
 * vanishes or is swapped while the walk runs (a daemon may be at work). Holds one fd per level of depth; a walk on
 * several threads ({@link #walk(Fd, Visitor, int)}) also one per directory handed to another thread.
 */
public final class TreeWalk {
  private TreeWalk() {}

  /**
   * What the walk reports (each method does nothing unless overridden). A visitor that needs to know where an
   * entry is overrides the two methods that are told the directory's {@link TreePath} below the walk's start (the
   * walk knows it: nothing is read back from /proc); the others override the two without it.
   */
  public interface Visitor {
    /** A lazydir directory, open, before its entries (the root first). */
    default void directory(Fd dir, DirMeta meta) throws IOException {}

    /** A regular file in a lazydir directory, not opened: {@code st} describes the name itself (no symlink). */
    default void file(Fd parent, String name, Stat st) throws IOException {}

    /** As {@link #directory(Fd, DirMeta)}, with the directory's path below the start of the walk. */
    default void directory(Fd dir, TreePath path, DirMeta meta) throws IOException {
      directory(dir, meta);
    }

    /** As {@link #file(Fd, String, Stat)}, with the path of the directory holding the file. */
    default void file(Fd parent, TreePath parentPath, String name, Stat st) throws IOException {
      file(parent, name, st);
    }
  }

  private record Level(Fd dir, TreePath path, Iterator<String> names) {}

  /** A lazydir directory found by {@link #visit}, open, for the walk to report and enter. */
  private record Entered(Fd dir, DirMeta meta) {}

  /**
   * One entry of {@code dir}, for both walks: a regular file is reported; a lazydir directory is opened and
   * returned; temporaries, foreign directories and whatever vanished or was swapped meanwhile are skipped (null).
   */
  private static Entered visit(Fd dir, TreePath path, String name, Visitor visitor) throws IOException {
    Optional<Stat> st = name.startsWith(LocalName.TEMP_PREFIX) ? Optional.empty() : dir.statAt(name);
    if (st.isEmpty()) {
      return null;
    }
    if (st.get().isRegularFile()) {
      visitor.file(dir, path, name, st.get());
      return null;
    }
    if (!st.get().isDirectory()) {
      return null;
    }
    Fd sub = open(dir, name, st.get());
    if (sub == null) {
      return null;
    }
    if (!(StubTree.metaOf(sub).orElse(null) instanceof DirMeta meta)) {
      sub.close(); // foreign: never entered
      return null;
    }
    return new Entered(sub, meta);
  }

  /** Directories handed to other threads (each holds its fd until done) at most: beyond, a thread walks on itself. */
  static final int MAX_HANDED_OUT = 256;

  /**
   * The same walk on {@code threads} threads (the visitor must take calls from several at once): a directory is
   * handed to an idle thread when one is free, else walked by the thread that found it. Each directory is still
   * reported before its entries. The first failure ends the walk and is thrown once every thread has stopped.
   */
  public static void walk(Fd root, Visitor visitor, int threads) throws IOException {
    if (threads <= 1) {
      walk(root, visitor);
      return;
    }
    if (!(StubTree.metaOf(root).orElse(null) instanceof DirMeta rootMeta)) {
      return;
    }
    visitor.directory(root, TreePath.root(), rootMeta);
    new Parallel(visitor, threads).run(root);
  }

  private static final class Parallel {
    private final Visitor visitor;
    private final java.util.concurrent.ExecutorService pool;
    private final java.util.concurrent.Semaphore handedOut = new java.util.concurrent.Semaphore(MAX_HANDED_OUT);
    private final java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
    private int running; // guarded by this

    Parallel(Visitor visitor, int threads) {
      this.visitor = visitor;
      this.pool = java.util.concurrent.Executors.newFixedThreadPool(threads,
          dev.lazydir.internal.Threads.daemon("lazydir-walk"));
    }

    void run(Fd root) throws IOException {
      try {
        synchronized (this) {
          running++;
        }
        walkFrom(root, TreePath.root(), false);
        synchronized (this) {
          boolean interrupted = false;
          while (running > 0) {
            try {
              wait();
            } catch (InterruptedException e) {
              interrupted = true; // the threads hold directories open: they stop first
              failure.compareAndSet(null, new IOException("interrupted while walking the tree"));
            }
          }
          if (interrupted) {
            Thread.currentThread().interrupt();
          }
        }
      } finally {
        pool.shutdownNow();
      }
      Throwable t = failure.get();
      if (t != null) {
        throw Failures.asIOException(t);
      }
    }

    /** Walks below {@code start} (closed at the end if {@code owned}); signals its end. */
    private void walkFrom(Fd start, TreePath startPath, boolean owned) {
      Deque<Level> levels = new ArrayDeque<>();
      try {
        levels.push(new Level(start, startPath, start.list().iterator()));
        while (!levels.isEmpty() && failure.get() == null) {
          Level top = levels.peek();
          if (!top.names().hasNext()) {
            levels.pop();
            if (top.dir() != start) {
              top.dir().close();
            }
            continue;
          }
          String name = top.names().next();
          Entered entered = visit(top.dir(), top.path(), name, visitor);
          if (entered != null) {
            Fd sub = entered.dir();
            TreePath subPath = top.path().child(name);
            try {
              visitor.directory(sub, subPath, entered.meta());
            } catch (IOException | RuntimeException e) {
              sub.close();
              throw e;
            }
            if (handedOut.tryAcquire()) {
              synchronized (this) {
                running++;
              }
              try {
                pool.execute(() -> {
                  try {
                    walkFrom(sub, subPath, true);
                  } finally {
                    handedOut.release();
                  }
                });
              } catch (RuntimeException rejected) {
                handedOut.release();
                synchronized (this) {
                  running--;
                }
                sub.close();
                throw rejected;
              }
            } else {
              try {
                levels.push(new Level(sub, subPath, sub.list().iterator()));
              } catch (IOException | RuntimeException e) {
                sub.close();
                throw e;
              }
            }
          }
        }
      } catch (Throwable t) {
        failure.compareAndSet(null, t);
      } finally {
        for (Level l : levels) {
          if (l.dir() != start) {
            closeQuietly(l.dir());
          }
        }
        if (owned) {
          closeQuietly(start);
        }
        synchronized (this) {
          running--;
          notifyAll();
        }
      }
    }

    private static void closeQuietly(Fd fd) {
      try {
        fd.close();
      } catch (IOException e) {
        // a close of a read-only directory fd does not fail in a way that matters here
      }
    }
  }

  /** Walks the tree below {@code root} (which stays open); nothing happens if root is not lazydir's. */
  public static void walk(Fd root, Visitor visitor) throws IOException {
    if (!(StubTree.metaOf(root).orElse(null) instanceof DirMeta rootMeta)) {
      return;
    }
    visitor.directory(root, TreePath.root(), rootMeta);
    Deque<Level> levels = new ArrayDeque<>();
    levels.push(new Level(root, TreePath.root(), root.list().iterator()));
    try {
      while (!levels.isEmpty()) {
        Level top = levels.peek();
        if (!top.names().hasNext()) {
          levels.pop();
          if (top.dir() != root) {
            top.dir().close();
          }
          continue;
        }
        String name = top.names().next();
        Entered entered = visit(top.dir(), top.path(), name, visitor);
        if (entered != null) {
          TreePath subPath = top.path().child(name);
          levels.push(new Level(entered.dir(), subPath, entered.dir().list().iterator()));
          visitor.directory(entered.dir(), subPath, entered.meta());
        }
      }
    } finally {
      for (Level l : levels) {
        if (l.dir() != root) {
          l.dir().close();
        }
      }
    }
  }

  /** What one level of a lazydir directory holds, as {@link #entries} reports it. */
  public interface Entries {
    /** A regular file: {@code st} describes the name itself (never a symlink followed). */
    void file(String name, Stat st) throws IOException;

    /** A lazydir subdirectory, with its metadata. */
    void directory(String name, DirMeta meta) throws IOException;
  }

  /**
   * The entries of one directory of {@code tree} as they are on disk, for whoever handles a tree one level at a
   * time (a crawl's next level, a namespace crawl, a refresh): regular files by their stat, lazydir subdirectories
   * by their metadata (only directories are opened, so a level of many files costs one stat each); temporaries,
   * foreign entries and whatever vanishes meanwhile are skipped. The one subdirectory iterator of the code, as
   * {@link #walk(Fd, Visitor)} is the one walk of a whole tree.
   */
  public static void entries(StubTree tree, Fd dir, Entries entries) throws IOException {
    for (String name : dir.list()) {
      if (name.startsWith(LocalName.TEMP_PREFIX)) {
        continue; // an entry being made: not an entry yet
      }
      Stat st = dir.statAt(name).orElse(null);
      if (st == null) {
        continue;
      }
      if (st.isRegularFile()) {
        entries.file(name, st);
      } else if (st.isDirectory() && tree.inspect(dir, name).meta() instanceof DirMeta meta) {
        entries.directory(name, meta);
      }
    }
  }

  /**
   * Opens the entry {@code st} describes, read-only and without following a symlink or waiting on a fifo; null
   * if it vanished or was swapped for another inode since.
   */
  public static Fd open(Fd parent, String name, Stat st) throws IOException {
    int flags = Posix.O_RDONLY | Posix.O_NOFOLLOW | Posix.O_NONBLOCK | (st.isDirectory() ? Posix.O_DIRECTORY : 0);
    Fd fd;
    try {
      fd = parent.openAt(name, flags, 0);
    } catch (ErrnoException e) {
      if (e.errno() == Errno.ENOENT || e.errno() == Errno.ELOOP || e.errno() == Errno.ENOTDIR) {
        return null;
      }
      throw e;
    }
    Stat now = fd.stat();
    if (now.ino() != st.ino() || now.dev() != st.dev()) {
      fd.close();
      return null;
    }
    return fd;
  }
}
