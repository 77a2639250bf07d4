package dev.lazydir.origin;

import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicInteger;
import okhttp3.Headers;
import okhttp3.HttpUrl;

/**
 * The fast path for file bytes: a range GET over plain HTTP/1.1 whose body goes from the socket straight into
 * the caller's native buffer, in reads as large as the buffer. OkHttp reads a body 8 KiB at a time into heap
 * segments that then need one more copy; for the bulk of a large file that copy and those calls were a third
 * of the daemon's CPU, on machines where the daemon, the origin and the reader share two cores.
 *
 * <p>It handles the plain case only: http://, no proxy, no content coding, and an answer 206 with Content-Length
 * equal to the range asked for and a Content-Range starting where asked, or 200 with a Content-Length (a server
 * that ignores Range: the whole file, handed over from offset 0). For anything else (a redirect, an error
 * status, chunked bodies) it returns {@link #NOT_HANDLED} before handing over a single byte, and the caller
 * asks again through OkHttp, which knows redirects, retries, proxies and TLS. An answer of another version
 * than the one being filled (size, ETag, Last-Modified) is an {@link OriginException}, checked before any byte.
 *
 * <p>Connections are kept alive and reused (at most {@code maxIdle} idle ones). {@link #warm} opens some ahead of
 * need: over a network a new connection costs a round trip before the request can leave, so a first range request
 * on a warm one gets its first byte after one round trip instead of two. An idle connection the server has closed
 * meanwhile is seen (a read gives end of stream) and dropped before a request is written on it. Every wait is
 * bounded: for the answer by the timeout, for each next byte of the body by the stall timeout. The socket is
 * non-blocking and waits go through a per-thread selector.
 */
final class PlainRangeFetch implements AutoCloseable {
  /** Returned when the answer is not the plain case: nothing was handed over, ask through OkHttp. */
  static final Answer NOT_HANDLED = new Answer(false, null);
  private static final int MAX_HEADER_BYTES = 32 << 10;
  /** Headers this class writes itself: a user header with one of these names makes it step aside. */
  private static final Set<String> OWN_HEADERS = Set.of("host", "range", "if-range", "accept-encoding", "connection",
      "content-length", "transfer-encoding", "te", "upgrade", "expect");
  private static final ThreadLocal<Selector> SELECTORS = ThreadLocal.withInitial(() -> {
    try {
      return Selector.open();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  });

  /** What a handled exchange gave: the origin's Last-Modified, if it sent one. */
  record Answer(boolean handled, Instant lastModified) {}

  private final HttpUrl origin;
  /** The server this fast path talks to, as its answers' versions are checked. */
  private final Servers.Server server;
  private final String hostHeader;
  private final String fixedHeaders;
  private final long timeoutMillis;
  private final long stallMillis;
  private final int maxIdle;
  private final ConcurrentLinkedDeque<SocketChannel> idle = new ConcurrentLinkedDeque<>();
  private final AtomicInteger idleCount = new AtomicInteger();
  /** Connections being opened by {@link #warm}, not idle yet. */
  private final AtomicInteger warming = new AtomicInteger();
  private final java.util.concurrent.atomic.AtomicLong lastPrune = new java.util.concurrent.atomic.AtomicLong(System.nanoTime() - 2_000_000_000L);
  /** Unhandled answers in a row: an origin that redirects every file or ignores Range is left to OkHttp. */
  private final AtomicInteger misses = new AtomicInteger();
  static final int MAX_MISSES = 3;
  private volatile boolean closed;

  private PlainRangeFetch(Servers.Server server, String fixedHeaders, Duration timeout, Duration stallTimeout,
      int maxIdle) {
    this.server = server;
    this.origin = server.base;
    String host = origin.host().contains(":") ? "[" + origin.host() + "]" : origin.host();
    this.hostHeader = origin.port() == 80 ? host : host + ":" + origin.port();
    this.fixedHeaders = fixedHeaders;
    this.timeoutMillis = Math.max(1, timeout.toMillis());
    this.stallMillis = Math.max(1, stallTimeout.toMillis());
    this.maxIdle = maxIdle;
  }

  /**
   * The fast path for this origin, or null where it must not be used: https (TLS is OkHttp's), a proxy, a
   * user header it would have to override, or LAZYDIR_OKHTTP_ONLY=1 in the environment (an escape hatch).
   *
   * @param basicAuth the Authorization value for the origin, or null
   */
  static PlainRangeFetch forOrigin(OriginConfig config, HttpUrl origin, String basicAuth) {
    return forServer(config, new Servers.Server(origin, true), basicAuth);
  }

  /** As {@link #forOrigin}, for one of the tree's servers (the origin or a mirror). */
  static PlainRangeFetch forServer(OriginConfig config, Servers.Server server, String basicAuth) {
    HttpUrl origin = server.base;
    if (!origin.scheme().equals("http") || config.proxy != null || "1".equals(System.getenv("LAZYDIR_OKHTTP_ONLY"))) {
      return null;
    }
    StringBuilder h = new StringBuilder();
    h.append("User-Agent: ").append(config.userAgent).append("\r\n");
    for (String header : config.headers) {
      int colon = header.indexOf(':');
      String name = header.substring(0, colon).trim();
      String value = header.substring(colon + 1).trim();
      if (OWN_HEADERS.contains(name.toLowerCase(Locale.ROOT)) || (basicAuth != null && name.equalsIgnoreCase("authorization"))
          || !printable(name) || !printable(value)) {
        return null;
      }
      h.append(name).append(": ").append(value).append("\r\n");
    }
    if (basicAuth != null) {
      h.append("Authorization: ").append(basicAuth).append("\r\n");
    }
    return new PlainRangeFetch(server, h.toString(), config.timeout, config.stallTimeout, Math.max(2, config.maxConns));
  }

  private static boolean printable(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x20 && c != '\t' || c == 0x7f) {
        return false;
      }
    }
    return true;
  }

  /** Whether a file URL is reached on the origin's own scheme, host and port (credentials go nowhere else). */
  boolean serves(HttpUrl url) {
    return misses.get() < MAX_MISSES && url.scheme().equals(origin.scheme()) && url.host().equals(origin.host()) && url.port() == origin.port();
  }

  /**
   * Asks for bytes [from, to] of version and hands them to sink in order, each batch as buf's remaining bytes
   * (buf is reused across calls); a whole-file answer hands over the whole file. Returns {@link #NOT_HANDLED}
   * if the answer is not the plain case (nothing handed over). An IOException after some bytes were handed
   * over leaves the caller to resume after them.
   */
  Answer fetch(HttpUrl url, long from, long to, FileVersion version, RangeSink sink, ByteBuffer buf)
      throws IOException {
    try {
      return fetch(url, from, to, version, false, sink, new BodyHandOver.Handed(from), buf);
    } catch (BodyHandOver.SinkFailure e) {
      throw e.getCause();
    }
  }

  /**
   * As above; {@code fresh}: the request asks caches to go to the origin ({@code Cache-Control: no-cache}). The
   * bytes handed over are counted in {@code handed}; a failure of the sink is a {@link BodyHandOver.SinkFailure}.
   */
  Answer fetch(HttpUrl url, long from, long to, FileVersion version, boolean fresh, RangeSink sink,
      BodyHandOver.Handed handed, ByteBuffer buf) throws IOException {
    StringBuilder req = new StringBuilder(256);
    req.append("GET ").append(url.encodedPath());
    if (url.encodedQuery() != null) {
      req.append('?').append(url.encodedQuery());
    }
    req.append(" HTTP/1.1\r\nHost: ").append(hostHeader).append("\r\nRange: bytes=").append(from).append('-').append(to)
        .append("\r\nAccept-Encoding: identity\r\n");
    String ifRange = version.ifRange(server);
    if (ifRange != null) {
      req.append("If-Range: ").append(ifRange).append("\r\n");
    }
    if (fresh) {
      req.append(OriginClient.NO_CACHE_HEADERS);
    }
    req.append(fixedHeaders).append("\r\n");
    byte[] request = req.toString().getBytes(StandardCharsets.UTF_8);

    // A kept-alive connection the server has closed meanwhile fails before the first answer byte: try a
    // fresh one once, as any HTTP client does.
    SocketChannel ch = takeIdle();
    boolean reused = ch != null;
    if (!reused) {
      ch = connect();
    }
    Selector sel = SELECTORS.get();
    SelectionKey key = null;
    boolean keep = false;
    try {
      key = ch.register(sel, 0);
      Head head;
      try {
        write(ch, key, request);
        head = readHead(ch, key, buf);
      } catch (IOException e) {
        if (!reused || e instanceof SocketTimeoutException) {
          throw e;
        }
        key.cancel();
        sel.selectNow();
        close(ch);
        ch = connect();
        key = ch.register(sel, 0);
        write(ch, key, request);
        head = readHead(ch, key, buf);
      }
      if (head == null) {
        return miss();
      }
      AnswerHeaders answer = head.answer;
      version.check("GET " + Redact.url(url), answer, server);
      long length = answer.identityLength();
      if (answer.status() == 206 && (answer.rangeStart() != from || length != to - from + 1)) {
        return miss();
      }
      misses.set(0);
      readBody(ch, key, buf, answer.status() == 206 ? from : 0, length, sink, handed);
      keep = head.keepAlive;
      return new Answer(true, answer.lastModified());
    } finally {
      if (key != null) {
        key.cancel();
        sel.selectNow(); // the cancelled key leaves the selector before another thread takes the channel
      }
      if (keep && !closed && idleCount.incrementAndGet() <= maxIdle) {
        idle.addFirst(ch);
      } else {
        if (keep) {
          idleCount.decrementAndGet();
        }
        close(ch);
      }
    }
  }

  private Answer miss() {
    if (misses.incrementAndGet() == MAX_MISSES) {
      java.util.logging.Logger.getLogger(PlainRangeFetch.class.getName()).fine(
          "the origin's answers to range requests are not plain 206s; all fetches go through OkHttp");
    }
    return NOT_HANDLED;
  }

  /** The most recently used idle connection that is still open, or null. */
  private SocketChannel takeIdle() {
    for (SocketChannel ch; (ch = idle.pollFirst()) != null; ) {
      idleCount.decrementAndGet();
      if (open(ch)) {
        return ch;
      }
      close(ch);
    }
    return null;
  }

  /**
   * Whether an idle connection can carry a request: nothing to read on it (a server that closed it gives end of
   * stream, a reset an error; bytes nobody asked for make it unusable too).
   */
  private static boolean open(SocketChannel ch) {
    try {
      return ch.isOpen() && ch.read(ByteBuffer.allocate(1)) == 0;
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * Opens connections in the background until {@code n} are idle (at most the idle bound), each on its own
   * thread so that they cost one round trip together; idle ones the server has closed are dropped first (at most
   * once a second). Returns at once; a failure is only logged (the request that needs a connection opens its own
   * and reports the error).
   */
  void warm(int n) {
    long now = System.nanoTime();
    long last = lastPrune.get();
    if (now - last > 1_000_000_000L && lastPrune.compareAndSet(last, now)) {
      // Checked out of the pool, so no request can be on a connection while it is read from here.
      List<SocketChannel> kept = new ArrayList<>();
      for (SocketChannel ch; kept.size() + 1 <= maxIdle && (ch = takeIdle()) != null; ) {
        kept.add(ch);
      }
      for (SocketChannel ch : kept) {
        if (!closed && idleCount.incrementAndGet() <= maxIdle) {
          idle.addLast(ch);
        } else {
          idleCount.decrementAndGet();
          close(ch);
        }
      }
    }
    int want = Math.min(n, maxIdle) - idleCount.get() - warming.get();
    for (int i = 0; i < want && !closed; i++) {
      warming.incrementAndGet();
      Thread t = new Thread(() -> {
        try {
          SocketChannel ch = connect();
          if (!closed && idleCount.incrementAndGet() <= maxIdle) {
            idle.addLast(ch);
            if (closed && idle.remove(ch)) { // closed meanwhile: close() may have missed it
              close(ch);
            }
          } else {
            idleCount.decrementAndGet();
            close(ch);
          }
        } catch (IOException e) {
          java.util.logging.Logger.getLogger(PlainRangeFetch.class.getName()).fine(
              "opening a connection ahead of need: " + e.getMessage());
        } finally {
          warming.decrementAndGet();
        }
      }, "lazydir-connect-ahead");
      t.setDaemon(true);
      t.start();
    }
  }

  /** Idle connections (for tests). */
  int idleConnections() {
    return idleCount.get();
  }

  private SocketChannel connect() throws IOException {
    SocketChannel ch = SocketChannel.open();
    try {
      ch.socket().setTcpNoDelay(true);
      ch.socket().connect(new InetSocketAddress(origin.host(), origin.port()), (int) Math.min(Integer.MAX_VALUE, timeoutMillis));
      ch.configureBlocking(false);
      return ch;
    } catch (IOException | RuntimeException e) {
      close(ch);
      throw e;
    }
  }

  private void write(SocketChannel ch, SelectionKey key, byte[] bytes) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(bytes);
    while (b.hasRemaining()) {
      if (ch.write(b) == 0) {
        await(key, SelectionKey.OP_WRITE);
      }
    }
  }

  /** Waits until the channel is ready for ops, at most the timeout. */
  private void await(SelectionKey key, int ops) throws IOException {
    await(key, ops, timeoutMillis, "no answer from the origin in ");
  }

  /** Waits until the channel is ready for ops, at most millis. */
  private static void await(SelectionKey key, int ops, long millis, String failure) throws IOException {
    key.interestOps(ops);
    long deadline = System.nanoTime() + millis * 1_000_000;
    while (key.selector().select(Math.max(1, (deadline - System.nanoTime()) / 1_000_000)) == 0) {
      if (System.nanoTime() >= deadline) {
        throw new SocketTimeoutException(failure + (millis >= 1000 ? millis / 1000 + " s" : millis + " ms"));
      }
    }
    key.selector().selectedKeys().clear();
    key.interestOps(0);
  }

  /** A plain answer's head: what lazydir reads of it, and whether the connection may serve another request. */
  private record Head(AnswerHeaders answer, boolean keepAlive) {}

  /**
   * Reads the status line and headers; body bytes that came with them are left at the start of buf (position
   * 0, limit after them). Null if the answer is not a plain 206 or 200: a status, coding or framing OkHttp must
   * judge (chunked, compressed, lengths that disagree or none).
   */
  private Head readHead(SocketChannel ch, SelectionKey key, ByteBuffer buf) throws IOException {
    buf.clear();
    int end;
    while ((end = headEnd(buf)) < 0) {
      if (buf.position() >= Math.min(buf.capacity(), MAX_HEADER_BYTES)) {
        return null;
      }
      int n = ch.read(buf);
      if (n < 0) {
        throw new EOFException("the origin closed the connection before answering");
      }
      if (n == 0) {
        await(key, SelectionKey.OP_READ);
      }
    }
    byte[] raw = new byte[end];
    buf.flip();
    buf.get(raw);
    buf.compact().flip(); // body bytes that arrived with the head, now at the start
    String[] lines = new String(raw, StandardCharsets.ISO_8859_1).split("\r\n");
    String[] status = lines[0].split(" ", 3);
    if (status.length < 2 || !(status[1].equals("206") || status[1].equals("200")) || !status[0].startsWith("HTTP/1.")) {
      return null;
    }
    Headers.Builder headers = new Headers.Builder();
    for (int i = 1; i < lines.length; i++) {
      int colon = lines[i].indexOf(':');
      if (colon <= 0) {
        continue;
      }
      try {
        headers.addUnsafeNonAscii(lines[i].substring(0, colon).trim(), lines[i].substring(colon + 1).trim());
      } catch (IllegalArgumentException e) {
        // not a header name: not one lazydir reads either
      }
    }
    Headers h = headers.build();
    if (h.get("Transfer-Encoding") != null || new HashSet<>(h.values("Content-Length")).size() > 1
        || h.values("Content-Encoding").stream().anyMatch(v -> !v.equalsIgnoreCase("identity"))) {
      return null;
    }
    AnswerHeaders answer = new AnswerHeaders(Integer.parseInt(status[1]), h);
    if (answer.identityLength() < 0 || (answer.status() == 206 && answer.contentRange() == null)) {
      return null;
    }
    boolean keepAlive = status[0].equals("HTTP/1.1")
        && h.values("Connection").stream().noneMatch(v -> v.toLowerCase(Locale.ROOT).contains("close"));
    return new Head(answer, keepAlive);
  }

  /** Index just past the blank line ending the head in buf[0, position), or -1. */
  private static int headEnd(ByteBuffer buf) {
    for (int i = 3; i < buf.position(); i++) {
      if (buf.get(i) == '\n' && buf.get(i - 1) == '\r' && buf.get(i - 2) == '\n' && buf.get(i - 3) == '\r') {
        return i + 1;
      }
    }
    return -1;
  }

  /** Hands the body over (see {@link BodyHandOver}); buf starts with the body bytes that came with the head. */
  private void readBody(SocketChannel ch, SelectionKey key, ByteBuffer buf, long offset, long length, RangeSink sink,
      BodyHandOver.Handed handed) throws IOException {
    int carried = buf.remaining();
    if (carried > length) {
      throw new IOException("the origin sent more bytes than its Content-Length");
    }
    buf.position(carried);
    BodyHandOver.run(new BodyHandOver.Source() {
      @Override
      public int readNow(ByteBuffer b) throws IOException {
        return ch.read(b);
      }

      @Override
      public void await() throws IOException {
        PlainRangeFetch.await(key, SelectionKey.OP_READ, stallMillis, "the origin sent nothing for ");
      }
    }, buf, offset, length, sink, handed);
  }

  private static void close(SocketChannel ch) {
    try {
      ch.close();
    } catch (IOException e) {
      // nothing to do
    }
  }

  @Override
  public void close() {
    closed = true;
    List<SocketChannel> all = new ArrayList<>(idle);
    idle.clear();
    all.forEach(PlainRangeFetch::close);
  }
}
