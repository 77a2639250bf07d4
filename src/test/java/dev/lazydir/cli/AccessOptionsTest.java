package dev.lazydir.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.internal.posix.Users;
import dev.lazydir.tree.Access;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/** --uid, --gid and --allow-other: who owns the view by default, and how names become ids. */
class AccessOptionsTest {
  static final AccessOptions.Lookup DB = new AccessOptions.Lookup() {
    @Override
    public OptionalInt uid(String name) {
      return name.equals("alice") ? OptionalInt.of(1001) : OptionalInt.empty();
    }

    @Override
    public OptionalInt gid(String name) {
      return name.equals("staff") ? OptionalInt.of(50) : OptionalInt.empty();
    }

    @Override
    public OptionalInt primaryGid(int uid) {
      return uid == 1001 ? OptionalInt.of(1001) : OptionalInt.empty();
    }
  };

  static AccessOptions options(String uid, String gid, boolean allowOther) {
    AccessOptions o = new AccessOptions();
    o.uid = uid;
    o.gid = gid;
    o.allowOther = allowOther;
    return o;
  }

  @Test
  void rootRunThroughSudoMakesTheViewTheCallers() {
    Access a = options(null, null, false).resolve(Map.of("SUDO_UID", "1000", "SUDO_GID", "1000"), 0, 0, DB);
    assertEquals(1000, a.uid());
    assertEquals(1000, a.gid());
    assertEquals(0600, a.fileBits());
  }

  @Test
  void rootWithoutSudoOwnsTheView() {
    Access a = options(null, null, false).resolve(Map.of(), 0, 0, DB);
    assertEquals(0, a.uid());
    assertEquals(0, a.gid());
  }

  @Test
  void sudoVariablesAreIgnoredUnlessRunningAsRoot() {
    Access a = options(null, null, false).resolve(Map.of("SUDO_UID", "0", "SUDO_GID", "0"), 1000, 100, DB);
    assertEquals(1000, a.uid());
    assertEquals(100, a.gid());
  }

  @Test
  void namesAndNumbersBothWorkAndGidDefaultsToTheUsersPrimaryGroup() {
    Access byName = options("alice", null, true).resolve(Map.of("SUDO_UID", "1000"), 0, 0, DB);
    assertEquals(1001, byName.uid());
    assertEquals(1001, byName.gid());
    assertEquals(0644, byName.fileBits());
    Access numbers = options("4242", "staff", false).resolve(Map.of(), 0, 0, DB);
    assertEquals(4242, numbers.uid());
    assertEquals(50, numbers.gid());
  }

  @Test
  void unknownNamesAreRefusedWithTheFix() {
    IllegalArgumentException user = assertThrows(IllegalArgumentException.class,
        () -> options("mallory", null, false).resolve(Map.of(), 0, 0, DB));
    assertTrue(user.getMessage().contains("--uid mallory") && user.getMessage().contains("or a number"), user.getMessage());
    IllegalArgumentException group = assertThrows(IllegalArgumentException.class,
        () -> options("4242", null, false).resolve(Map.of(), 0, 0, DB));
    assertTrue(group.getMessage().contains("give --gid too"), group.getMessage());
  }

  @Test
  void theUserDatabaseAgreesWithId() throws Exception {
    assertEquals(OptionalInt.of(0), Users.uidOf("root"));
    assertEquals(OptionalInt.of(0), Users.gidOf("root"));
    assertEquals(OptionalInt.of(Integer.parseInt(id("-u", "nobody"))), Users.uidOf("nobody"));
    assertEquals(OptionalInt.of(Integer.parseInt(id("-g", "nobody"))), Users.primaryGid(Users.uidOf("nobody").getAsInt()));
    assertEquals(OptionalInt.empty(), Users.uidOf("no-such-user-here"));
  }

  private static String id(String flag, String user) throws Exception {
    Process p = new ProcessBuilder("id", flag, user).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    assertEquals(0, p.waitFor());
    return out;
  }

  @Test
  void badOptionsExitTwo() {
    CommandLineTest.Result r = CommandLineTest.run("crawl", "--uid", "no-such-user-here", "http://127.0.0.1:1/", "/nonexistent/d");
    assertEquals(ExitCodes.USAGE, r.exit(), r.err());
    assertTrue(r.err().contains("--uid no-such-user-here"), r.err());
  }
}
