package dev.lazydir.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad command lines get one line naming the option (and the config file and line it came from) and a hint where the
 * help is, exit 2, and change nothing; runtime problems exit 1.
 */
class UsageErrorsTest {
  @TempDir Path tmp;

  record Result(int exit, String out, String err) {
    List<String> errLines() {
      return err.lines().toList();
    }
  }

  Result run(Map<String, String> env, String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int exit = Cli.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8), env);
    return new Result(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  Result run(String... args) {
    return run(Map.of("HOME", tmp.resolve("home").toString()), args);
  }

  private void assertShortUsageError(Result r, String mentions, String command) {
    assertEquals(ExitCodes.USAGE, r.exit(), r.err());
    assertEquals(2, r.errLines().size(), "one line and a hint, not the full help:\n" + r.err());
    assertTrue(r.errLines().get(0).contains(mentions), r.err());
    assertEquals("see lazydir " + command + " --help", r.errLines().get(1));
  }

  @Test
  void outOfRangeOptionsAreNamedAndNothingIsCreated() {
    String dir = tmp.resolve("view").toString();
    assertShortUsageError(run("crawl", "--retries", "0", "http://127.0.0.1:1/", dir), "--retries must be at least 1", "crawl");
    assertShortUsageError(run("serve", "--dl-seg-size", "0", "http://127.0.0.1:1/", dir), "--dl-seg-size 0", "serve");
    assertShortUsageError(run("serve", "--dl-seg-size", "3000", "http://127.0.0.1:1/", dir), "--dl-seg-size", "serve");
    assertShortUsageError(run("serve", "--readahead", "-1", "http://127.0.0.1:1/", dir), "--readahead", "serve");
    assertShortUsageError(run("serve", "--max-conns", "0", "http://127.0.0.1:1/", dir), "--max-conns", "serve");
    assertShortUsageError(run("serve", "--max-conns", "65", "http://127.0.0.1:1/", dir), "--max-conns must be at most 64",
        "serve");
    assertShortUsageError(run("serve", "--timeout", "0", "http://127.0.0.1:1/", dir), "--timeout", "serve");
    assertShortUsageError(run("crawl", "--cacert", "/nonexistent.pem", "http://127.0.0.1:1/", dir),
        "--cacert /nonexistent.pem: no such file", "crawl");
    assertShortUsageError(run("crawl", "--capath", "/nonexistent.d", "http://127.0.0.1:1/", dir),
        "--capath /nonexistent.d: no such directory", "crawl");
    assertFalse(Files.exists(tmp.resolve("view")), "nothing was created");
    assertFalse(Files.exists(tmp.resolve(".view.lazydir")), "no store was created");
  }

  @Test
  void anUnknownOptionIsOneLineAndAHintAndHelpStaysOnHelp() {
    assertShortUsageError(run("serve", "--bogus", "http://h/", tmp.toString()), "--bogus", "serve");
    Result help = run("serve", "--help");
    assertEquals(0, help.exit());
    assertTrue(help.out().lines().count() > 30, "--help prints the full help");
  }

  @Test
  void aMissingConfigFileIsNamed() {
    Path nope = tmp.resolve("nope.conf");
    Result r = run("crawl", "--config", nope.toString(), "http://h/", tmp.resolve("d").toString());
    assertEquals(ExitCodes.USAGE, r.exit());
    assertEquals("lazydir: --config " + nope + ": no such file; give the path of an existing config file",
        r.errLines().get(0));
  }

  @Test
  void anUnknownOptionInAConfigFileNamesTheFileAndLineNotTheDirArgument() throws Exception {
    Path conf = Files.writeString(tmp.resolve("l.conf"), "# settings\nretries 2\nbogus-option 7\n");
    Result r = run("crawl", "--config", conf.toString(), "http://h/", tmp.resolve("d").toString());
    assertEquals(ExitCodes.USAGE, r.exit(), r.err());
    assertEquals("lazydir: " + conf + ":3: lazydir crawl has no option --bogus-option; see lazydir crawl --help",
        r.errLines().get(0));
    assertFalse(r.err().contains("DIR"), r.err());
  }

  @Test
  void aBadValueInAConfigFileNamesTheFileAndLine() throws Exception {
    Path conf = Files.writeString(tmp.resolve("l.conf"), "max-conns 4\nretries=0\n");
    Result r = run("crawl", "--config", conf.toString(), "http://h/", tmp.resolve("d").toString());
    assertShortUsageError(r, conf + ":2: --retries must be at least 1", "crawl");
    Result typed = run("crawl", "--config", Files.writeString(tmp.resolve("t.conf"), "retries=many\n").toString(),
        "http://h/", tmp.resolve("d").toString());
    assertShortUsageError(typed, tmp.resolve("t.conf") + ":1: ", "crawl");
    assertTrue(typed.err().contains("many"), typed.err());
  }

  @Test
  void theDefaultConfigFileIsReadAndItsOptionsForOtherCommandsAreSkipped() throws Exception {
    Path xdg = tmp.resolve("xdg");
    Files.createDirectories(xdg.resolve("lazydir"));
    Path conf = Files.writeString(xdg.resolve("lazydir/config"), "dl-seg-size 8M\nretries 0\n");
    Result r = run(Map.of("XDG_CONFIG_HOME", xdg.toString()), "crawl", "http://127.0.0.1:1/", tmp.resolve("d").toString());
    assertShortUsageError(r, conf + ":2: --retries must be at least 1", "crawl");
    Result own = run(Map.of("XDG_CONFIG_HOME", xdg.toString()), "crawl", "--retries", "1", "http://127.0.0.1:1/",
        tmp.resolve("d").toString());
    assertEquals(ExitCodes.ERROR, own.exit(), "the command line wins over the default file (then the origin is down): "
        + own.err());
    assertEquals(List.of(Path.of("/etc/lazydir/config"), Path.of("/home/u/.config/lazydir/config")),
        ConfigFile.defaults(Map.of("HOME", "/home/u")));
  }

  @Test
  void statusOfAPathInsideAViewIsARuntimeErrorNotAUsageError() throws Exception {
    Files.createDirectories(tmp.resolve("view/sub"));
    Result r = run("status", tmp.resolve("view/sub").toString());
    assertEquals(ExitCodes.ERROR, r.exit(), r.err());
    assertTrue(r.err().contains("has no lazydir store") && r.err().contains("not a path inside it"), r.err());
  }

  @Test
  void populateOfAPathOutsideAnyViewIsAnErrorNamingIt() {
    Result r = run("populate", "/etc/hostname");
    assertEquals(ExitCodes.ERROR, r.exit(), r.out() + r.err());
    assertEquals(1, r.errLines().size(), r.err());
    assertTrue(r.err().contains("/etc/hostname is not inside a view served by lazydir"), r.err());
    assertFalse(r.out().contains("populated"), r.out());
    Result missing = run("populate", "/nonexistent-dir/x");
    assertEquals(ExitCodes.ERROR, missing.exit(), missing.err());
    assertTrue(missing.err().contains("is not inside a view"), missing.err());
  }

  @Test
  void logLinesCarryATimeAndALevel() throws Exception {
    Path log = tmp.resolve("l.log");
    Result r = run("-v", "--log-file", log.toString(), "crawl", "--retries", "1", "-p", "pw", "-u", "u",
        "http://127.0.0.1:1/", tmp.resolve("d").toString());
    assertEquals(ExitCodes.ERROR, r.exit());
    String text = Files.readString(log);
    assertTrue(text.lines().anyMatch(l -> l.matches("\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{3} WARN .*visible to every user.*")),
        text);
    assertTrue(text.contains("lazydir: error: GET http://127.0.0.1:1/"), "the command's error goes to the log file too: " + text);
    assertFalse(r.err().contains("visible to every user"), "nothing on stderr: " + r.err());
  }

  @Test
  void aConfigLineGivingASwitchAValueOrAnOptionNoneIsNamed() throws Exception {
    Path conf = Files.writeString(tmp.resolve("s.conf"), "insecure-tls maybe\n");
    Result r = run("crawl", "--config", conf.toString(), "http://h/", tmp.resolve("d").toString());
    assertEquals(ExitCodes.USAGE, r.exit(), r.err());
    assertTrue(r.errLines().get(0).startsWith("lazydir: " + conf + ":1: --insecure-tls is a switch and takes no value"),
        r.err());
    Path none = Files.writeString(tmp.resolve("n.conf"), "# x\nretries\n");
    Result r2 = run("crawl", "--config", none.toString(), "http://h/", tmp.resolve("d").toString());
    assertEquals(ExitCodes.USAGE, r2.exit(), r2.err());
    assertTrue(r2.errLines().get(0).startsWith("lazydir: " + none + ":2: --retries needs a value"), r2.err());
    // a switch written "= false" is left off, "= true" given: the crawl then fails only at the (absent) origin
    Path flags = Files.writeString(tmp.resolve("f.conf"), "insecure-tls = false\nallow-other=true\nretries 1\n");
    Result r3 = run("crawl", "--config", flags.toString(), "http://127.0.0.1:1/", tmp.resolve("d").toString());
    assertEquals(ExitCodes.ERROR, r3.exit(), r3.err());
  }
}
