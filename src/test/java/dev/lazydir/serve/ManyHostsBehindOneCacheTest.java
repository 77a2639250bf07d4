package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lazydir.testing.Commands.Result;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Where users outgrow one machine they put an HTTP cache between their hosts and the origin. Here: a real nginx
 * origin, a real nginx {@code proxy_cache} with the slice module in front of it, and two hosts (two daemons, two
 * stores, two views), one reaching the cache as a reverse proxy (its URL), the other through {@code --proxy}. Both
 * read the origin's exact bytes (ranges and validators pass intact: every answer is checked against the listed
 * version), and the origin sends each byte of the file once: the second host's cold read is the cache's.
 */
class ManyHostsBehindOneCacheTest {
  static final int SIZE = 12 << 20;
  @TempDir static Path tmp;
  static byte[] content = new byte[SIZE];
  static int originPort;
  static int cachePort;

  @BeforeAll
  static void originAndCache() throws Exception {
    new Random(5).nextBytes(content);
    Path tree = tmp.resolve("origin/tree");
    Files.createDirectories(tree.resolve("d"));
    Files.write(tree.resolve("d/big.bin"), content);
    Files.writeString(tree.resolve("d/small.txt"), "small\n");
    Files.createDirectories(tmp.resolve("cache"));
    originPort = freePort();
    cachePort = freePort();
    server("nginx", tmp.resolve("origin").toString(), originPort, "origin-work", null);
    server("nginx-cache", tmp.resolve("cache").toString(), cachePort, "cache-work", "127.0.0.1:" + originPort);
  }

  @AfterAll
  static void stop() throws Exception {
    for (String w : List.of("cache-work", "origin-work")) {
      ServeBed.run(30, "bash", "test-fixtures/servers/stop.sh", tmp.resolve(w).toString());
    }
  }

  private static void server(String kind, String root, int port, String work, String upstream) throws Exception {
    ProcessBuilder pb = new ProcessBuilder("bash", "test-fixtures/servers/serve.sh", kind, root,
        Integer.toString(port), tmp.resolve(work).toString()).inheritIO();
    if (upstream != null) {
      pb.environment().put("UPSTREAM", upstream);
    }
    assertEquals(0, pb.start().waitFor(), kind + " started");
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  /** Body bytes the origin sent for a path, from its access log (combined format: status, then bytes). */
  private static long originBytes(String path) throws IOException {
    long sum = 0;
    for (String line : Files.readAllLines(tmp.resolve("origin-work/access.log"))) {
      String[] f = line.split(" ");
      if (f.length > 9 && f[6].equals(path)) {
        sum += Long.parseLong(f[9]);
      }
    }
    return sum;
  }

  @Test
  void twoHostsReadTheOriginsBytesAndTheOriginSendsThemOnce() throws Exception {
    String bigPath = "/tree/d/big.bin";
    try (ServeBed hostA = new ServeBed(tmp.resolve("host-a")); ServeBed hostB = new ServeBed(tmp.resolve("host-b"))) {
      // Host A names the cache as its origin (a reverse proxy); host B names the origin and goes through the cache.
      hostA.serve("http://127.0.0.1:" + cachePort + "/tree/", "--prefetch-small", "0");
      hostB.serve("http://127.0.0.1:" + originPort + "/tree/", "--prefetch-small", "0",
          "--proxy", "http://127.0.0.1:" + cachePort);

      Result a = ServeBed.run(60, "cat", hostA.view.resolve("d/big.bin").toString());
      assertEquals(0, a.exit(), a.err() + hostA.daemonLog(0));
      assertArrayEquals(content, a.out(), "host A reads the origin's bytes");
      long afterA = originBytes(bigPath);
      assertEquals(SIZE, afterA, "the origin sent the file once, slice by slice");

      Result b = ServeBed.run(60, "cat", hostB.view.resolve("d/big.bin").toString());
      assertEquals(0, b.exit(), b.err() + hostB.daemonLog(0));
      assertArrayEquals(content, b.out(), "host B reads the origin's bytes");
      assertEquals(afterA, originBytes(bigPath), "host B's cold read came from the cache, not the origin");

      Result small = ServeBed.run(30, "cat", hostB.view.resolve("d/small.txt").toString());
      assertEquals("small\n", small.text(), small.err());
    }
  }
}
