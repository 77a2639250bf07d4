package dev.lazydir.testing;

import java.io.BufferedReader;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import okhttp3.HttpUrl;

/**
 * An HTTP/1.1 origin at the socket level, for answers MockWebServer cannot give: a body that stops part-way and
 * waits for the test (a latch) before going on or never does. Each request, numbered from 0 in arrival order,
 * is answered by the test's script on the connection's output stream; connections are kept alive.
 */
public final class ScriptedOrigin implements Closeable {
  /** One request: its number, the number of its connection (from 0), method, path and headers (lower-case names). */
  public record Request(int index, int connection, String method, String path, Map<String, String> headers) {
    /** [from, to] of "Range: bytes=from-to", to clamped to size - 1; null without a Range header. */
    public long[] range(long size) {
      String r = headers.get("range");
      if (r == null) {
        return null;
      }
      String[] se = r.substring("bytes=".length()).split("-", 2);
      long to = se[1].isEmpty() ? size - 1 : Math.min(Long.parseLong(se[1]), size - 1);
      return new long[] {Long.parseLong(se[0]), to};
    }
  }

  /** Writes the answer to one request; may block (on a latch) part-way through it. */
  @FunctionalInterface
  public interface Script {
    void answer(Request request, OutputStream out) throws Exception;
  }

  private final ServerSocket server;
  private final Script script;
  private final AtomicInteger requests = new AtomicInteger();
  private final AtomicInteger connections = new AtomicInteger();
  private final List<Request> received = new CopyOnWriteArrayList<>();
  private final List<Socket> open = new CopyOnWriteArrayList<>();

  public ScriptedOrigin(Script script) throws IOException {
    this.script = script;
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread t = new Thread(this::accept, "scripted-origin");
    t.setDaemon(true);
    t.start();
  }

  public HttpUrl url(String path) {
    return HttpUrl.get("http://127.0.0.1:" + server.getLocalPort() + path);
  }

  /** The same server named by another host name: a client whose origin is this URL sees file URLs as elsewhere. */
  public HttpUrl otherNameUrl(String path) {
    return HttpUrl.get("http://localhost:" + server.getLocalPort() + path);
  }

  public List<Request> requests() {
    return received;
  }

  public int connectionCount() {
    return connections.get();
  }

  /** Closes connection n (numbered from 0) from the server's side, as a server does with a connection idle too long. */
  public void closeConnection(int n) throws IOException {
    open.get(n).close();
  }

  /**
   * Writes a 206 answer for [from, to] of data, headers first, then only the first {@code send} bytes of the
   * body (all of them if send is larger).
   */
  public static void partial(OutputStream out, byte[] data, long from, long to, String headers, long send)
      throws IOException {
    long length = to - from + 1;
    out.write(("HTTP/1.1 206 Partial Content\r\nContent-Range: bytes " + from + "-" + to + "/" + data.length
        + "\r\nContent-Length: " + length + "\r\n" + headers + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
    out.write(data, (int) from, (int) Math.min(length, send));
    out.flush();
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket s = server.accept();
        open.add(s);
        int connection = connections.getAndIncrement();
        Thread t = new Thread(() -> serve(s, connection), "scripted-origin-conn");
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        return;
      }
    }
  }

  private void serve(Socket s, int connection) {
    try (s) {
      BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.ISO_8859_1));
      OutputStream out = s.getOutputStream();
      for (String first; (first = in.readLine()) != null; ) {
        Map<String, String> headers = new ConcurrentHashMap<>();
        for (String line; (line = in.readLine()) != null && !line.isEmpty(); ) {
          int colon = line.indexOf(':');
          headers.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
        }
        String[] parts = first.split(" ");
        Request r = new Request(requests.getAndIncrement(), connection, parts[0], parts[1], headers);
        received.add(r);
        script.answer(r, out);
      }
    } catch (Exception e) {
      // the client hung up, or the test is over
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
    for (Socket s : open) {
      s.close();
    }
  }
}
