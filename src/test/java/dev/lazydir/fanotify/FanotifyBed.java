package dev.lazydir.fanotify;

import static org.junit.jupiter.api.Assertions.fail;

import dev.lazydir.internal.posix.Errno;
import dev.lazydir.testing.Commands;
import dev.lazydir.testing.LoopFilesystem;
import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * Test bed for the privileged fanotify tests: a loop-mounted ext4 image in a temp dir (the "private path", never
 * marked) and a bind mount of a directory inside it (the "view", the only thing ever marked, with FAN_MARK_MOUNT).
 *
 * <p>Safety: {@link #create} refuses (fails the test) unless the JVM is root and in a mount namespace of its own
 * (/proc/self/ns/mnt differs from /proc/1/ns/mnt and from the parent's). Nothing but the view is marked; handlers
 * write only through the private path into files the test made; every permission event gets exactly one valid
 * answer (a callback failure answers FAN_DENY_ERRNO(EIO)); readers run with timeouts and are killed forcibly. {@link
 * #close} stops handlers, kills readers, closes groups, unmounts both mounts and checks the loop device is gone (the
 * image and its mounts are a {@link LoopFilesystem}, the one loop-filesystem bed of the tests).
 */
final class FanotifyBed implements AutoCloseable {
  static final Duration READER_TIMEOUT = Duration.ofSeconds(20);
  static final long PAGE = 4096;

  final Path root;
  final Path image;
  final Path priv;
  final Path tree;
  final Path view;
  private LoopFilesystem fs;
  private final List<Handler> handlers = new ArrayList<>();
  private final List<FanotifyGroup> groups = new ArrayList<>();
  private final List<Process> readers = new ArrayList<>();
  private static String python;

  private FanotifyBed(Path root) {
    this.root = root;
    this.image = root.resolve("ext4.img");
    this.priv = root.resolve("private");
    this.tree = priv.resolve("tree");
    this.view = root.resolve("view");
  }

  /**
   * Refuses to go on unless root in a private mount namespace: /proc/self/ns/mnt must differ from /proc/1/ns/mnt. Where
   * /proc/1/ns/mnt is unreadable (EACCES: init is not ptrace-accessible, as on this machine), the same question is
   * answered from /proc/1/mountinfo, which is readable: every mount belongs to exactly one namespace and mount ids
   * are unique among live mounts, so our namespace is pid 1's iff the mount ids are the same set, and another one iff
   * the sets are disjoint. The parent's (Maven's JVM, outside the unshare) namespace link is compared as well.
   */
  static void requireRootInPrivateMountNamespace() throws IOException {
    dev.lazydir.testing.PrivateNamespace.require("the privileged fanotify tests");
  }

  /** Makes the image, mounts it on root/private and binds root/private/tree on root/view. */
  static FanotifyBed create(Path tmp) throws Exception {
    requireRootInPrivateMountNamespace();
    FanotifyBed bed = new FanotifyBed(tmp.toRealPath());
    try {
      Files.createDirectories(bed.view);
      bed.fs = LoopFilesystem.mount(bed.image, bed.priv, 64L << 20, "the privileged fanotify tests");
      Files.createDirectories(bed.tree);
      bed.fs.bind(bed.tree, bed.view);
      return bed;
    } catch (Throwable t) {
      try {
        bed.close();
      } catch (Throwable c) {
        t.addSuppressed(c);
      }
      throw t;
    }
  }

  /** A path in the tree, through the private (unmarked) mount. */
  Path priv(String rel) {
    return tree.resolve(rel);
  }

  /** The same path through the marked view. */
  Path view(String rel) {
    return view.resolve(rel);
  }

  /** Maps a path under the view (as /proc/self/fd/N shows an event fd) to the private path of the same file. */
  Path toPrivate(Path viewPath) {
    if (!viewPath.startsWith(view)) {
      throw new IllegalStateException(viewPath + " is not under the view " + view
          + ": the handler only ever writes through the private path of files the test made");
    }
    return tree.resolve(view.relativize(viewPath));
  }

  /** A pre-content group, closed by {@link #releaseTestResources}; fails loudly if the kernel has no pre-content. */
  FanotifyGroup group() {
    try {
      FanotifyGroup g = FanotifyGroup.openPreContent();
      synchronized (groups) {
        groups.add(g);
      }
      return g;
    } catch (IOException e) {
      fail("KERNEL LACKS FANOTIFY PRE-CONTENT SUPPORT: fanotify_init(FAN_CLASS_PRE_CONTENT|FAN_REPORT_FD_ERROR) failed: "
          + e.getMessage() + ". lazydir needs Linux >= 6.14 with CONFIG_FANOTIFY_ACCESS_PERMISSIONS (and root).");
      return null;
    }
  }

  /** A group with a FAN_MARK_MOUNT mark of mask on the view; fails loudly if the kernel refuses the mark. */
  FanotifyGroup markedGroup(long mask) {
    FanotifyGroup g = group();
    markView(g, mask);
    return g;
  }

  void markView(FanotifyGroup g, long mask) {
    try {
      g.markMount(view.toString(), mask);
    } catch (FanotifyException e) {
      String what = (mask & Fan.FAN_PRE_ACCESS) != 0 ? "FAN_PRE_ACCESS on a FAN_MARK_MOUNT mark" : "this mount mark";
      if (e.errno() == Errno.EINVAL) {
        fail("KERNEL LACKS " + what + " (EINVAL, mask 0x" + Long.toHexString(mask) + "): " + e.getMessage());
      }
      fail("fanotify_mark refused " + what + " on the loop-mounted ext4 view: " + e.getMessage()
          + (e.errno() == Errno.EOPNOTSUPP ? " (EOPNOTSUPP: this filesystem/kernel lacks pre-content support)" : ""));
    } catch (IOException e) {
      fail("fanotify_mark on the view failed: " + e);
    }
  }

  /** What a handler saw: the event and the path its fd pointed to (null without fd). */
  record Seen(FanotifyEvent event, Path path, String thread) {}

  /** Decides the answer to one event; its return value is ignored for events that need no answer. */
  interface Callback {
    int answer(FanotifyEvent event, Path path) throws Exception;
  }

  static final Callback ALLOW = (e, p) -> Fan.FAN_ALLOW;

  /** Handler threads polling a group and answering every permission event exactly once. */
  final class Handler implements AutoCloseable {
    final FanotifyGroup group;
    final Queue<Seen> seen = new ConcurrentLinkedQueue<>();
    final Queue<Throwable> errors = new ConcurrentLinkedQueue<>();
    final AtomicInteger answered = new AtomicInteger();
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean stop;

    Handler(FanotifyGroup group, int threadCount, Callback callback) {
      this.group = group;
      for (int i = 0; i < threadCount; i++) {
        Thread t = new Thread(() -> loop(callback), "fanotify-handler-" + group.fd() + "-" + i);
        t.setDaemon(true);
        threads.add(t);
        t.start();
      }
    }

    /**
     * Answers counted so far, once at least {@code n} were (within 5 s): a handler counts an answer after writing
     * it, and the reader it let through may finish before that.
     */
    int answeredAtLeast(int n) throws InterruptedException {
      long deadline = System.nanoTime() + 5_000_000_000L;
      while (answered.get() < n && System.nanoTime() < deadline) {
        Thread.sleep(5);
      }
      return answered.get();
    }

    private void loop(Callback callback) {
      while (!stop) {
        List<FanotifyEvent> events;
        try {
          events = group.poll(Duration.ofMillis(100));
        } catch (ClosedChannelException closed) {
          return;
        } catch (Throwable t) {
          errors.add(t);
          return;
        }
        for (FanotifyEvent e : events) {
          handle(e, callback);
        }
      }
    }

    private void handle(FanotifyEvent e, Callback callback) {
      Path path = null;
      int response = Fan.FAN_ALLOW;
      try {
        if (e.fd() >= 0) {
          path = Files.readSymbolicLink(Path.of("/proc/self/fd/" + e.fd()));
        }
        seen.add(new Seen(e, path, Thread.currentThread().getName()));
        response = callback.answer(e, path);
      } catch (Throwable t) {
        errors.add(new AssertionError("handler callback failed on " + e + " (" + path + "); answered EIO", t));
        response = Fan.denyErrno(Fan.EIO);
      } finally {
        try {
          if (e.needsResponse()) {
            try {
              group.respond(e.fd(), response);
              answered.incrementAndGet();
            } catch (ClosedChannelException closed) {
              // the group is gone: the kernel allowed the event
            } catch (Throwable t) {
              errors.add(new AssertionError("answer 0x" + Integer.toHexString(response) + " to " + e
                  + " refused; answering EIO instead", t));
              try {
                group.respond(e.fd(), Fan.denyErrno(Fan.EIO));
                answered.incrementAndGet();
              } catch (Throwable again) {
                errors.add(again);
              }
            }
          }
        } finally {
          try {
            FanotifyGroup.closeEventFd(e.fd());
          } catch (Throwable t) {
            errors.add(t);
          }
        }
      }
    }

    List<Seen> seen() {
      return List.copyOf(seen);
    }

    List<Seen> seen(Predicate<Seen> filter) {
      return seen.stream().filter(filter).toList();
    }

    void clear() {
      seen.clear();
    }

    void assertNoErrors() {
      if (!errors.isEmpty()) {
        AssertionError a = new AssertionError("handler errors: " + errors);
        errors.forEach(a::addSuppressed);
        throw a;
      }
    }

    @Override
    public void close() {
      stop = true;
      for (Thread t : threads) {
        try {
          t.join(5000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        if (t.isAlive()) {
          errors.add(new AssertionError(t.getName() + " did not stop within 5 s"));
        }
      }
    }
  }

  Handler handle(FanotifyGroup group, int threads, Callback callback) {
    Handler h = new Handler(group, threads, callback);
    synchronized (handlers) {
      handlers.add(h);
    }
    return h;
  }

  /** A finished reader process. */
  record Result(int exit, byte[] stdout, String stderr, long pid, Duration took) {
    String out() {
      return new String(stdout, StandardCharsets.UTF_8);
    }
  }

  /** A running reader process; stdout and stderr go to files outside both mounts. */
  final class Reader {
    final Process process;
    final List<String> command;
    final Path out;
    final Path err;
    final long started = System.nanoTime();

    Reader(List<String> command) throws IOException {
      this.command = command;
      this.out = Files.createTempFile(root, "reader", ".out");
      this.err = Files.createTempFile(root, "reader", ".err");
      ProcessBuilder pb = new ProcessBuilder(command).redirectInput(new File("/dev/null"))
          .redirectOutput(out.toFile()).redirectError(err.toFile());
      pb.environment().put("LC_ALL", "C");
      this.process = pb.start();
      synchronized (readers) {
        readers.add(process);
      }
    }

    long pid() {
      return process.pid();
    }

    boolean isAlive() {
      return process.isAlive();
    }

    Result await() throws Exception {
      return await(READER_TIMEOUT);
    }

    Result await(Duration timeout) throws Exception {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        process.waitFor(5, TimeUnit.SECONDS);
        fail("reader " + command + " still blocked after " + timeout + ": killed");
      }
      Duration took = Duration.ofNanos(System.nanoTime() - started);
      return new Result(process.exitValue(), Files.readAllBytes(out), Files.readString(err), process.pid(), took);
    }
  }

  Reader start(String... command) throws IOException {
    return new Reader(List.of(command));
  }

  Result read(String... command) throws Exception {
    return start(command).await();
  }

  /** The real python3 binary (not a pyenv shim), so a reader's pid is python's own. */
  static synchronized String python() throws Exception {
    if (python == null) {
      python = Commands.run(60, "python3", "-c", "import sys; print(sys.executable)").requireOk().text().trim();
    }
    return python;
  }

  /** A byte no hole reads as: 1..251, depending on the file offset. */
  static byte pattern(long pos) {
    return (byte) (1 + pos % 251);
  }

  static byte[] pattern(long from, int length) {
    byte[] b = new byte[length];
    for (int i = 0; i < length; i++) {
      b[i] = pattern(from + i);
    }
    return b;
  }

  /** A sparse file (no blocks) of size bytes, made through the private path. */
  Path sparse(String rel, long size) throws IOException {
    Path p = priv(rel);
    Files.createDirectories(p.getParent());
    try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
      f.setLength(size);
    }
    return p;
  }

  /** A fully written file of the pattern, made through the private path. */
  Path populated(String rel, int size) throws IOException {
    Path p = priv(rel);
    Files.createDirectories(p.getParent());
    Files.write(p, pattern(0, size));
    return p;
  }

  /**
   * What a lazydir handler does: writes the pattern for [offset, offset + count) clipped at EOF into the file through
   * its PRIVATE path (pwrite on our own fd), never through the event fd. Offset 0 count 0 means the whole file.
   */
  static void fillThroughPrivatePath(Path privatePath, long offset, long count) throws IOException {
    try (FileChannel ch = FileChannel.open(privatePath, StandardOpenOption.WRITE)) {
      long size = ch.size();
      long end = offset == 0 && count == 0 ? size : Math.min(size, offset + count);
      for (long pos = offset; pos < end; ) {
        int n = (int) Math.min(1 << 20, end - pos);
        ByteBuffer b = ByteBuffer.wrap(pattern(pos, n));
        while (b.hasRemaining()) {
          pos += ch.write(b, pos);
        }
      }
    }
  }

  /** Closes what one test made: groups (the kernel allows what is pending), handler threads, readers. */
  void releaseTestResources() throws IOException {
    List<Throwable> problems = new ArrayList<>();
    synchronized (groups) {
      for (FanotifyGroup g : groups) {
        try {
          g.close();
        } catch (IOException e) {
          problems.add(e);
        }
      }
      groups.clear();
    }
    synchronized (handlers) {
      for (Handler h : handlers) {
        h.close();
      }
      handlers.clear();
    }
    synchronized (readers) {
      for (Process p : readers) {
        if (p.isAlive()) {
          p.destroyForcibly();
          try {
            p.waitFor(5, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          problems.add(new AssertionError("reader " + p.pid() + " was still running at teardown: killed"));
        }
      }
      readers.clear();
    }
    if (!problems.isEmpty()) {
      IOException e = new IOException("teardown problems: " + problems);
      problems.forEach(e::addSuppressed);
      throw e;
    }
  }

  @Override
  public void close() throws Exception {
    List<Throwable> problems = new ArrayList<>();
    try {
      releaseTestResources();
    } catch (Throwable t) {
      problems.add(t);
    }
    if (fs != null) {
      try {
        fs.close(); // the view, then the image; fails if either needed a lazy detach or the loop device stayed
      } catch (Throwable t) {
        problems.add(t);
      }
      fs = null;
    }
    if (!problems.isEmpty()) {
      AssertionError a = new AssertionError("test bed teardown: " + problems);
      problems.forEach(a::addSuppressed);
      throw a;
    }
  }
}
