package dev.lazydir.serve;

import java.io.Closeable;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Logger;

/**
 * How {@code lazydir evict}, {@code pin} and {@code unpin} reach a running daemon: a Unix socket at
 * {@code STORE/run/control} (inside the 0700 store, so only root reaches it). One request per connection: a command
 * and a path in the tree as its names (never a path string the daemon would resolve), one answer line back. The
 * daemon does the work through its private clone, as for everything it writes.
 */
public final class ControlSocket implements Closeable {
  private static final Logger LOG = Logger.getLogger(ControlSocket.class.getName());
  static final String NAME = "control";

  private final ServerSocketChannel server;
  private final Path path;
  private final Thread thread;
  private final CacheRoom room;

  private ControlSocket(ServerSocketChannel server, Path path, CacheRoom room) {
    this.server = server;
    this.path = path;
    this.room = room;
    this.thread = new Thread(this::serve, "lazydir-control");
    thread.setDaemon(true);
  }

  static ControlSocket start(Path run, CacheRoom room) throws IOException {
    Path path = run.resolve(NAME);
    if (Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
      if (!Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
        Files.delete(path); // a previous daemon's socket (or a planted link, removed, never followed)
      } else {
        throw new IOException(path + " is not lazydir's control socket; remove it");
      }
    }
    ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(path));
    ControlSocket c = new ControlSocket(server, path, room);
    c.thread.start();
    return c;
  }

  private void serve() {
    while (server.isOpen()) {
      try (SocketChannel ch = server.accept()) {
        answer(ch);
      } catch (IOException e) {
        if (server.isOpen()) {
          LOG.fine("control: " + e.getMessage());
        }
      }
    }
  }

  private void answer(SocketChannel ch) throws IOException {
    DataInputStream in = new DataInputStream(Channels.newInputStream(ch));
    DataOutputStream out = new DataOutputStream(Channels.newOutputStream(ch));
    String command = in.readUTF();
    int n = in.readInt();
    if (n < 0 || n > 4096) {
      throw new IOException("bad request");
    }
    List<String> names = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      String name = in.readUTF();
      if (name.isEmpty() || name.equals(".") || name.equals("..") || name.indexOf('/') >= 0 || name.indexOf('\0') >= 0) {
        out.writeBoolean(false);
        out.writeUTF("not a path in the view: " + name);
        return;
      }
      names.add(name);
    }
    boolean ok = true;
    String reply;
    try {
      reply = switch (command) {
        case "evict" -> room.evictNow(names);
        case "pin" -> room.pinNow(names, true);
        case "unpin" -> room.pinNow(names, false);
        default -> throw new IOException("unknown command " + command);
      };
    } catch (IOException | RuntimeException e) {
      ok = false;
      reply = e.getMessage();
    }
    out.writeBoolean(ok);
    out.writeUTF(reply == null ? "" : reply);
    out.flush();
  }

  /** Sends one request to the daemon serving {@code run}'s store; the daemon's answer, or an IOException. */
  public static String request(Path run, String command, List<String> names) throws IOException {
    Path path = run.resolve(NAME);
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      ch.connect(UnixDomainSocketAddress.of(path));
      DataOutputStream out = new DataOutputStream(Channels.newOutputStream(ch));
      out.writeUTF(command);
      out.writeInt(names.size());
      for (String name : names) {
        out.writeUTF(name);
      }
      out.flush();
      DataInputStream in = new DataInputStream(Channels.newInputStream(ch));
      boolean ok = in.readBoolean();
      String reply = in.readUTF();
      if (!ok) {
        throw new IOException(reply);
      }
      return reply;
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
    try {
      Files.deleteIfExists(path);
    } catch (IOException e) {
      LOG.fine("control: " + e.getMessage());
    }
  }
}
