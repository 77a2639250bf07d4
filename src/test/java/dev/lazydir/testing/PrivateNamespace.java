package dev.lazydir.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;

/**
 * Privileged tests mount loop images and mark mounts: they run only as root inside a mount namespace of their
 * own (surefire's .ci/test-jvm/bin/java runs the test JVM under `unshare --mount`), never in the host's.
 */
public final class PrivateNamespace {
  private PrivateNamespace() {}

  /** Fails the test (loudly, never skips) unless root in a private mount namespace. */
  public static void require(String what) throws IOException {
    if (!"0".equals(String.valueOf(Files.getAttribute(Path.of("/proc/self"), "unix:uid")))) {
      fail(what + " needs root (CAP_SYS_ADMIN for fanotify pre-content groups and loop mounts)");
    }
    Path own = Files.readSymbolicLink(Path.of("/proc/self/ns/mnt"));
    try {
      if (own.equals(Files.readSymbolicLink(Path.of("/proc/1/ns/mnt")))) {
        fail(what + " refused: this JVM shares pid 1's mount namespace; run through mvn (.ci/test-jvm)");
      }
    } catch (IOException unreadable) {
      // /proc/1/ns/mnt is not readable here: compare mount ids instead (a cloned namespace has new ones).
      Set<String> mine = mountIds(Path.of("/proc/self/mountinfo"));
      mine.retainAll(mountIds(Path.of("/proc/1/mountinfo")));
      if (!mine.isEmpty()) {
        fail(what + " refused: this JVM shares pid 1's mount namespace; run through mvn (.ci/test-jvm)");
      }
    }
    // The JVM that started us (Maven's, outside the unshare) must be in another namespace too.
    java.util.Optional<ProcessHandle> parent = ProcessHandle.current().parent();
    if (parent.isPresent()) {
      try {
        if (own.equals(Files.readSymbolicLink(Path.of("/proc/" + parent.get().pid() + "/ns/mnt")))) {
          fail(what + " refused: this JVM shares its parent's mount namespace; run through mvn (.ci/test-jvm)");
        }
      } catch (IOException gone) {
        // the parent exited or is unreadable: pid 1 was compared already
      }
    }
  }

  private static Set<String> mountIds(Path mountinfo) throws IOException {
    Set<String> ids = new HashSet<>();
    for (String line : Files.readAllLines(mountinfo)) {
      if (!line.isBlank()) {
        ids.add(line.substring(0, line.indexOf(' ')));
      }
    }
    return ids;
  }
}
