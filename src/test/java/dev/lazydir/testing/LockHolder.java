package dev.lazydir.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Another process holding an fcntl lock on a file, as a running serve holds its store's run/lock (a lock
 * taken in the test's own JVM would be seen by the JDK before the kernel is asked).
 */
public final class LockHolder implements AutoCloseable {
  private final Process process;

  public LockHolder(Path file) throws IOException {
    process = new ProcessBuilder("python3", "-c",
        "import fcntl, sys\n"
            + "f = open(sys.argv[1], 'a')\n"
            + "fcntl.lockf(f, fcntl.LOCK_EX)\n"
            + "print('locked', flush=True)\n"
            + "sys.stdin.read()\n", file.toString()).redirectErrorStream(true).start();
    String line = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8)).readLine();
    if (!"locked".equals(line)) {
      close();
      throw new IOException("could not hold a lock on " + file + ": " + line);
    }
  }

  public long pid() {
    return process.pid();
  }

  @Override
  public void close() throws IOException {
    process.getOutputStream().close(); // its stdin ends: it exits, releasing the lock
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}
