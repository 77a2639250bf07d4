package dev.lazydir.serve;

import dev.lazydir.internal.posix.Errno;
import dev.lazydir.internal.posix.ErrnoException;
import dev.lazydir.internal.posix.Fd;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;

/**
 * How commands ask a running serve to do something now ({@code lazydir refresh}, {@code evict}, {@code pin},
 * {@code unpin}): a Unix socket {@value #NAME}
 * in the store's run directory, which is the owner's alone (the store is 0700), so whoever may reach it may
 * read the store anyway. A client sends a command and its arguments, each ended by a NUL (names never hold
 * one), then shuts its side; the daemon answers with text lines, the last {@code ok} or {@code error MESSAGE}.
 * The connection ends with the daemon: a client never waits on a dead one. The socket is bound and reached
 * through {@code /proc/self/fd/N/control}, N the run directory opened without following links, so a long
 * store path does not hit the 108-byte limit of a socket address, and a link planted at run is never followed.
 */
public final class ControlSocket implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(ControlSocket.class.getName());
  public static final String NAME = "control";
  /** A request larger than this is refused (paths are bounded by PATH_MAX each; a few thousand of them). */
  static final int MAX_REQUEST_BYTES = 16 << 20;

  /** Runs one command; writes its answer's lines (without the final ok) to out. */
  @FunctionalInterface
  interface Command {
    void run(List<String> args, Answer out) throws Exception;
  }

  /** Lines back to the client as they come. */
  interface Answer {
    void line(String text) throws IOException;
  }

  private final ServerSocketChannel server;
  private final Map<String, Command> commands;
  private final Thread acceptor;
  private volatile boolean closed;

  private ControlSocket(ServerSocketChannel server, Map<String, Command> commands) {
    this.server = server;
    this.commands = commands;
    this.acceptor = new Thread(this::acceptLoop, "lazydir-control");
    acceptor.setDaemon(true);
  }

  /** Binds the socket in {@code run} (a stale one, from a daemon that died, is replaced) and starts answering. */
  static ControlSocket start(Fd run, Map<String, Command> commands) throws IOException {
    try {
      run.unlinkAt(NAME, false);
    } catch (ErrnoException e) {
      if (e.errno() != Errno.ENOENT) {
        throw e;
      }
    }
    ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    try {
      server.bind(address(run));
    } catch (IOException | RuntimeException e) {
      server.close();
      throw e;
    }
    ControlSocket c = new ControlSocket(server, Map.copyOf(commands));
    c.acceptor.start();
    return c;
  }

  /** The socket's address through an open run directory. */
  public static UnixDomainSocketAddress address(Fd run) {
    return UnixDomainSocketAddress.of("/proc/self/fd/" + run.intValue() + "/" + NAME);
  }

  /** No serve answers on the socket: none runs for this store (or it is stopping). */
  public static final class NotServedException extends IOException {
    NotServedException(IOException cause) {
      super(cause.getMessage(), cause);
    }
  }

  /**
   * Sends one command to the serve whose run directory is {@code run}, and returns the lines of its answer before
   * the final {@code ok}. An answer {@code error MESSAGE} is thrown as an IOException with that message.
   */
  public static List<String> ask(Fd run, String command, List<String> args) throws IOException {
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      try {
        ch.connect(address(run));
      } catch (IOException e) {
        throw new NotServedException(e);
      }
      OutputStream out = Channels.newOutputStream(ch);
      StringBuilder request = new StringBuilder(command).append('\0');
      args.forEach(a -> request.append(a).append('\0'));
      out.write(request.toString().getBytes(StandardCharsets.UTF_8));
      out.flush();
      ch.shutdownOutput();
      List<String> lines = new ArrayList<>();
      java.io.BufferedReader in = new java.io.BufferedReader(
          new java.io.InputStreamReader(Channels.newInputStream(ch), StandardCharsets.UTF_8));
      for (String line; (line = in.readLine()) != null; ) {
        if (line.equals("ok")) {
          return lines;
        }
        if (line.startsWith("error ")) {
          throw new IOException(line.substring("error ".length()));
        }
        lines.add(line);
      }
      throw new IOException("the serve stopped before it answered the " + command + " command");
    }
  }

  private void acceptLoop() {
    while (!closed) {
      try {
        SocketChannel client = server.accept();
        Thread t = new Thread(() -> serve(client), "lazydir-control-client");
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        if (!closed) {
          LOG.fine("control socket: " + e.getMessage());
        }
        return;
      }
    }
  }

  private void serve(SocketChannel client) {
    try (client; InputStream in = Channels.newInputStream(client); OutputStream out = Channels.newOutputStream(client)) {
      Answer answer = text -> {
        out.write((text.replace('\n', ' ') + "\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
      };
      List<String> fields;
      try {
        fields = read(in);
      } catch (IOException e) {
        answer.line("error " + e.getMessage());
        return;
      }
      Command command = fields.isEmpty() ? null : commands.get(fields.get(0));
      if (command == null) {
        answer.line("error this lazydir serve does not know the command " + (fields.isEmpty() ? "(none)" : fields.get(0))
            + "; restart it with the same lazydir as the command");
        return;
      }
      try {
        command.run(fields.subList(1, fields.size()), answer);
        answer.line("ok");
      } catch (IllegalArgumentException e) {
        answer.line("error " + e.getMessage());
      } catch (Exception e) {
        LOG.warning(fields.get(0) + ": " + e);
        answer.line("error " + (e.getMessage() == null ? e.toString() : e.getMessage()));
      }
    } catch (IOException e) {
      LOG.fine("control client: " + e.getMessage()); // the client went away
    }
  }

  /** The request's NUL-ended fields, read to the end of the client's side. */
  private static List<String> read(InputStream in) throws IOException {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    byte[] chunk = new byte[8192];
    for (int n; (n = in.read(chunk)) > 0; ) {
      if (buf.size() + n > MAX_REQUEST_BYTES) {
        throw new IOException("request larger than " + (MAX_REQUEST_BYTES >> 20) + " MiB refused");
      }
      buf.write(chunk, 0, n);
    }
    List<String> fields = new ArrayList<>();
    byte[] all = buf.toByteArray();
    int start = 0;
    for (int i = 0; i < all.length; i++) {
      if (all[i] == 0) {
        fields.add(new String(all, start, i - start, StandardCharsets.UTF_8));
        start = i + 1;
      }
    }
    return fields;
  }

  @Override
  public void close() {
    closed = true;
    try {
      server.close();
    } catch (IOException e) {
      // closing
    }
  }
}
