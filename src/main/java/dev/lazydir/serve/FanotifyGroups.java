package dev.lazydir.serve;

import dev.lazydir.fanotify.FanotifyGroup;
import java.io.IOException;

/** Opens the daemon's pre-content group, turning "not supported here" into a message that says why. */
final class FanotifyGroups {
  private FanotifyGroups() {}

  static FanotifyGroup open() throws IOException {
    try {
      return FanotifyGroup.open(FanotifyGroup.DEFAULT_INIT_FLAGS, FanotifyGroup.DEFAULT_EVENT_FILE_FLAGS);
    } catch (dev.lazydir.internal.posix.ErrnoException e) {
      if (e.errno() == dev.lazydir.internal.posix.Errno.EPERM) {
        // root without CAP_SYS_ADMIN: a container started without --cap-add SYS_ADMIN, or a capability-dropped service
        throw new IOException("lazydir serve needs CAP_SYS_ADMIN for fanotify pre-content events, and this process"
            + " lacks it: run it as root with its capabilities (in a container: --cap-add SYS_ADMIN"
            + " --cap-add SYS_PTRACE)", e);
      }
      throw unsupported(e);
    } catch (IOException e) {
      throw unsupported(e);
    }
  }

  private static IOException unsupported(IOException e) {
    return new IOException("cannot create a fanotify pre-content group: " + e.getMessage()
        + ". lazydir serve needs Linux 6.14 or later with fanotify pre-content events"
        + " (CONFIG_FANOTIFY_ACCESS_PERMISSIONS) and CAP_SYS_ADMIN (run as root)", e);
  }
}
