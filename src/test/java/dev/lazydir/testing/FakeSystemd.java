package dev.lazydir.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Drives test-fixtures/fake-systemd.py: systemd's side of a Type=notify service (the notification socket, the
 * descriptor store, LISTEN_FDS on a start) on a machine whose PID 1 is not systemd. Lines it prints are read
 * one by one with {@link #await}.
 */
public final class FakeSystemd implements AutoCloseable {
  public final Path socket;
  private final Process process;
  private final Writer commands;
  private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
  private final List<String> seen = new ArrayList<>();

  public FakeSystemd(Path socket, Path log, List<String> command) throws Exception {
    this.socket = socket;
    List<String> cmd = new ArrayList<>(List.of("python3", Path.of("test-fixtures", "fake-systemd.py")
        .toAbsolutePath().toString(), socket.toString(), log.toString(), "--"));
    cmd.addAll(command);
    process = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    commands = new java.io.OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
    Thread reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line; (line = r.readLine()) != null; ) {
          lines.add(line);
        }
      } catch (IOException e) {
        // gone
      }
    }, "fake-systemd-out");
    reader.setDaemon(true);
    reader.start();
    await("LISTENING", 20);
  }

  /** The next line starting with prefix (earlier other lines are kept in {@link #seen}), or an error. */
  public String await(String prefix, int seconds) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (true) {
      String line = lines.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      if (line == null) {
        throw new AssertionError("fake systemd printed no line starting with '" + prefix + "' within " + seconds
            + " s; it printed: " + seen);
      }
      seen.add(line);
      if (line.startsWith(prefix)) {
        return line;
      }
    }
  }

  /** Every line printed so far that was passed over or awaited. */
  public List<String> seen() {
    return List.copyOf(seen);
  }

  public void command(String c) throws IOException {
    commands.write(c + "\n");
    commands.flush();
  }

  @Override
  public void close() throws Exception {
    try {
      command("quit");
    } catch (IOException e) {
      // already gone
    }
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      process.destroyForcibly();
    }
  }
}
