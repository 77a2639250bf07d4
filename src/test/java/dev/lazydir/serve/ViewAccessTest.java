package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.testing.Commands.Result;
import dev.lazydir.testing.FakeOrigin;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Who can read a served view, tried as real users (setpriv to nobody, 65534): by default only its owner (and
 * root), with --allow-other everyone, with --uid that user; a restart applies what it is asked to the tree it
 * finds. The daemon runs as root throughout; only the stubs' owner and modes change.
 */
class ViewAccessTest {
  static final Instant T = Instant.parse("2024-06-01T12:00:00Z");
  static final String SECRET = "fetched with the origin's credentials\n";
  static final String DEEPER = "one level down\n";
  @TempDir Path tmp;
  FakeOrigin origin;
  ServeBed bed;

  @BeforeEach
  void setUp() throws Exception {
    origin = new FakeOrigin().file("/secret.txt", SECRET, T).file("/sub/deeper.txt", DEEPER, T);
    bed = new ServeBed(tmp);
    // The way to the view is open to everyone, so a refusal can only come from the view itself.
    Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
    Result reach = as(65534, "ls", bed.fs.toString());
    assertEquals(0, reach.exit(), "nobody must reach " + bed.fs + ": " + reach.err());
  }

  @AfterEach
  void tearDown() throws Exception {
    bed.close();
    origin.close();
  }

  static Result as(int uid, String... cmd) throws Exception {
    List<String> all = new ArrayList<>(List.of("setpriv", "--reuid=" + uid, "--regid=" + uid, "--clear-groups"));
    all.addAll(List.of(cmd));
    return ServeBed.run(60, all.toArray(String[]::new));
  }

  String view(String name) {
    return bed.view.resolve(name).toString();
  }

  void assertReads(int uid) throws Exception {
    Result top = as(uid, "cat", view("secret.txt"));
    assertEquals(0, top.exit(), "uid " + uid + ": " + top.err());
    assertEquals(SECRET, top.text());
    // No lookup event: sub is listed when this user opens it, then its file is there.
    Result deeper = as(uid, "sh", "-c", "ls \"$1\" >/dev/null && cat \"$1/deeper.txt\"", "sh", view("sub"));
    assertEquals(0, deeper.exit(), "uid " + uid + ": " + deeper.err());
    assertEquals(DEEPER, deeper.text());
  }

  void assertRefused(int uid) throws Exception {
    Result cat = as(uid, "cat", view("secret.txt"));
    assertNotEquals(0, cat.exit(), "uid " + uid + " read " + cat.text());
    assertTrue(cat.err().contains("Permission denied"), cat.err());
    Result ls = as(uid, "ls", bed.view.toString());
    assertNotEquals(0, ls.exit(), "uid " + uid + " listed " + ls.text());
    assertTrue(ls.err().contains("Permission denied"), ls.err());
  }

  static int owner(Path p) throws Exception {
    return (Integer) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS);
  }

  static int mode(Path p) throws Exception {
    return (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07777;
  }

  @Test
  void byDefaultOtherUsersCannotReadTheViewAndRootStillCan() throws Exception {
    bed.serve(origin.url("/").toString());
    assertRefused(65534);
    assertEquals(SECRET, ServeBed.run(60, "cat", view("secret.txt")).text());
    assertEquals(0700, mode(bed.view));
    assertEquals(0600, mode(bed.view.resolve("secret.txt")));
  }

  @Test
  void allowOtherLetsEveryUserRead() throws Exception {
    bed.serve(origin.url("/").toString(), "--allow-other");
    assertReads(65534);
    assertEquals(0755, mode(bed.view.resolve("sub")));
    assertEquals(0644, mode(bed.view.resolve("sub/deeper.txt")));
  }

  @Test
  void theUidUserReadsTheViewAndOtherUsersDoNot() throws Exception {
    bed.serve(origin.url("/").toString(), "--uid", "nobody");
    assertReads(65534);
    assertRefused(65533);
    assertEquals(65534, owner(bed.view));
    assertEquals(65534, owner(bed.view.resolve("sub/deeper.txt")));
  }

  @Test
  void aRestartGivesTheTreeItFindsTheAccessAskedForNow() throws Exception {
    Process open = bed.serve(origin.url("/").toString(), "--allow-other");
    assertReads(65534); // fetched and listed while open to all
    assertEquals(0, bed.stop(open));

    Process closed = bed.serve(origin.url("/").toString());
    assertRefused(65534);
    Path tree = bed.store.resolve("tree");
    assertEquals(0600, mode(tree.resolve("sub/deeper.txt")), "a complete file below the top is closed too");
    assertEquals(0700, mode(tree.resolve("sub")));
    assertEquals(0, bed.stop(closed));

    bed.serve(origin.url("/").toString(), "--uid", "65534", "--gid", "65534");
    assertReads(65534);
    assertEquals(65534, owner(tree.resolve("sub/deeper.txt")));
  }
}
