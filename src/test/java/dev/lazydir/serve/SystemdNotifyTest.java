package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.testing.FakeSystemd;
import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Posix;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The systemd notification protocol as serve speaks it, against a fake manager's datagram socket: readiness and
 * stopping arrive as systemd parses them, a descriptor handed over with FDSTORE arrives as that very file, and
 * a descriptor passed back is found by its name for this process only (sd_listen_fds rules).
 */
class SystemdNotifyTest {
  @TempDir Path tmp;

  @Test
  void readinessAndStoppingArriveAsNotificationsWithTheStatusOnOneLine() throws Exception {
    try (FakeSystemd systemd = new FakeSystemd(tmp.resolve("notify"), tmp.resolve("log"), List.of("true"))) {
      SystemdNotify n = SystemdNotify.fromEnvironment(Map.of("NOTIFY_SOCKET", systemd.socket.toString())).orElseThrow();
      n.ready("ready /srv/view (namespace\ncomplete)");
      String ready = systemd.await("MSG", 10);
      assertTrue(ready.startsWith("MSG READY=1|STATUS=ready /srv/view (namespace complete)|MAINPID="), ready);
      n.stopping();
      assertEquals("MSG STOPPING=1|STATUS=stopping", systemd.await("MSG", 10));
    }
  }

  @Test
  void aStoredDescriptorArrivesAsTheSameFileUnderItsName() throws Exception {
    Path file = tmp.resolve("held");
    Files.writeString(file, "x");
    try (FakeSystemd systemd = new FakeSystemd(tmp.resolve("notify"), tmp.resolve("log"), List.of("true"));
         Fd held = Posix.open(file.toString(), Posix.O_RDONLY)) {
      int fd = held.intValue();
      SystemdNotify.fromEnvironment(Map.of("NOTIFY_SOCKET", systemd.socket.toString())).orElseThrow()
          .store(SystemdNotify.GROUP_FD_NAME, fd);
      assertEquals("MSG FDSTORE=1|FDNAME=lazydir-group", systemd.await("MSG", 10));
      assertEquals("FD lazydir-group " + file.toRealPath(), systemd.await("FD", 10));
    }
  }

  @Test
  void anAbstractSocketNameIsReachedToo() throws Exception {
    String name = "@lazydir-test-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
    try (FakeSystemd systemd = new FakeSystemd(Path.of(name), tmp.resolve("log"), List.of("true"))) {
      SystemdNotify.fromEnvironment(Map.of("NOTIFY_SOCKET", name)).orElseThrow().stopping();
      assertEquals("MSG STOPPING=1|STATUS=stopping", systemd.await("MSG", 10));
    }
  }

  @Test
  void withoutNotifySocketNothingIsSent() {
    assertTrue(SystemdNotify.fromEnvironment(Map.of()).isEmpty());
    assertTrue(SystemdNotify.fromEnvironment(Map.of("NOTIFY_SOCKET", "")).isEmpty());
  }

  @Test
  void aPassedDescriptorIsFoundByNameOnlyWhenPassedToThisProcess() {
    Map<String, String> env = Map.of("LISTEN_PID", "42", "LISTEN_FDS", "2", "LISTEN_FDNAMES", "other:lazydir-group");
    assertEquals(OptionalInt.of(4), GroupHandOver.passedFd(env, 42, SystemdNotify.GROUP_FD_NAME));
    assertEquals(OptionalInt.empty(), GroupHandOver.passedFd(env, 43, SystemdNotify.GROUP_FD_NAME), "another pid's");
    assertEquals(OptionalInt.empty(), GroupHandOver.passedFd(Map.of("LISTEN_PID", "42", "LISTEN_FDS", "1",
        "LISTEN_FDNAMES", "other"), 42, SystemdNotify.GROUP_FD_NAME), "not named so");
    assertEquals(OptionalInt.empty(), GroupHandOver.passedFd(Map.of("LISTEN_PID", "x"), 42, "lazydir-group"));
  }
}
