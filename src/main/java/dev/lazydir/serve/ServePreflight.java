package dev.lazydir.serve;

import dev.lazydir.fanotify.FanotifyGroup;
import dev.lazydir.internal.posix.Users;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Set;

/**
 * What serve checks before it creates, locks or mounts anything: DIR can hold a view, the process may use
 * fanotify pre-content events and mount, the kernel has them, and the store's filesystem supports them. Each failure
 * is one sentence naming the cause and the fix, and leaves the machine as it was.
 */
final class ServePreflight {
  /** Filesystems seen to support pre-content events on the kinds of kernel lazydir runs on. */
  static final Set<String> SUPPORTED = Set.of("ext4", "xfs", "btrfs");

  private ServePreflight() {}

  static void check(Path dir, StoreLayout layout) throws IOException {
    if (Files.exists(dir, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
      throw new IOException(dir + " is not a directory: serve shows the view in an empty directory; give another"
          + " path (it is created if missing)");
    }
    if (Users.euid() != 0) {
      throw new IOException("lazydir serve needs root (CAP_SYS_ADMIN, for fanotify pre-content events and the bind"
          + " mount of the view): run it with sudo, or use lazydir crawl, which needs no privilege");
    }
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
  }
}
