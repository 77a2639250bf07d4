package dev.lazydir.cli;

import dev.lazydir.testing.FakeOrigin.Fault;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.testing.FakeOrigin;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The lazydir command line: help, version, exit codes, and what it prints (never a secret). */
class CommandLineTest {
  @TempDir Path tmp;

  record Result(int exit, String out, String err) {}

  static Result run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int exit = Cli.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Result(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void stallTimeoutReachesTheOriginSettingsAndDefaultsToTenSeconds() throws Exception {
    OriginOptions given = new OriginOptions();
    new picocli.CommandLine(given).parseArgs("--stall-timeout", "2.5");
    okhttp3.HttpUrl url = okhttp3.HttpUrl.get("http://origin.example/");
    assertEquals(java.time.Duration.ofMillis(2500), given.toConfig(url, java.util.Map.of(), "t").stallTimeout);
    OriginOptions unset = new OriginOptions();
    new picocli.CommandLine(unset).parseArgs();
    assertEquals(java.time.Duration.ofSeconds(10), unset.toConfig(url, java.util.Map.of(), "t").stallTimeout);
    assertTrue(run("serve", "--help").out().contains("--stall-timeout"));
  }

  @Test
  void helpListsCommandsAndExitCodes() {
    Result r = run("--help");
    assertEquals(0, r.exit());
    assertTrue(r.out().contains("crawl") && r.out().contains("demo"), r.out());
    assertTrue(r.out().contains("Exit codes"), r.out());
    Result crawl = run("crawl", "--help");
    assertEquals(0, crawl.exit());
    assertTrue(crawl.out().contains("--max-conns") && crawl.out().contains("--depth"), crawl.out());
  }

  @Test
  void versionNamesTheReleaseTheJvmTheKernelAndWhetherItHasPreContentEvents() throws Exception {
    Result r = run("--version");
    assertEquals(0, r.exit());
    java.util.List<String> lines = r.out().lines().toList();
    assertTrue(lines.get(0).matches("lazydir \\d+\\.\\d+\\.\\d+.*"), r.out());
    assertTrue(lines.get(1).startsWith("JVM:") && lines.get(1).contains(System.getProperty("java.runtime.version")), r.out());
    String release = Files.readString(Path.of("/proc/sys/kernel/osrelease")).strip();
    assertTrue(lines.get(2).startsWith("kernel:") && lines.get(2).contains(release), r.out());
    assertTrue(lines.get(3).startsWith("fanotify pre-content events: "), r.out());
    if (dev.lazydir.internal.posix.Users.euid() == 0) {
      assertEquals("fanotify pre-content events: yes", lines.get(3), "as root on Linux 6.14+ the probe answers for certain");
    }
  }

  @Test
  void badCommandLinesExitTwoWithAMessage() {
    assertEquals(ExitCodes.USAGE, run("crawl").exit());
    Result notUrl = run("crawl", "ftp://x/", tmp.resolve("d").toString());
    assertEquals(ExitCodes.USAGE, notUrl.exit());
    assertTrue(notUrl.err().contains("not an http(s) URL"), notUrl.err());
    Result header = run("crawl", "--http-header", "no colon", "http://127.0.0.1:1/", tmp.resolve("d").toString());
    assertEquals(ExitCodes.USAGE, header.exit());
    assertTrue(header.err().contains("Name: value"), header.err());
  }

  @Test
  void unreachableOriginExitsOneWithAClearError() {
    Result r = run("crawl", "--retries", "1", "http://127.0.0.1:1/pub/", tmp.resolve("d").toString());
    assertEquals(ExitCodes.ERROR, r.exit());
    assertTrue(r.err().startsWith("lazydir: error: GET http://127.0.0.1:1/pub/"), r.err());
  }

  @Test
  void passwordsNeverAppearInOutputEvenVerbose() throws Exception {
    try (FakeOrigin origin = new FakeOrigin()) {
      origin.file("/a.txt", "a", Instant.parse("2024-01-01T00:00:00Z"));
      origin.fault("/missing*", Fault.status(500));
      Path pw = tmp.resolve("pw");
      Files.writeString(pw, "s3cret-from-file\n");
      String url = origin.url("/").newBuilder().username("alice").password("url-s3cret").build().toString();
      Result r = run("-vv", "crawl", "--retries", "2", "--retry-wait", "0", "--password-file", pw.toString(),
          "--http-header", "X-Token: hdr-s3cret", url, tmp.resolve("d").toString());
      assertEquals(0, r.exit(), r.err());
      String all = r.out() + r.err();
      for (String secret : new String[] {"s3cret-from-file", "url-s3cret", "hdr-s3cret",
          Base64.getEncoder().encodeToString("alice:s3cret-from-file".getBytes(StandardCharsets.UTF_8))}) {
        assertFalse(all.contains(secret), "leaked " + secret + " in:\n" + all);
      }
      assertTrue(Files.exists(tmp.resolve("d/a.txt")));
    }
  }

  @Test
  void passwordOnTheCommandLineIsWarnedAbout() throws Exception {
    try (FakeOrigin origin = new FakeOrigin()) {
      origin.file("/a.txt", "a", Instant.parse("2024-01-01T00:00:00Z"));
      Result r = run("crawl", "-u", "bob", "-p", "visible", origin.url("/").toString(), tmp.resolve("d").toString());
      assertEquals(0, r.exit(), r.err());
      assertTrue(r.err().contains("visible to every user in ps"), r.err());
      assertFalse(r.err().contains("visible\n") || r.err().contains("'visible'"), r.err());
    }
  }

  @Test
  void demoServesTheSampleTreeAndToursIt() throws Exception {
    dev.lazydir.testing.PrivateNamespace.require("the demo (it serves with fanotify)");
    Path dir = tmp.resolve("demo");
    Result r = run("demo", "--tarball-members", "4", dir.toString());
    assertEquals(0, r.exit(), r.out() + r.err());
    assertTrue(r.out().contains("sample/part-00000.txt"), "tar | head through the view:\n" + r.out());
    assertTrue(r.out().contains("hello from a file lazydir fetched on demand"), r.out());
    assertTrue(r.out().contains("found it, eight levels down"), r.out());
    assertTrue(r.out().contains("Read-only file system"), r.out());
    Path origin = tmp.resolve("expected");
    dev.lazydir.demo.SampleTree.write(origin, 4);
    String digest = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
        .digest(Files.readAllBytes(origin.resolve("data/random.bin"))));
    assertEquals(2, r.out().split(digest).length - 1,
        "cold and warm sha256sum of data/random.bin give the origin's digest:\n" + r.out());
  }

  @Test
  void demoOnADirThatAServeIsServingRefusesAndLeavesTheLiveStoreAsItWas() throws Exception {
    dev.lazydir.testing.PrivateNamespace.require("the demo (it serves with fanotify)");
    Path dir = tmp.resolve("served");
    dev.lazydir.serve.StoreLayout layout = dev.lazydir.serve.StoreLayout.defaultFor(dir);
    layout.create();
    Files.createDirectories(layout.tree());
    Files.writeString(layout.tree().resolve("fetched.bin"), "bytes a serve fetched");
    Files.createFile(layout.run().resolve("lock"));
    java.util.Map<String, String> before = dev.lazydir.testing.LocalTree.snapshot(layout.store());
    try (dev.lazydir.testing.LockHolder serve = new dev.lazydir.testing.LockHolder(layout.run().resolve("lock"))) {
      Result r = run("demo", "--tarball-members", "4", dir.toString());
      assertEquals(ExitCodes.ERROR, r.exit(), r.out() + r.err());
      assertTrue(r.err().contains("is in use by lazydir serve") && r.err().contains("stop that serve"), r.err());
      assertEquals(1, r.err().lines().count(), r.err());
    }
    assertEquals(before, dev.lazydir.testing.LocalTree.snapshot(layout.store()), "the live store is untouched");
  }

  @Test
  void demoRefusesAStoreItDidNotMake() throws Exception {
    dev.lazydir.testing.PrivateNamespace.require("the demo (it serves with fanotify)");
    Path dir = tmp.resolve("mirror");
    dev.lazydir.serve.StoreLayout layout = dev.lazydir.serve.StoreLayout.defaultFor(dir);
    layout.create();
    Files.createDirectories(layout.tree());
    Files.writeString(layout.tree().resolve("fetched.bin"), "someone's mirror");
    java.util.Map<String, String> before = dev.lazydir.testing.LocalTree.snapshot(layout.store());

    Result r = run("demo", "--tarball-members", "4", dir.toString());

    assertEquals(ExitCodes.ERROR, r.exit(), r.out() + r.err());
    assertTrue(r.err().contains("was not made by lazydir demo") && r.err().contains("another DIR"), r.err());
    assertEquals(before, dev.lazydir.testing.LocalTree.snapshot(layout.store()), "the store is untouched");
  }

  @Test
  void demoCrawlOnlyBuildsTheStubTree() throws Exception {
    Path dir = tmp.resolve("demo");
    Result r = run("demo", "--crawl-only", "--tarball-members", "4", dir.toString());
    assertEquals(0, r.exit(), r.err());
    assertEquals(8L << 20, Files.size(dir.resolve("data/random.bin")));
    assertTrue(Files.isRegularFile(dir.resolve("deep/a/b/c/d/e/f/g/h/treasure.txt")));
    assertTrue(Files.size(dir.resolve("archive/sample.tar.gz")) > 4 * 64 * 1024 / 2);
    assertTrue(r.out().contains("Try:"), r.out());
  }
}
