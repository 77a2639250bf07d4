package dev.lazydir.serve;

import dev.lazydir.fanotify.FanotifyGroup;
import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Posix;
import dev.lazydir.internal.posix.Users;
import dev.lazydir.tree.EntryMeta;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;

/**
 * What serve checks before it creates, locks or mounts anything: DIR can hold a view (a directory, empty, not
 * inside the store), the store is not in use by another serve, the process may use fanotify pre-content events
 * and mount (root with CAP_SYS_ADMIN), the kernel has them, and the store's filesystem supports them. Each failure
 * is one sentence naming the cause and the fix, and leaves the machine as it was.
 */
final class ServePreflight {
  /** Filesystems seen to support pre-content events on the kinds of kernel lazydir runs on. */
  static final Set<String> SUPPORTED = Set.of("ext4", "xfs", "btrfs");
  /** capability(7) number of CAP_SYS_ADMIN: fanotify pre-content groups, mounts. */
  static final int CAP_SYS_ADMIN = 21;

  private ServePreflight() {}

  static void check(Path dir, StoreLayout layout) throws IOException {
    checkDir(dir, layout);
    checkPrivilege(Users.euid(), effectiveCapabilities());
    try (FanotifyGroup probe = FanotifyGroups.open()) {
      // the kernel has pre-content events; FanotifyGroups says why when it has not
    }
    Path existing = layout.store().toAbsolutePath().normalize();
    while (!Files.exists(existing) && existing.getParent() != null) {
      existing = existing.getParent();
    }
    String type = Files.getFileStore(existing).type();
    if (!SUPPORTED.contains(type)) {
      throw new IOException("the store " + layout.store() + " would be on a " + type + " filesystem, which has no"
          + " fanotify pre-content events; put it on ext4, xfs or btrfs with --store PATH");
    }
    layout.checkFormat();
    Optional<String> pid = layout.servingPidIfLocked();
    if (pid.isPresent()) {
      throw new StoreLayout.StoreInUseException("the store " + layout.store() + " is in use by another lazydir serve"
          + " (pid " + pid.get() + "); stop it first (lazydir stop " + dir + ") or give this one another --store");
    }
  }

  /** DIR is missing (serve creates it) or an empty directory outside the store. */
  static void checkDir(Path dir, StoreLayout layout) throws IOException {
    if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
      throw new IOException(dir + " is not a directory: serve shows the view in an empty directory; give another"
          + " path (it is created if missing)");
    }
    Path real = dir.toRealPath();
    Path store = layout.store().toAbsolutePath().normalize();
    if (real.startsWith(store) || (Files.exists(store) && real.startsWith(store.toRealPath()))) {
      throw new IOException(dir + " is inside the store " + layout.store() + ": the view must be outside it; give"
          + " another DIR or another --store");
    }
    boolean empty;
    try (var entries = Files.list(real)) {
      empty = entries.findAny().isEmpty();
    }
    if (!empty) {
      boolean crawled;
      try (Fd fd = Posix.open(real.toString(), Posix.O_RDONLY | Posix.O_DIRECTORY)) {
        crawled = fd.getXattr(EntryMeta.ORIGIN_XATTR).isPresent();
      }
      throw new IOException(dir + " is not empty; serve needs an empty directory to show the view in"
          + (crawled ? ". It holds a tree made by `lazydir crawl`: to serve that tree, make it a store's tree:"
              + " mkdir S && mv " + dir + " S/tree && mkdir " + dir + " && lazydir serve --store S URL " + dir
              : ": give an empty or new directory (is another lazydir serve using it? lazydir status " + dir + ")"));
    }
  }

  /** Root with CAP_SYS_ADMIN; anything else is refused naming what is missing. */
  static void checkPrivilege(int euid, long capEff) throws IOException {
    if (euid != 0) {
      throw new IOException("lazydir serve needs root with CAP_SYS_ADMIN (for fanotify pre-content events and the"
          + " bind mount of the view): run it with sudo, or use lazydir crawl, which needs no privilege");
    }
    if ((capEff & (1L << CAP_SYS_ADMIN)) == 0) {
      throw new IOException("lazydir serve runs as root but without CAP_SYS_ADMIN (a container or a capability"
          + " bounding set took it away), which fanotify pre-content events and the bind mount of the view need:"
          + " give it that capability (docker run --cap-add SYS_ADMIN, or systemd AmbientCapabilities=CAP_SYS_ADMIN)");
    }
  }

  /** The CapEff mask of /proc/self/status (all bits set if it cannot be read: the probes after this one will say). */
  static long effectiveCapabilities() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"), StandardCharsets.UTF_8)) {
        if (line.startsWith("CapEff:")) {
          return Long.parseUnsignedLong(line.substring("CapEff:".length()).strip(), 16);
        }
      }
    } catch (IOException | NumberFormatException e) {
      // fall through
    }
    return -1L;
  }
}
