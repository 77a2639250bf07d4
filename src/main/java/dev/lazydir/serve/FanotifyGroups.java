package dev.lazydir.serve;

import dev.lazydir.fanotify.FanotifyGroup;
import java.io.IOException;

/** Opens the daemon's pre-content group, turning "not supported here" into a message that says why. */
final class FanotifyGroups {
  private FanotifyGroups() {}

  static FanotifyGroup open() throws IOException {
    try {
      return FanotifyGroup.open(FanotifyGroup.DEFAULT_INIT_FLAGS, FanotifyGroup.DEFAULT_EVENT_FILE_FLAGS);
    } catch (IOException e) {
      throw new IOException("cannot create a fanotify pre-content group: " + e.getMessage()
          + ". lazydir serve needs Linux 6.14 or later with fanotify pre-content events"
          + " (CONFIG_FANOTIFY_ACCESS_PERMISSIONS) and CAP_SYS_ADMIN (run as root)", e);
    }
  }
}
