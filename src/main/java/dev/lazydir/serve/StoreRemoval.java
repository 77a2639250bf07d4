package dev.lazydir.serve;

import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Posix;
import dev.lazydir.internal.posix.Stat;
import dev.lazydir.serve.StoreLayout.StoreInUseException;
import java.io.IOException;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Taking a store away: the demo's own store, a store the user asks to clear, a store a failed start just made.
 * A class of its own because removal is the one thing lazydir does to a store that destroys fetched data, so its
 * refusals (a store in use, a store that is not lazydir's or not the demo's) and its walk (by *at() calls, links
 * removed and never followed, other filesystems left alone) are kept together and apart from the store's everyday
 * files and lock ({@link StoreLayout}).
 */
final class StoreRemoval {
  private final StoreLayout layout;
  private final Path store;

  StoreRemoval(StoreLayout layout) {
    this.layout = layout;
    this.store = layout.store();
  }

  /**
   * Removes a store the demo made, holding its lock meanwhile so that no serve starts on it. Refuses, changing
   * nothing, a store a running serve holds (the demo used to delete a live store) or one without the demo's
   * marker (someone's store with fetched data, which the demo must never remove).
   */
  void removeDemoStore() throws IOException {
    if (!Files.exists(store, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    Optional<String> pid = Files.isSymbolicLink(store) ? Optional.empty() : layout.servingPidIfLocked();
    if (pid.isPresent()) {
      throw new StoreInUseException(store + " is in use by lazydir serve (pid " + pid.get() + "), so the demo"
          + " does not remove it: stop that serve, or give the demo another DIR");
    }
    if (!isDemoStore()) {
      throw new IOException(store + " was not made by lazydir demo, so the demo does not remove it: give the"
          + " demo another DIR (or remove " + store + " yourself if nothing in it is needed)");
    }
    removeLocked();
  }

  /** Removes the store while holding its lock, as both removals did. */
  private void removeLocked() throws IOException {
    FileLock lock = layout.lock();
    try (Fd s = Posix.open(store.toString(), Posix.O_RDONLY | Posix.O_DIRECTORY | Posix.O_NOFOLLOW)) {
      removeContents(s, s.stat().dev());
    } finally {
      lock.release();
      lock.channel().close();
    }
    Files.delete(store);
  }

  private boolean isDemoStore() throws IOException {
    if (Files.isSymbolicLink(store) || !Files.isDirectory(store)) {
      return false;
    }
    try (Fd s = layout.openStore()) {
      Optional<Stat> run = s.statAt("run");
      if (run.isEmpty() || !run.get().isDirectory()) {
        return false;
      }
      try (Fd r = s.openDirAt("run")) {
        return r.statAt(StoreLayout.DEMO_MARKER).map(Stat::isRegularFile).orElse(false);
      }
    }
  }

  /**
   * Removes a store and everything fetched in it (httpdirfs' --cache-clear), holding its lock meanwhile so that no
   * serve starts on it; refused, changing nothing, while a serve uses it, or if it does not look like a store.
   */
  void removeStore() throws IOException {
    if (Files.isSymbolicLink(store) || !Files.isDirectory(store)) {
      throw new IOException(store + " is not a directory lazydir made (a symbolic link or a file); lazydir removes"
          + " only its own stores");
    }
    Optional<String> pid = layout.servingPidIfLocked();
    if (pid.isPresent()) {
      throw new StoreInUseException(store + " is in use by lazydir serve (pid " + pid.get() + "), so it is not"
          + " removed: stop that serve first (lazydir stop DIR)");
    }
    try (Fd s = layout.openStore()) {
      Optional<Stat> run = s.statAt("run");
      Optional<Stat> tree = s.statAt("tree");
      for (String name : s.list()) {
        if (!name.equals("run") && !name.equals("tree")) {
          throw new IOException(store + " holds " + name + ", which lazydir never puts in a store; it removes only"
              + " its own stores: check the path (or remove it yourself)");
        }
      }
      if (run.isEmpty() && tree.isEmpty()) {
        throw new IOException(store + " is not a lazydir store (no run or tree in it); nothing removed");
      }
    }
    removeLocked();
  }

  /**
   * Removes a store that a failed start has just made (the caller holds no mount on it): what is below it by
   * *at() calls, links removed and never followed, then the store itself.
   */
  void removeNew() throws IOException {
    if (Files.isSymbolicLink(store) || !Files.isDirectory(store)) {
      return;
    }
    try (Fd s = Posix.open(store.toString(), Posix.O_RDONLY | Posix.O_DIRECTORY | Posix.O_NOFOLLOW)) {
      removeContents(s, s.stat().dev());
    }
    Files.delete(store);
  }

  /** Removes everything below dir by *at() calls: links are removed, never followed; other filesystems are left. */
  private static void removeContents(Fd dir, long dev) throws IOException {
    for (String name : dir.list()) {
      Optional<Stat> st = dir.statAt(name);
      if (st.isEmpty()) {
        continue;
      }
      if (st.get().isDirectory()) {
        if (st.get().dev() != dev) {
          throw new IOException(dir.label() + "/" + name + " is on another filesystem (a mount in the store);"
              + " unmount it, then run the demo again");
        }
        try (Fd sub = dir.openDirAt(name)) {
          removeContents(sub, dev);
        }
      }
      dir.unlinkAt(name, st.get().isDirectory());
    }
  }
}
