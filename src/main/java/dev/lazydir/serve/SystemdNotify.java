package dev.lazydir.serve;

import dev.lazydir.internal.posix.UnixDatagram;
import java.io.IOException;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Logger;

/**
 * Talks to systemd when serve runs as a {@code Type=notify} service (NOTIFY_SOCKET set): READY=1 when the view
 * is live, STOPPING=1 when a stop begins, and FDSTORE=1 with the fanotify group, so that systemd holds a copy of
 * the group too and a daemon restarted after both it and its guard were killed takes the group back (from
 * LISTEN_FDS, see {@link GroupHandOver#fromServiceManager}) instead of its readers seeing holes as zeros. Outside
 * systemd this is absent and nothing is sent. A failed send is logged, never fatal: the service still runs.
 */
public final class SystemdNotify {
  private static final Logger LOG = Logger.getLogger(SystemdNotify.class.getName());
  /** FDNAME of the fanotify group in the service's descriptor store (and in LISTEN_FDNAMES after a restart). */
  public static final String GROUP_FD_NAME = "lazydir-group";

  private final String socket;

  private SystemdNotify(String socket) {
    this.socket = socket;
  }

  /** The notifier for this process's environment, or empty when no service manager asked to be told. */
  public static Optional<SystemdNotify> fromEnvironment(Map<String, String> env) {
    String s = env.get("NOTIFY_SOCKET");
    return s == null || s.isEmpty() ? Optional.empty() : Optional.of(new SystemdNotify(s));
  }

  /** The view is live: systemd moves the unit to "active". */
  public void ready(String status) {
    send("READY=1\nSTATUS=" + oneLine(status) + "\nMAINPID=" + ProcessHandle.current().pid() + "\n", -1);
  }

  /** A stop has begun (answering pending readers, unmounting). */
  public void stopping() {
    send("STOPPING=1\nSTATUS=stopping\n", -1);
  }

  /** Hands systemd a copy of fd to keep in the unit's descriptor store under the given name. */
  public void store(String name, int fd) {
    send("FDSTORE=1\nFDNAME=" + name + "\n", fd);
  }

  private void send(String message, int fd) {
    try {
      UnixDatagram.send(socket, message, fd);
    } catch (IOException e) {
      LOG.warning("could not notify systemd at " + socket + " (" + e.getMessage() + "): "
          + message.lines().findFirst().orElse(""));
    }
  }

  private static String oneLine(String s) {
    return s.replace('\n', ' ');
  }
}
