package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.lazydir.testing.Commands;
import dev.lazydir.testing.Commands.Result;
import dev.lazydir.testing.LoopFilesystem;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs `lazydir serve` for real: a loop-mounted ext4 image (made by the test, in the test JVM's private mount
 * namespace) holds the store and the view; the daemon is a separate JVM, so it can be killed; readers are real
 * programs with timeouts. Everything is undone in close().
 */
final class ServeBed implements AutoCloseable {
  final Path root;
  final Path fs;
  final Path view;
  final Path store;
  private final List<Process> daemons = new ArrayList<>();
  /** Extra JVM options for the daemons started from now on (test hooks such as -Dlazydir.test.*). */
  final List<String> daemonJvmOptions = new ArrayList<>();
  private final LoopFilesystem loop;
  /** The ready line of the last daemon {@link #serve} started. */
  volatile String ready;

  ServeBed(Path tmp) throws Exception {
    this(tmp, "1G");
  }

  /** A bed on an image of the given size (e.g. "64M", "1G"). */
  ServeBed(Path tmp, String imageSize) throws Exception {
    this.root = tmp;
    this.loop = LoopFilesystem.mount(tmp.resolve("img"), tmp.resolve("fs"), bytes(imageSize), "lazydir serve tests");
    this.fs = loop.dir;
    this.view = fs.resolve("view");
    this.store = fs.resolve("store");
    loop.alsoUnmount(view); // the daemon's view, if it is still mounted at the end
  }

  private static long bytes(String size) {
    long unit = switch (size.charAt(size.length() - 1)) {
      case 'K' -> 1L << 10;
      case 'M' -> 1L << 20;
      case 'G' -> 1L << 30;
      default -> throw new IllegalArgumentException("an image size like 64M or 1G: " + size);
    };
    return Long.parseLong(size.substring(0, size.length() - 1)) * unit;
  }

  /** The command line of a daemon on this bed's store and view (a separate JVM on the test classpath). */
  List<String> serveCommand(String url, String... extra) {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"));
    cmd.addAll(daemonJvmOptions);
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "dev.lazydir.cli.Main", "serve", "--store", store.toString(), "--retries", "2", "--retry-wait", "0",
        "--timeout", "20"));
    cmd.addAll(List.of(extra));
    cmd.add(url);
    cmd.add(view.toString());
    return cmd;
  }

  /** Starts a daemon and waits for its "ready" line. */
  Process serve(String url, String... extra) throws Exception {
    Process p = start(url, extra);
    BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    CompletableFuture<String> ready = CompletableFuture.supplyAsync(() -> {
      try {
        for (String line; (line = out.readLine()) != null; ) {
          if (line.startsWith("ready")) {
            return line;
          }
        }
        return null;
      } catch (IOException e) {
        return null;
      }
    });
    String line = ready.get(30, TimeUnit.SECONDS);
    if (line == null) {
      fail("daemon did not become ready:\n" + daemonLog(daemons.size() - 1));
    }
    this.ready = line;
    CompletableFuture.runAsync(() -> {
      try {
        out.transferTo(java.io.Writer.nullWriter());
      } catch (IOException e) {
        // daemon gone
      }
    });
    return p;
  }

  /** Starts a daemon that is expected to fail its start; returns its exit code (its stderr: {@link #daemonLog}). */
  int serveFailing(String url, String... extra) throws Exception {
    Process p = start(url, extra);
    p.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      fail("serve did not fail within 60 s");
    }
    return p.exitValue();
  }

  private Process start(String url, String... extra) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(serveCommand(url, extra))
        .redirectError(root.resolve("daemon-" + daemons.size() + ".err").toFile());
    pb.environment().put("LC_ALL", "C.UTF-8");
    Process p = pb.start();
    daemons.add(p);
    return p;
  }

  String daemonLog(int i) throws IOException {
    return Files.readString(root.resolve("daemon-" + i + ".err"));
  }

  /** Stops a daemon with SIGTERM and returns its exit code. */
  int stop(Process p) throws Exception {
    p.destroy();
    assertTrue(p.waitFor(30, TimeUnit.SECONDS), "daemon did not stop within 30 s");
    return p.exitValue();
  }

  /** Runs a reader, bounded in time: {@link Commands#run}, the tests' one process runner. */
  static Result run(int seconds, String... cmd) throws Exception {
    return Commands.run(seconds, cmd);
  }

  static Result sh(int seconds, String script) throws Exception {
    return Commands.sh(seconds, script);
  }

  boolean viewMounted() {
    return LoopFilesystem.isMountPoint(view);
  }

  /** The guard recorded in the store (it may hold the group after its daemon), if it is still running. */
  java.util.Optional<ProcessHandle> guard() throws IOException {
    Path record = store.resolve("run").resolve(GroupHandOver.RECORD);
    if (!Files.exists(record)) {
      return java.util.Optional.empty();
    }
    long pid = Long.parseLong(Files.readString(record).split(" ")[0]);
    return ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
        .filter(h -> h.info().command().map(c -> c.contains("lazydir-guard")).orElse(false));
  }

  /** Waits for the guard to let go of the group by itself (no process uses the view any more). */
  boolean guardGoneWithin(long millis) throws Exception {
    long deadline = System.nanoTime() + millis * 1_000_000;
    while (guard().isPresent()) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      Thread.sleep(50);
    }
    return true;
  }

  @Override
  public void close() throws Exception {
    for (Process p : daemons) {
      if (p.isAlive()) {
        p.destroy();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
          p.destroyForcibly();
        }
      }
    }
    // A guard still holding the group would keep the loop filesystem busy: it must end by itself once nothing
    // uses the view; if it does not, it is ended here (it belongs to the daemon this bed started) and the test fails.
    boolean lingered = !guardGoneWithin(10_000);
    if (lingered) {
      guard().ifPresent(ProcessHandle::destroyForcibly);
    }
    try {
      loop.close(); // the view if still mounted, then the image: a mount in use at the end fails the test
    } finally {
      assertTrue(!lingered, "the guard still held the group 10 s after the last reader left the view");
    }
  }
}
