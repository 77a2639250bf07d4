package dev.lazydir.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The install path without Docker, on what `mvn package` built (an integration test: it runs after the jar is
 * made): the build produced the man page and the bash completion; dist/install.sh puts the launcher, the jar, the
 * man page, the completion and the systemd unit under a prefix; the installed launcher runs; the installed unit
 * passes systemd-analyze verify (PID 1 is not systemd on the test machines, so it is checked, not started).
 */
class InstallIT {
  @TempDir Path tmp;

  record Run(int exit, String out) {}

  static Run run(Path cwd, java.util.Map<String, String> env, String... cmd) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(cwd.toFile()).redirectErrorStream(true);
    pb.environment().putAll(env);
    Process p = pb.start();
    byte[] out = p.getInputStream().readAllBytes();
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), String.join(" ", cmd) + " finished");
    return new Run(p.exitValue(), new String(out, StandardCharsets.UTF_8));
  }

  @Test
  void theBuildMakesAManPageWithEveryCommandAndACompletionBashLoads() throws Exception {
    String man = Files.readString(Path.of("target/man/lazydir.1"));
    assertTrue(man.startsWith(".TH LAZYDIR 1 "), man.lines().findFirst().orElse(""));
    for (String command : List.of("crawl", "serve", "index", "populate", "status", "wait", "demo")) {
      assertTrue(man.contains(".SH \"LAZYDIR " + command.toUpperCase() + "\""), command + " has its section");
    }
    assertTrue(man.contains("\\-\\-dl\\-seg\\-size"), "options are written as typed");
    Run complete = run(Path.of("."), java.util.Map.of(), "bash", "-c",
        "source target/completion/lazydir && complete -p lazydir && COMP_WORDS=(lazydir se) COMP_CWORD=1"
            + " && _complete_lazydir && printf '%s\\n' \"${COMPREPLY[@]}\"");
    assertEquals(0, complete.exit(), complete.out());
    assertTrue(complete.out().contains("complete -o default -F _complete_lazydir lazydir"), complete.out());
    assertTrue(complete.out().lines().anyMatch("serve"::equals), "'lazydir se<TAB>' completes to serve: " + complete.out());
  }

  @Test
  void installIntoAPrefixGivesARunningLauncherAndAUnitSystemdAccepts() throws Exception {
    Path prefix = tmp.resolve("prefix");
    Run install = run(Path.of("."), java.util.Map.of(), "sh", "dist/install.sh", prefix.toString());
    assertEquals(0, install.exit(), install.out());
    for (String f : List.of("bin/lazydir", "share/lazydir/lazydir.jar", "share/man/man1/lazydir.1",
        "share/bash-completion/completions/lazydir", "lib/systemd/system/lazydir@.service")) {
      assertTrue(Files.isRegularFile(prefix.resolve(f)), f + " installed");
    }
    // From elsewhere, without the source tree's target/: the installed launcher finds the installed jar.
    Run version = run(tmp, java.util.Map.of(), prefix.resolve("bin/lazydir").toString(), "--version");
    assertEquals(0, version.exit(), version.out());
    assertTrue(version.out().startsWith("lazydir "), version.out());

    Path unit = prefix.resolve("lib/systemd/system/lazydir@.service");
    assertTrue(Files.readString(unit).contains("ExecStart=" + prefix.resolve("bin/lazydir") + " serve "),
        "the unit runs the installed launcher");
    Path units = Files.createDirectories(tmp.resolve("units"));
    Files.copy(unit, units.resolve("lazydir@.service"));
    Files.createSymbolicLink(units.resolve("lazydir@mirror.service"), Path.of("lazydir@.service"));
    Run verify = run(tmp, java.util.Map.of("MANPATH", prefix.resolve("share/man").toString()),
        "systemd-analyze", "verify", units.resolve("lazydir@mirror.service").toString());
    assertEquals(0, verify.exit(), "systemd-analyze verify: " + verify.out());
    assertEquals("", verify.out().strip(), "no warning from systemd-analyze verify");
  }

  @Test
  void installRefusesARelativePrefixAndChangesNothing() throws Exception {
    Run install = run(tmp, java.util.Map.of(), "sh", Path.of("dist/install.sh").toAbsolutePath().toString(), "rel");
    assertEquals(2, install.exit());
    assertEquals("install.sh: PREFIX must be an absolute path (got 'rel'); for example: dist/install.sh /usr/local",
        install.out().strip());
    assertTrue(!Files.exists(tmp.resolve("rel")));
  }
}
