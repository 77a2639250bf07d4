package dev.lazydir.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * httpdirfs' --capath: the CA certificates in the files of a directory are the ones trusted. Against a real HTTPS
 * server (python's, with a certificate openssl makes for 127.0.0.1): its CA's directory lets crawl in, a
 * directory holding another CA does not.
 */
class CaPathTest {
  @TempDir Path tmp;

  private static void sh(Path dir, String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, String.join(" ", cmd) + ":\n" + out);
  }

  private static void selfSigned(Path dir, String name) throws Exception {
    sh(dir, "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
        "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", name + ".key", "-out", name + ".pem");
  }

  private int crawl(Path capath, String url, Path into, StringBuilder err) {
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    ByteArrayOutputStream e = new ByteArrayOutputStream();
    int exit = Cli.run(new String[] {"crawl", "--retries", "1", "--no-index", "--capath", capath.toString(), url,
        into.toString()}, new PrintStream(o, true, StandardCharsets.UTF_8), new PrintStream(e, true, StandardCharsets.UTF_8),
        Map.of("HOME", tmp.toString()));
    err.append(e.toString(StandardCharsets.UTF_8));
    return exit;
  }

  @Test
  void theCasInTheFilesOfTheDirectoryAreTheOnesTrusted() throws Exception {
    Path keys = Files.createDirectories(tmp.resolve("keys"));
    selfSigned(keys, "server");
    selfSigned(keys, "stranger");
    Path trusted = Files.createDirectories(tmp.resolve("trusted"));
    Files.copy(keys.resolve("server.pem"), trusted.resolve("a1b2c3d4.0"));
    Files.writeString(trusted.resolve("README"), "not a certificate\n");
    Path other = Files.createDirectories(tmp.resolve("other"));
    Files.copy(keys.resolve("stranger.pem"), other.resolve("stranger.pem"));
    Path site = Files.createDirectories(tmp.resolve("site"));
    Files.writeString(site.resolve("hello.txt"), "over TLS");
    String server = "import http.server, ssl, functools, sys\n"
        + "h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])\n"
        + "s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), h)\n"
        + "c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); c.load_cert_chain(sys.argv[2], sys.argv[3])\n"
        + "s.socket = c.wrap_socket(s.socket, server_side=True)\n"
        + "print(s.server_address[1], flush=True)\n"
        + "s.serve_forever()\n";
    Process p = new ProcessBuilder("python3", "-c", server, site.toString(), keys.resolve("server.pem").toString(),
        keys.resolve("server.key").toString()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    try {
      String port = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)).readLine();
      String url = "https://127.0.0.1:" + port + "/";
      StringBuilder err = new StringBuilder();
      assertEquals(ExitCodes.OK, crawl(trusted, url, tmp.resolve("in"), err), err.toString());
      assertEquals(8, Files.size(tmp.resolve("in/hello.txt")));
      StringBuilder refused = new StringBuilder();
      assertEquals(ExitCodes.ERROR, crawl(other, url, tmp.resolve("out"), refused), refused.toString());
      assertTrue(refused.toString().contains("127.0.0.1:" + port), refused.toString());
      StringBuilder empty = new StringBuilder();
      assertEquals(ExitCodes.ERROR, crawl(site, url, tmp.resolve("none"), empty));
      assertTrue(empty.toString().contains("--capath " + site + ": no certificate found"), empty.toString());
    } finally {
      p.destroy();
      p.waitFor(10, TimeUnit.SECONDS);
    }
  }
}
