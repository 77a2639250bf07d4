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
 * the group this start takes over; new opens see DIR empty until the new view is mounted. The private shield the
 * view sat on ({@link ViewMount}) goes too, but only the very mount the killed daemon recorded (STORE/run/shield,
 * a unique mount id, never reused while the machine runs): else every such restart would stack one more.
 */
final class StaleView {
  private static final Logger LOG = Logger.getLogger(StaleView.class.getName());
  private static final int UMOUNT_NOFOLLOW = 8;

  static final String SHIELD_RECORD = "shield";

  private StaleView() {}

  /** Records the daemon's shield mount, for a restart after the daemon and its guard were killed together. */
  static void recordShield(Path run, long mountId) throws IOException {
    RunRecord.write(run, SHIELD_RECORD, Long.toUnsignedString(mountId));
  }

  /** The shield is gone (a clean stop): nothing for a restart to detach. */
  static void forgetShield(Path run) {
    RunRecord.remove(run, SHIELD_RECORD);
  }

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
      detachRecordedShield(abs, layout.run());
    }
  }

  /** Detaches the shield under the stale view if DIR shows exactly the mount the killed daemon recorded. */
  private static void detachRecordedShield(Path abs, Path run) throws IOException {
    Optional<String> recorded;
    try {
      recorded = RunRecord.read(run, SHIELD_RECORD);
    } catch (IOException e) {
      LOG.warning("the shield record in " + run + " is unreadable (" + e.getMessage() + "); left " + abs
          + " as it is");
      return;
    }
    long id;
    try {
      id = Long.parseUnsignedLong(recorded.orElse(""));
    } catch (NumberFormatException e) {
      return; // no record (a daemon from before shields were recorded), or not one a daemon wrote
    }
    if (Posix.mountIdOf(abs.toString()) == id) {
      Posix.umount(abs.toString(), Posix.MNT_DETACH | UMOUNT_NOFOLLOW);
      forgetShield(run);
    }
  }
}
