package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.lazydir.testing.Commands;
import dev.lazydir.testing.Commands.Result;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitOption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real software run from a view right after `ready`, the way a user who knows nothing of lazydir runs it: no
 * `ls`, `find` or `populate` first. The origin is a real nginx over a temporary directory holding
 *
 * <ul>
 *   <li>{@code j/jdk}: a copy of this machine's JDK (links resolved: Debian's JDK links out of its tree), with a
 *       tree index at {@code j/.lazydir-index};
 *   <li>{@code py/site/pkg}: a small Python package (no index, no dotfiles: plain nginx listings);
 *   <li>{@code g/repo}: a git work tree with its {@code .git}, with a tree index at {@code g/.lazydir-index}
 *       (nginx hides dotfiles from its listings, so {@code .git} can only come from the index).
 * </ul>
 *
 * The JDK's start-up times and request counts, with the index and with listings, are printed (not asserted).
 */
class RealProgramsFromTheViewTest {
  @TempDir static Path tmp;
  static Path origin;
  static Path nginxWork;
  static String url;
  /** Links inside the JDK kept as links by copyJdk. */
  static int links;
  static final String HELLO = "hello from a JDK served by lazydir";

  @BeforeAll
  static void origin() throws Exception {
    origin = tmp.resolve("origin");
    Path jdkHome = jdkHome();
    long t0 = System.nanoTime();
    long bytes = copyJdk(jdkHome, origin.resolve("j/jdk"));
    System.out.printf("[real-programs] copied %s (%d MiB, %d links inside it kept) in %.1f s%n", jdkHome, bytes >> 20,
        links, secondsSince(t0));
    t0 = System.nanoTime();
    Result idx = ServeTest.lazydir("index", origin.resolve("j").toString());
    assertEquals(0, idx.exit(), idx.err());
    System.out.printf("[real-programs] lazydir index of the JDK: %.1f s: %s", secondsSince(t0), idx.text());

    Path pkg = origin.resolve("py/site/pkg");
    Files.createDirectories(pkg);
    Files.writeString(pkg.resolve("__init__.py"), "GREETING = 'pkg from the view'\n");
    Files.writeString(pkg.resolve("sub.py"), "from . import GREETING\n\ndef hello():\n    return GREETING + ', sub too'\n");

    // A native program bigger than several segments (4 MiB): exec maps 24 MiB of data it then reads.
    Path c = Files.createDirectories(tmp.resolve("c")).resolve("big.c");
    Files.writeString(c, "#include <stdio.h>\n"
        + "static const unsigned char blob[24 << 20] = {1, [(24 << 20) - 1] = 2};\n"
        + "int main(void) {\n  unsigned long sum = 0;\n"
        + "  for (unsigned long i = 0; i < sizeof blob; i += 4096) sum += blob[i];\n"
        + "  printf(\"big sums %lu\\n\", sum + blob[sizeof blob - 1]);\n  return 0;\n}\n");
    Commands.run(60, Map.of(), null, "cc", "-O1", "-o", Files.createDirectories(origin.resolve("native")).resolve("big").toString(),
        c.toString()).requireOk();

    makeGitRepo(origin.resolve("g/repo"));
    idx = ServeTest.lazydir("index", origin.resolve("g").toString());
    assertEquals(0, idx.exit(), idx.err());

    nginxWork = tmp.resolve("nginx");
    int port = freePort();
    Commands.run(60, Map.of(), null, "bash", "test-fixtures/servers/serve.sh", "nginx", origin.toString(),
        Integer.toString(port), nginxWork.toString()).requireOk();
    url = "http://127.0.0.1:" + port + "/";
  }

  @AfterAll
  static void stopNginx() throws Exception {
    if (nginxWork != null) {
      Commands.run(60, Map.of(), null, "bash", "test-fixtures/servers/stop.sh", nginxWork.toString()).requireOk();
    }
  }

  @Test
  void theJdkRunsAndCompilesRightAfterReadyFromItsIndex() throws Exception {
    try (ServeBed bed = new ServeBed(tmp.resolve("bed-jdk-index"), "2G")) {
      int mark = accessLog().size();
      long t0 = System.nanoTime();
      bed.serve(url + "j/");
      double ready = secondsSince(t0);
      List<String> startRequests = accessLog().subList(mark, accessLog().size());
      List<String> asked = new ArrayList<>(requests(startRequests));
      asked.remove("GET /j/"); // a first start asks for the top level's listing at the same time as the index
      assertEquals(List.of("GET /j/.lazydir-index"), asked, "ready after one request, the index (and that listing)");

      Path java = bed.view.resolve("jdk/bin/java");
      Result version = Commands.run(60, Map.of(), null, java.toString(), "-version");
      assertEquals(0, version.exit(), "java -version from the view: " + version.err() + "\n" + bed.daemonLog(0));
      assertTrue(version.err().contains("version \"" + Runtime.version().feature()), version.err());

      Path work = Files.createDirectories(tmp.resolve("hello"));
      Files.writeString(work.resolve("Hello.java"),
          "public class Hello {\n  public static void main(String[] args) {\n    System.out.println(\"" + HELLO + "\");\n  }\n}\n");
      Result javac = Commands.run(120, Map.of(), work, bed.view.resolve("jdk/bin/javac").toString(), "Hello.java");
      assertEquals(0, javac.exit(), "javac from the view: " + javac.err() + "\n" + bed.daemonLog(0));
      Result hello = Commands.run(60, Map.of(), work, java.toString(), "-cp", ".", "Hello");
      assertEquals(0, hello.exit(), hello.err());
      assertEquals(HELLO + "\n", hello.text());

      // The JDK's own links (legal/NAME/ASSEMBLY_EXCEPTION -> ../java.base/...) are links in the view, and read.
      assertTrue(links > 0, "the JDK copied has links inside its tree");
      Path legal = bed.view.resolve("jdk/legal/java.logging/ASSEMBLY_EXCEPTION");
      assertTrue(Files.isSymbolicLink(legal), legal + " is a link, as at the origin");
      Result cat = Commands.run(30, Map.of(), null, "cat", legal.toString());
      assertEquals(0, cat.exit(), cat.err());
      assertEquals(Files.readString(origin.resolve("j/jdk/legal/java.base/ASSEMBLY_EXCEPTION")), cat.text());

      List<String> all = accessLog().subList(mark, accessLog().size());
      System.out.printf("[real-programs] JDK from its index: ready %.2f s after serve started, %d request(s) to ready;"
          + " after java -version, javac and java: %s%n", ready, startRequests.size(), summary(all));
    }
  }

  @Test
  void theJdkRunsRightAfterReadyFromPlainListings() throws Exception {
    // nginx's listings carry no modes: without --file-mode 0755 bin/java would be a 0600 file, not a program.
    // --no-index: the same origin as the indexed test, read the way an origin without an index is read.
    try (ServeBed bed = new ServeBed(tmp.resolve("bed-jdk-listings"), "2G")) {
      int mark = accessLog().size();
      long t0 = System.nanoTime();
      bed.serve(url + "j/", "--no-index", "--file-mode", "0755");
      double ready = secondsSince(t0);
      List<String> startRequests = new ArrayList<>(accessLog().subList(mark, accessLog().size()));

      // Two JVMs at once on the cold view (a build starting its tools): both map lib/modules while it is fetched.
      String java = bed.view.resolve("jdk/bin/java").toString();
      CompletableFuture<Result> other = CompletableFuture.supplyAsync(() -> {
        try {
          return Commands.run(60, Map.of(), null, java, "-version");
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      });
      Result version = Commands.run(60, Map.of(), null, java, "-version");
      for (Result r : List.of(version, other.get(70, TimeUnit.SECONDS))) {
        assertEquals(0, r.exit(), "java -version from the view: " + r.err() + "\n" + bed.daemonLog(0));
        assertTrue(r.err().contains("version \"" + Runtime.version().feature()), r.err());
      }

      List<String> all = accessLog().subList(mark, accessLog().size());
      System.out.printf("[real-programs] JDK from listings (--no-index): ready %.2f s after serve started, %s to ready;"
          + " after java -version: %s%n", ready, summary(startRequests), summary(all));
    }
  }

  @Test
  void aUserWhoIsNotRootRunsAndCompilesWithTheJdkOfTheirView() throws Exception {
    // The usual set-up: root serves (fanotify needs it), the view belongs to the user who asked for it (--uid).
    // That user, not root, runs the JDK; files are 0700 (owner-only of the index's 0755) and theirs.
    try (ServeBed bed = new ServeBed(tmp.resolve("bed-jdk-user"), "2G")) {
      openPathTo(bed.fs);
      bed.serve(url + "j/", "--uid", NOBODY);
      Path work = Files.createDirectories(tmp.resolve("hello-user"));
      Files.writeString(work.resolve("Hello.java"),
          "public class Hello {\n  public static void main(String[] args) {\n    System.out.println(\"" + HELLO + "\");\n  }\n}\n");
      Commands.run(10, Map.of(), null, "chown", "-R", NOBODY + ":" + NOBODY, work.toString()).requireOk();
      Result javac = Commands.run(120, Map.of(), work, asNobody(bed.view.resolve("jdk/bin/javac").toString(), "Hello.java"));
      assertEquals(0, javac.exit(), "javac from the view as its owner: " + javac.err() + "\n" + bed.daemonLog(0));
      Result hello = Commands.run(60, Map.of(), work, asNobody(bed.view.resolve("jdk/bin/java").toString(), "-cp", ".", "Hello"));
      assertEquals(0, hello.exit(), hello.err());
      assertEquals(HELLO + "\n", hello.text());
    }
  }

  @Test
  void withAllowOtherAnyUserRunsTheJdkServedFromListings() throws Exception {
    try (ServeBed bed = new ServeBed(tmp.resolve("bed-jdk-other"), "2G")) {
      openPathTo(bed.fs);
      bed.serve(url + "j/", "--no-index", "--allow-other", "--file-mode", "0755");
      Result version = Commands.run(60, Map.of(), null, asNobody(bed.view.resolve("jdk/bin/java").toString(), "-version"));
      assertEquals(0, version.exit(), "java -version as another user: " + version.err() + "\n" + bed.daemonLog(0));
      assertTrue(version.err().contains("version \"" + Runtime.version().feature()), version.err());
    }
  }

  @Test
  void aRestartedServeRunsTheJdkWithoutFetchingAnythingAgain() throws Exception {
    try (ServeBed bed = new ServeBed(tmp.resolve("bed-jdk-restart"), "2G")) {
      Process first = bed.serve(url + "j/");
      Path java = bed.view.resolve("jdk/bin/java");
      assertEquals(0, Commands.run(60, Map.of(), null, java.toString(), "-version").exit());
      assertEquals(0, bed.stop(first));
      int mark = accessLog().size();
      bed.serve(url + "j/");
      Result again = Commands.run(60, Map.of(), null, java.toString(), "-version");
      assertEquals(0, again.exit(), again.err() + "\n" + bed.daemonLog(1));
      assertEquals(List.of("GET /j/.lazydir-index"), requests(accessLog().subList(mark, accessLog().size())),
          "what java -version read is in the store: only the index is asked for again");
    }
  }

  @Test
  void aNativeProgramOfManySegmentsRunsColdAndAgainOnceComplete() throws Exception {
    // exec of a file with bytes still to fetch, while the daemon holds it open for writing (the kernel does not
    // deny writes to an executable watched for pre-content, so no ETXTBSY): the loader's mapping of 24 MiB is
    // filled before it proceeds. Once complete (no content mark, no write fd left) it runs again as a plain file.
    try (ServeBed bed = new ServeBed(tmp.resolve("bed-native"), "256M")) {
      bed.serve(url + "native/", "--file-mode", "0755");
      String big = bed.view.resolve("big").toString();
      Result cold = Commands.run(60, Map.of(), null, big);
      assertEquals(0, cold.exit(), "a cold exec: " + cold.err() + "\n" + bed.daemonLog(0));
      assertEquals("big sums 3\n", cold.text());
      Result cat = Commands.run(60, Map.of(), null, "cmp", big, origin.resolve("native/big").toString());
      assertEquals(0, cat.exit(), cat.text() + cat.err());
      Result warm = Commands.run(60, Map.of(), null, big);
      assertEquals(0, warm.exit(), "an exec of the complete file: " + warm.err() + "\n" + bed.daemonLog(0));
      assertEquals("big sums 3\n", warm.text());
    }
  }

  @Test
  void aPythonPackageImportsFromTheViewRightAfterReady() throws Exception {
    try (ServeBed bed = new ServeBed(tmp.resolve("bed-py"), "64M")) {
      bed.serve(url + "py/");
      Path site = bed.view.resolve("site");
      Result py = Commands.run(60, Map.of("PYTHONPATH", site.toString()), null, "python3", "-c",
          "import pkg, pkg.sub; print(pkg.__file__); print(pkg.sub.hello())");
      assertEquals(0, py.exit(), py.err());
      assertEquals(site.resolve("pkg/__init__.py") + "\npkg from the view, sub too\n", py.text(),
          "the regular package under DIR, not an empty namespace package");
    }
  }

  @Test
  void aGitWorkTreeIsCleanAndItsHistoryReadsRightAfterReady() throws Exception {
    // git refuses a repository owned by another user: the view is given to the user running git (--uid), and git
    // reads only a configuration of this test's own (no global or system file).
    Path gitconfig = tmp.resolve("gitconfig");
    Files.writeString(gitconfig, "");
    Map<String, String> env = Map.of("GIT_CONFIG_GLOBAL", gitconfig.toString(), "GIT_CONFIG_NOSYSTEM", "1");
    String uid = String.valueOf(Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
    try (ServeBed bed = new ServeBed(tmp.resolve("bed-git"), "64M")) {
      bed.serve(url + "g/", "--uid", uid);
      Path repo = bed.view.resolve("repo");
      Result status = Commands.run(60, env, repo, "git", "status", "--porcelain");
      assertEquals(0, status.exit(), status.err() + "\n" + bed.daemonLog(0));
      assertEquals("", status.text(), "clean: every file, mode and link as committed");
      Result log = Commands.run(60, env, repo, "git", "log", "-1", "--format=%s");
      assertEquals(0, log.exit(), log.err());
      assertEquals("Add the launcher and its docs\n", log.text());
      Result show = Commands.run(60, env, repo, "git", "show", "HEAD~1:src/main.c");
      assertEquals(0, show.exit(), show.err());
      assertEquals("int main(void) { return 0; }\n", show.text());
    }
  }

  // ------------------------------------------------------------------------------------------------- helpers

  /** A user other than root that exists everywhere (numeric: names differ between distributions). */
  private static final String NOBODY = "65534";

  /** The command, run as NOBODY with no supplementary groups. */
  private static String[] asNobody(String... cmd) {
    List<String> all = new ArrayList<>(List.of("setpriv", "--reuid=" + NOBODY, "--regid=" + NOBODY, "--clear-groups",
        "env", "HOME=/nonexistent"));
    all.addAll(List.of(cmd));
    return all.toArray(String[]::new);
  }

  /** Makes every directory from /tmp's child down to dir traversable by other users (TempDirs are 0700). */
  private static void openPathTo(Path dir) throws IOException {
    for (Path p = dir; p != null && p.startsWith(tmp.getParent()) && !p.equals(tmp.getParent()); p = p.getParent()) {
      Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
  }

  /** The JDK running this build (or the one javac on PATH belongs to): its home, links resolved. */
  private static Path jdkHome() throws IOException {
    Path home = Path.of(System.getProperty("java.home")).toRealPath();
    if (!Files.isExecutable(home.resolve("bin/javac"))) {
      fail(home + " has no bin/javac: these tests need a full JDK");
    }
    return home;
  }

  /**
   * Copies a JDK as its tarball would be: links that stay inside the tree (legal/NAME/ASSEMBLY_EXCEPTION ->
   * ../java.base/...) stay links; links leaving it (Debian's conf/ and lib/ files point into /etc) are resolved,
   * as `cp -rL` would; dangling ones (lib/src.zip of a package not installed) are left out. Modes and times are
   * kept. Returns the bytes copied.
   */
  private static long copyJdk(Path from, Path to) throws IOException {
    long bytes = 0;
    List<Path[]> dirs = new ArrayList<>();
    try (Stream<Path> walk = Files.walk(from, FileVisitOption.FOLLOW_LINKS)) {
      for (Path p : (Iterable<Path>) walk::iterator) {
        Path target = to.resolve(from.relativize(p).toString());
        if (!Files.exists(p)) {
          continue; // dangling
        }
        if (Files.isSymbolicLink(p) && !Files.readSymbolicLink(p).isAbsolute()
            && p.getParent().resolve(Files.readSymbolicLink(p)).normalize().startsWith(from)
            && from.relativize(p).getNameCount() > countDotDots(Files.readSymbolicLink(p))
            && Files.isRegularFile(p)) {
          Files.createSymbolicLink(target, Files.readSymbolicLink(p));
          links++;
        } else if (Files.isDirectory(p)) {
          Files.createDirectories(target);
          dirs.add(new Path[] {p, target});
        } else if (Files.isRegularFile(p)) {
          Files.copy(p, target, StandardCopyOption.COPY_ATTRIBUTES);
          bytes += Files.size(target);
        }
      }
    }
    for (Path[] d : dirs) {
      Files.setPosixFilePermissions(d[1], Files.getPosixFilePermissions(d[0]));
      Files.setLastModifiedTime(d[1], Files.getLastModifiedTime(d[0]));
    }
    return bytes;
  }

  private static int countDotDots(Path link) {
    int n = 0;
    for (Path name : link) {
      n += name.toString().equals("..") ? 1 : 0;
    }
    return n;
  }

  /** A small repository: a program, an executable script, a link inside the tree, a dotfile, two commits. */
  private static void makeGitRepo(Path repo) throws Exception {
    Files.createDirectories(repo.resolve("src"));
    Files.createDirectories(repo.resolve("bin"));
    Files.writeString(repo.resolve("src/main.c"), "int main(void) { return 0; }\n");
    Files.writeString(repo.resolve(".gitignore"), "*.o\n");
    Map<String, String> env = new TreeMap<>(Map.of("GIT_CONFIG_GLOBAL", "/dev/null", "GIT_CONFIG_NOSYSTEM", "1",
        "GIT_AUTHOR_NAME", "Test", "GIT_AUTHOR_EMAIL", "test@example.invalid", "GIT_COMMITTER_NAME", "Test",
        "GIT_COMMITTER_EMAIL", "test@example.invalid"));
    Commands.run(30, env, repo, "git", "init", "-q", "-b", "main").requireOk();
    Commands.run(30, env, repo, "git", "add", "-A").requireOk();
    Commands.run(30, env, repo, "git", "commit", "-q", "-m", "Start with a program").requireOk();
    Files.writeString(repo.resolve("bin/run.sh"), "#!/bin/sh\nexec ./a.out \"$@\"\n");
    Files.setPosixFilePermissions(repo.resolve("bin/run.sh"), PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.writeString(repo.resolve("README.md"), "# repo\n\nRun bin/run.sh.\n");
    Files.createSymbolicLink(repo.resolve("docs"), Path.of("README.md"));
    Files.createSymbolicLink(repo.resolve("src/launcher"), Path.of("../bin/run.sh"));
    Commands.run(30, env, repo, "git", "add", "-A").requireOk();
    Commands.run(30, env, repo, "git", "commit", "-q", "-m", "Add the launcher and its docs").requireOk();
    Result st = Commands.run(30, env, repo, "git", "status", "--porcelain");
    st.requireOk();
    assertEquals("", st.text(), "the origin's own work tree is clean");
  }

  private static List<String> accessLog() throws IOException {
    return Files.readAllLines(nginxWork.resolve("access.log"), StandardCharsets.ISO_8859_1);
  }

  /** "METHOD path" of each access-log line. */
  private static List<String> requests(List<String> lines) {
    List<String> out = new ArrayList<>();
    for (String l : lines) {
      out.add(l.substring(l.indexOf('"') + 1, l.indexOf(" HTTP/")));
    }
    return out;
  }

  /** "N requests (a listings, b ranges of c MiB, ...)" from access-log lines. */
  private static String summary(List<String> lines) {
    int listings = 0;
    int heads = 0;
    int gets = 0;
    long bytes = 0;
    for (String l : lines) {
      String req = l.substring(l.indexOf('"') + 1, l.indexOf(" HTTP/"));
      String[] after = l.substring(l.indexOf(" HTTP/")).split("\"", 3)[1].trim().split(" ");
      bytes += after.length > 1 && after[1].matches("\\d+") ? Long.parseLong(after[1]) : 0;
      if (req.startsWith("HEAD ")) {
        heads++;
      } else if (req.endsWith("/")) {
        listings++;
      } else {
        gets++;
      }
    }
    return String.format("%d requests (%d listings, %d HEAD, %d file GETs; %.1f MiB sent)", lines.size(), listings,
        heads, gets, bytes / 1048576.0);
  }

  private static double secondsSince(long t0) {
    return (System.nanoTime() - t0) / 1e9;
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

}
