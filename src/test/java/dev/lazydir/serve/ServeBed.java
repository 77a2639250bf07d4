package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.lazydir.testing.PrivateNamespace;
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
  private boolean mounted;
  /** The ready line of the last daemon {@link #serve} started. */
  volatile String ready;

  record Result(int exit, byte[] out, String err) {
    String text() {
      return new String(out, StandardCharsets.UTF_8);
    }
  }

  ServeBed(Path tmp) throws Exception {
    this(tmp, "1G");
  }

  /** A bed on an image of the given size (truncate's syntax, e.g. "64M"). */
  ServeBed(Path tmp, String imageSize) throws Exception {
    PrivateNamespace.require("lazydir serve tests");
    this.root = tmp;
    this.fs = tmp.resolve("fs");
    this.view = fs.resolve("view");
    this.store = fs.resolve("store");
    Files.createDirectories(fs);
    run(60, "truncate", "-s", imageSize, tmp.resolve("img").toString());
    run(60, "mkfs.ext4", "-q", "-F", tmp.resolve("img").toString());
    run(60, "mount", "-o", "loop", tmp.resolve("img").toString(), fs.toString());
    mounted = true;
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

  /** Runs a reader; stdout kept as bytes (zeros must be visible), bounded in time. */
  static Result run(int seconds, String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).start();
    CompletableFuture<byte[]> out = CompletableFuture.supplyAsync(() -> readAll(p.getInputStream()));
    CompletableFuture<byte[]> err = CompletableFuture.supplyAsync(() -> readAll(p.getErrorStream()));
    if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      fail(String.join(" ", cmd) + " did not finish within " + seconds + " s (a reader must never hang)");
    }
    return new Result(p.exitValue(), out.get(5, TimeUnit.SECONDS), new String(err.get(5, TimeUnit.SECONDS), StandardCharsets.UTF_8));
  }

  static Result sh(int seconds, String script) throws Exception {
    return run(seconds, "bash", "-c", script);
  }

  private static byte[] readAll(java.io.InputStream in) {
    try {
      return in.readAllBytes();
    } catch (IOException e) {
      return new byte[0];
    }
  }

  boolean viewMounted() throws IOException {
    String v = view.toString();
    return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream().anyMatch(l -> l.split(" ")[4].equals(v));
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
    if (viewMounted()) {
      run(30, "umount", "-l", view.toString());
    }
    if (mounted) {
      run(60, "umount", "-l", fs.toString());
    }
    assertTrue(!lingered, "the guard still held the group 10 s after the last reader left the view");
  }
}
