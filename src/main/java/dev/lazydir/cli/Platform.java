package dev.lazydir.cli;

import dev.lazydir.fanotify.FanotifyGroup;
import dev.lazydir.internal.posix.ErrnoException;
import dev.lazydir.internal.posix.Errno;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What {@code lazydir --version} says about the machine: the JVM, the kernel, and whether this kernel has fanotify
 * pre-content events (found by opening a pre-content group, which needs CAP_SYS_ADMIN; without it the kernel's
 * version is the only hint). A bug report then carries everything needed to tell a kernel problem from lazydir's.
 */
final class Platform {
  private Platform() {}

  static List<String> describe(String first) {
    List<String> lines = new ArrayList<>();
    lines.add(first);
    lines.add("JVM:    " + System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version")
        + " (" + System.getProperty("java.vendor") + ")");
    String release = kernelRelease();
    lines.add("kernel: " + System.getProperty("os.name") + " " + release + " " + System.getProperty("os.arch"));
    lines.add("fanotify pre-content events: " + preContent(release));
    return lines;
  }

  static String kernelRelease() {
    try {
      return Files.readString(Path.of("/proc/sys/kernel/osrelease")).strip();
    } catch (IOException e) {
      return System.getProperty("os.version");
    }
  }

  /** Linux 6.14 brought pre-content events. */
  static boolean releaseHasPreContent(String release) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("^(\\d+)\\.(\\d+)").matcher(release);
    if (!m.find()) {
      return false;
    }
    int major = Integer.parseInt(m.group(1));
    int minor = Integer.parseInt(m.group(2));
    return major > 6 || (major == 6 && minor >= 14);
  }

  private static String preContent(String release) {
    try (FanotifyGroup probe = FanotifyGroup.open(FanotifyGroup.DEFAULT_INIT_FLAGS,
        FanotifyGroup.DEFAULT_EVENT_FILE_FLAGS)) {
      return "yes";
    } catch (ErrnoException e) {
      if (e.errno() == Errno.EPERM) {
        return (releaseHasPreContent(release) ? "probably (Linux " + release + " is 6.14 or later)"
            : "no (Linux " + release + " is older than 6.14)") + "; run as root to check for certain";
      }
      return "no (" + (e.errno() == Errno.EINVAL ? "the kernel refuses a pre-content group" : e.getMessage())
          + "); lazydir serve needs Linux 6.14 or later built with CONFIG_FANOTIFY_ACCESS_PERMISSIONS";
    } catch (IOException | RuntimeException | LinkageError e) {
      return "unknown (" + e.getMessage() + ")";
    }
  }
}
