package dev.lazydir.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The one way the tests run a program to its end: stdin from /dev/null, stdout kept as bytes (a reader's zeros must
 * be visible) and stderr as text, both read while it runs, and a time bound, past which the program is killed and the
 * test fails (a reader through the view must never hang). An I/O error reading its output fails the test too: it is
 * never taken for "no bytes handed out". Setup commands ({@link #check}) fail the test on a non-zero exit.
 */
public final class Commands {
  private Commands() {}

  /** How a program ended: its exit status, its stdout (bytes) and its stderr (text). */
  public record Result(int exit, byte[] out, String err) {
    /** Stdout as UTF-8 text. */
    public String text() {
      return new String(out, StandardCharsets.UTF_8);
    }

    /** This result, after failing the test unless the program exited 0. */
    public Result requireOk() {
      assertEquals(0, exit, text() + err);
      return this;
    }
  }

  /** Runs {@code cmd} for at most {@code seconds}. */
  public static Result run(int seconds, String... cmd) throws Exception {
    return run(seconds, Map.of(), null, cmd);
  }

  /** Runs a shell script (bash -c) for at most {@code seconds}. */
  public static Result sh(int seconds, String script) throws Exception {
    return run(seconds, "bash", "-c", script);
  }

  /** Runs {@code cmd} with extra environment and a working directory (null: this JVM's), for at most {@code seconds}. */
  public static Result run(int seconds, Map<String, String> env, Path cwd, String... cmd) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectInput(new File("/dev/null"));
    pb.environment().putAll(env);
    if (cwd != null) {
      pb.directory(cwd.toFile());
    }
    Process p = pb.start();
    CompletableFuture<byte[]> out = CompletableFuture.supplyAsync(() -> readAll(p.getInputStream()));
    CompletableFuture<byte[]> err = CompletableFuture.supplyAsync(() -> readAll(p.getErrorStream()));
    if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      p.waitFor(5, TimeUnit.SECONDS);
      fail(String.join(" ", cmd) + " did not finish within " + seconds + " s (a reader must never hang)");
    }
    try {
      return new Result(p.exitValue(), out.get(5, TimeUnit.SECONDS),
          new String(err.get(5, TimeUnit.SECONDS), StandardCharsets.UTF_8));
    } catch (ExecutionException e) {
      throw new AssertionError("reading the output of " + String.join(" ", cmd) + " failed", e.getCause());
    }
  }

  /** Runs a setup command (60 s at most), failing the test on a non-zero exit; returns its stdout and stderr. */
  public static String check(String... cmd) throws Exception {
    Result r = run(60, cmd);
    String text = r.text() + r.err();
    assertEquals(0, r.exit(), String.join(" ", cmd) + ":\n" + text);
    return text;
  }

  /** Runs a clean-up command (30 s at most) whose failure the caller handles: its exit status, -1 if it hung. */
  public static int quietly(String... cmd) {
    try {
      Process p = new ProcessBuilder(cmd).redirectInput(new File("/dev/null")).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return -1;
      }
      return p.exitValue();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  private static byte[] readAll(InputStream in) {
    try {
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
