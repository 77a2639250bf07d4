package dev.lazydir.serve;

import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Posix;
import dev.lazydir.internal.posix.Stat;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Logger;

/**
 * The view a killed service left mounted. When systemd ends the daemon and its guard together (the whole cgroup,
 * or the OOM killer), nobody detaches DIR; the group lives on in the unit's descriptor store, so every open of
 * the old view waits, and so would this start's own check that DIR is empty. A restart that is handed the group
 * back (LISTEN_FDS) therefore first detaches DIR, but only if DIR shows this very store's tree (same device and
 * inode as STORE/tree, found by stat, which raises no event): readers holding files keep them and are served by
 * the group this start takes over; new opens see DIR empty until the new view is mounted.
 */
final class StaleView {
  private static final Logger LOG = Logger.getLogger(StaleView.class.getName());
  private static final int UMOUNT_NOFOLLOW = 8;

  private StaleView() {}

  static void detachIfLeftBySystemdKill(Path dir, StoreLayout layout, Map<String, String> env) throws IOException {
    if (GroupHandOver.passedFd(env, ProcessHandle.current().pid(), SystemdNotify.GROUP_FD_NAME).isEmpty()) {
      return;
    }
    Path abs = dir.toAbsolutePath().normalize();
    if (abs.getParent() == null || abs.getFileName() == null) {
      return;
    }
    Optional<Stat> shown;
    Optional<Stat> tree;
    try (Fd parent = Posix.open(abs.getParent().toString(), Posix.O_PATH | Posix.O_DIRECTORY)) {
      shown = parent.statAt(abs.getFileName().toString());
    } catch (IOException e) {
      return; // no parent: no view either
    }
    Path t = layout.tree().toAbsolutePath().normalize();
    try (Fd parent = Posix.open(t.getParent().toString(), Posix.O_PATH | Posix.O_DIRECTORY)) {
      tree = parent.statAt(t.getFileName().toString());
    } catch (IOException e) {
      return;
    }
    if (shown.isPresent() && tree.isPresent() && shown.get().isDirectory()
        && shown.get().dev() == tree.get().dev() && shown.get().ino() == tree.get().ino()) {
      Posix.umount(abs.toString(), Posix.MNT_DETACH | UMOUNT_NOFOLLOW);
      LOG.warning(abs + " still showed the store's tree (the previous daemon and its guard were killed together);"
          + " detached it");
    }
  }
}
