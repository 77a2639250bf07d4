import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayDeque;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A shaped origin for the benchmarks: a TCP proxy that makes a loopback server look like one across a network.
 * Run with {@code java bench/lib/Shape.java --profile wan --listen PORT --to HOST:PORT} (bench/shape wraps it).
 *
 * <p>This kernel has no netem, and a loopback round trip costs ~50 µs, so figures measured against nginx on
 * 127.0.0.1 hide what costs time on a real network: round trips and per-connection throughput. Each accepted
 * connection gets its own connection to the target and two pipes (one per direction). A pipe reads what arrives,
 * cuts it into pieces of about a millisecond of the allowed rate, passes each piece through the connection's token
 * bucket and then the link's (shared by every connection, one per direction), and writes it on at the time it left
 * the buckets plus the one-way delay (RTT / 2), in order. The TCP handshake is charged: the client's bytes are held
 * until one RTT after the accept (on a real network connect() returns only then), so a request on a new connection
 * gets its first byte after 2 RTT, on a kept-alive one after 1 RTT. Not modelled: TCP slow start and loss (a fresh
 * connection carries its full rate from its first byte), and the TCP window (the per-connection cap stands for it).
 * A pipe holds at most 20 ms of backlog at its rate (and 16 MiB in all) before it stops reading, so a reader that
 * stops reading stops the server too, as over a real network.
 */
public final class Shape {
    /** Pieces are cut to about this much time at the pipe's rate, within [MIN_PIECE, MAX_PIECE]. */
    static final long PIECE_NANOS = 1_000_000;
    static final int MIN_PIECE = 1460, MAX_PIECE = 64 << 10;
    static final long MAX_BACKLOG_NANOS = 20_000_000;
    static final long MAX_QUEUED_BYTES = 16L << 20;

    final long oneWayNanos, rttNanos;
    final double connBytesPerNano; // 0: no per-connection cap
    final Link up, down; // client -> target, target -> client
    final InetSocketAddress target;
    final boolean verbose;
    final AtomicInteger ids = new AtomicInteger();

    Shape(double rttMs, double connMbit, double linkMbit, InetSocketAddress target, boolean verbose) {
        this.rttNanos = Math.round(rttMs * 1e6);
        this.oneWayNanos = rttNanos / 2;
        this.connBytesPerNano = connMbit * 1e6 / 8 / 1e9;
        this.up = new Link(linkMbit);
        this.down = new Link(linkMbit);
        this.target = target;
        this.verbose = verbose;
    }

    /** A link's serialization clock: pieces of every connection pass it in the order they reach it. */
    static final class Link {
        final double bytesPerNano;
        long free; // nanoTime when the link is free again

        Link(double mbit) { this.bytesPerNano = mbit * 1e6 / 8 / 1e9; }

        /** Reserves the link for n bytes arriving at {@code at}; returns when they have left it. */
        synchronized long pass(int n, long at) {
            if (bytesPerNano <= 0) return at;
            long start = Math.max(at, free);
            free = start + (long) (n / bytesPerNano);
            return free;
        }
    }

    /** A piece of data (or the end of the stream: data == null) and the time it is due at the far side. */
    record Piece(byte[] data, int off, int len, long due, boolean reset) {}

    /** One direction of one connection: a reader thread that schedules pieces, a writer that delivers them on time. */
    final class Pipe {
        final Socket from, to;
        final Link link;
        final long floor; // nothing is delivered before this nanoTime (the handshake charge)
        final int piece;
        final ArrayDeque<Piece> queue = new ArrayDeque<>();
        final ReentrantLock lock = new ReentrantLock();
        final Condition changed = lock.newCondition();
        final Conn conn;
        long queued, connFree, lastLeft, lastDue, bytes;
        boolean dead;

        Pipe(Conn conn, Socket from, Socket to, Link link, long floor) {
            this.conn = conn; this.from = from; this.to = to; this.link = link; this.floor = floor;
            double rate = connBytesPerNano > 0 ? connBytesPerNano : Double.MAX_VALUE;
            if (link.bytesPerNano > 0) rate = Math.min(rate, link.bytesPerNano);
            long p = rate == Double.MAX_VALUE ? MAX_PIECE : (long) (rate * PIECE_NANOS);
            this.piece = (int) Math.max(MIN_PIECE, Math.min(MAX_PIECE, p));
        }

        void start(String name) {
            Thread r = new Thread(this::read, name + "-read");
            Thread w = new Thread(this::write, name + "-write");
            r.setDaemon(true); w.setDaemon(true);
            r.start(); w.start();
        }

        void read() {
            boolean reset = false;
            try {
                InputStream in = from.getInputStream();
                byte[] buf = new byte[MAX_PIECE];
                while (true) {
                    // Backpressure: no more than MAX_BACKLOG_NANOS of scheduled departures, MAX_QUEUED_BYTES in all.
                    for (long ahead; (ahead = lastLeft - System.nanoTime() - MAX_BACKLOG_NANOS) > 0; ) LockSupport.parkNanos(ahead);
                    lock.lock();
                    try {
                        while (queued > MAX_QUEUED_BYTES && !dead) changed.await();
                        if (dead) return;
                    } finally { lock.unlock(); }
                    int n = in.read(buf);
                    if (n < 0) break;
                    byte[] data = n == buf.length ? buf : java.util.Arrays.copyOf(buf, n);
                    if (data == buf) buf = new byte[MAX_PIECE];
                    long now = System.nanoTime();
                    for (int off = 0; off < n; off += piece) {
                        int len = Math.min(piece, n - off);
                        long left = now;
                        if (connBytesPerNano > 0) {
                            left = Math.max(now, connFree) + (long) (len / connBytesPerNano);
                            connFree = left;
                        }
                        left = link.pass(len, left);
                        lastLeft = left;
                        put(new Piece(data, off, len, left, false));
                    }
                }
            } catch (IOException | InterruptedException e) {
                reset = true;
            }
            put(new Piece(null, 0, 0, System.nanoTime(), reset));
        }

        void put(Piece p) {
            lock.lock();
            try {
                long due = Math.max(Math.max(p.due() + oneWayNanos, floor + oneWayNanos), lastDue);
                lastDue = due;
                queue.add(new Piece(p.data(), p.off(), p.len(), due, p.reset()));
                queued += p.len();
                changed.signalAll();
            } finally { lock.unlock(); }
        }

        void write() {
            try {
                OutputStream out = to.getOutputStream();
                while (true) {
                    Piece p;
                    lock.lock();
                    try {
                        while (queue.isEmpty() && !dead) changed.await();
                        if (dead) return;
                        p = queue.peek();
                    } finally { lock.unlock(); }
                    for (long wait; (wait = p.due() - System.nanoTime()) > 0; ) LockSupport.parkNanos(wait);
                    if (p.data() == null) {
                        if (p.reset()) conn.close();
                        else to.shutdownOutput();
                        conn.pipeDone();
                        return;
                    }
                    out.write(p.data(), p.off(), p.len());
                    bytes += p.len();
                    lock.lock();
                    try {
                        queue.poll();
                        queued -= p.len();
                        changed.signalAll();
                    } finally { lock.unlock(); }
                }
            } catch (IOException | InterruptedException e) {
                conn.close();
            }
        }

        void kill() {
            lock.lock();
            try { dead = true; changed.signalAll(); } finally { lock.unlock(); }
        }
    }

    /** One accepted connection: the client socket, the target socket and a pipe each way. */
    final class Conn {
        final int id = ids.incrementAndGet();
        final Socket client, server;
        final long accepted;
        Pipe up, down;
        final AtomicInteger open = new AtomicInteger(2);
        volatile boolean closed;

        Conn(Socket client, Socket server, long accepted) { this.client = client; this.server = server; this.accepted = accepted; }

        void start() {
            up = new Pipe(this, client, server, Shape.this.up, accepted + rttNanos);
            down = new Pipe(this, server, client, Shape.this.down, 0);
            up.start("c" + id + "-up");
            down.start("c" + id + "-down");
        }

        void pipeDone() { if (open.decrementAndGet() == 0) close(); }

        synchronized void close() {
            if (closed) return;
            closed = true;
            up.kill(); down.kill();
            try { client.close(); } catch (IOException ignored) { }
            try { server.close(); } catch (IOException ignored) { }
            if (verbose) System.err.printf(Locale.ROOT, "shape: connection %d closed after %.3f s: %d bytes up, %d down%n",
                id, (System.nanoTime() - accepted) / 1e9, up.bytes, down.bytes);
        }
    }

    void serve(ServerSocket ss) throws IOException {
        while (true) {
            Socket client = ss.accept();
            long t = System.nanoTime();
            Thread th = new Thread(() -> {
                try {
                    client.setTcpNoDelay(true);
                    Socket server = new Socket();
                    server.setTcpNoDelay(true);
                    server.connect(target, 10_000);
                    Conn c = new Conn(client, server, t);
                    if (verbose) System.err.printf(Locale.ROOT, "shape: connection %d accepted%n", c.id);
                    c.start();
                } catch (IOException e) {
                    System.err.println("shape: cannot connect to " + target + ": " + e.getMessage());
                    try { client.close(); } catch (IOException ignored) { }
                }
            }, "accept");
            th.setDaemon(true);
            th.start();
        }
    }

    static final String USAGE = """
        usage: bench/shape --profile lan|wan|far --listen [HOST:]PORT --to HOST:PORT [--rtt-ms MS] [--conn-mbit N] [--link-mbit N] [-v]
          lan: 1 ms RTT, no per-connection cap, 1 Gbit/s link
          wan: 50 ms RTT, 100 Mbit/s per connection, 1 Gbit/s link
          far: 150 ms RTT, 20 Mbit/s per connection, 1 Gbit/s link
          --rtt-ms, --conn-mbit, --link-mbit override the profile (0: no cap). --listen 0 picks a free port.
          Prints 'shape listening HOST:PORT ...' on stdout once it accepts connections.""";

    static void die(String msg) { System.err.println("shape: " + msg); System.err.println(USAGE); System.exit(2); }

    static InetSocketAddress addr(String s, String defHost) {
        int c = s.lastIndexOf(':');
        String host = c < 0 ? defHost : s.substring(0, c);
        try {
            int port = Integer.parseInt(c < 0 ? s : s.substring(c + 1));
            if (port < 0 || port > 65535) throw new NumberFormatException();
            return new InetSocketAddress(host, port);
        } catch (NumberFormatException e) {
            die("bad address " + s + " (give [HOST:]PORT)");
            return null;
        }
    }

    public static void main(String[] args) throws IOException {
        String profile = null, listen = null, to = null;
        Double rtt = null, conn = null, link = null;
        boolean verbose = false;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-v") || a.equals("--verbose")) { verbose = true; continue; }
            if (a.equals("-h") || a.equals("--help")) { System.out.println(USAGE); return; }
            if (i + 1 >= args.length) die(a + " needs a value");
            String v = args[++i];
            try {
                switch (a) {
                    case "--profile" -> profile = v;
                    case "--listen" -> listen = v;
                    case "--to" -> to = v;
                    case "--rtt-ms" -> rtt = Double.parseDouble(v);
                    case "--conn-mbit" -> conn = Double.parseDouble(v);
                    case "--link-mbit" -> link = Double.parseDouble(v);
                    default -> die("unknown option " + a);
                }
            } catch (NumberFormatException e) { die(a + " needs a number, not " + v); }
        }
        double pr, pc, pl;
        switch (profile == null ? "" : profile) {
            case "lan" -> { pr = 1; pc = 0; pl = 1000; }
            case "wan" -> { pr = 50; pc = 100; pl = 1000; }
            case "far" -> { pr = 150; pc = 20; pl = 1000; }
            case "" -> { pr = 0; pc = 0; pl = 0; if (rtt == null) die("give --profile lan|wan|far or --rtt-ms"); }
            default -> { die("unknown profile " + profile + " (lan, wan or far)"); return; }
        }
        if (rtt != null) pr = rtt;
        if (conn != null) pc = conn;
        if (link != null) pl = link;
        if (pr < 0 || pc < 0 || pl < 0) die("negative delay or rate");
        if (listen == null || to == null) die("give --listen and --to");
        InetSocketAddress target = addr(to, "127.0.0.1");
        InetSocketAddress bind = addr(listen, "127.0.0.1");
        Shape shape = new Shape(pr, pc, pl, target, verbose);
        ServerSocket ss = new ServerSocket();
        ss.setReuseAddress(true);
        ss.bind(bind, 1024);
        System.out.printf(Locale.ROOT, "shape listening %s:%d -> %s:%d (%s: RTT %.3g ms, per connection %s, link %s)%n",
            bind.getHostString(), ss.getLocalPort(), target.getHostString(), target.getPort(), profile == null ? "custom" : profile,
            pr, pc > 0 ? String.format(Locale.ROOT, "%.4g Mbit/s", pc) : "uncapped", pl > 0 ? String.format(Locale.ROOT, "%.4g Mbit/s", pl) : "uncapped");
        System.out.flush();
        shape.serve(ss);
    }
}
