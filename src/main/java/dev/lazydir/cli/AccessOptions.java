package dev.lazydir.cli;

import dev.lazydir.internal.posix.Users;
import dev.lazydir.tree.Access;
import java.util.Map;
import java.util.OptionalInt;
import picocli.CommandLine.Option;

/**
 * --uid, --gid, --allow-other and --file-mode, shared by the commands that create stubs. Like a FUSE mount, a
 * view belongs to the user who asked for it: root, or the user behind sudo ($SUDO_UID/$SUDO_GID), or whoever
 * runs lazydir; other users read it only with --allow-other.
 */
final class AccessOptions {
  @Option(names = "--uid", paramLabel = "USER",
      description = "owner of every file and directory lazydir makes, a name or a number (default: the invoking"
          + " user: $SUDO_UID under sudo, else the user running lazydir)")
  String uid;

  @Option(names = "--gid", paramLabel = "GROUP",
      description = "their group, a name or a number (default: the --uid user's primary group, else $SUDO_GID"
          + " under sudo, else the group running lazydir)")
  String gid;

  @Option(names = "--allow-other",
      description = "let every user read (files 0644, directories 0755); without it only the owner (and root) can:"
          + " files 0600, directories 0700")
  boolean allowOther;

  @Option(names = "--file-mode", paramLabel = "OCTAL", converter = Octal.class,
      description = "permission bits of file stubs (default: 0644; 0755 to run programs from the tree);"
          + " without --allow-other only the owner's bits are kept")
  int fileMode = 0644;

  /** The access these options ask for, defaults resolved for this process. */
  Access toAccess(Map<String, String> env) {
    return resolve(env, Users.euid(), Users.egid(), Lookup.LIBC);
  }

  /** How names become ids (the user database, or a test's). */
  interface Lookup {
    Lookup LIBC = new Lookup() {
      @Override
      public OptionalInt uid(String name) {
        return Users.uidOf(name);
      }

      @Override
      public OptionalInt gid(String name) {
        return Users.gidOf(name);
      }

      @Override
      public OptionalInt primaryGid(int uid) {
        return Users.primaryGid(uid);
      }
    };

    OptionalInt uid(String name);

    OptionalInt gid(String name);

    OptionalInt primaryGid(int uid);
  }

  Access resolve(Map<String, String> env, int euid, int egid, Lookup lookup) {
    // sudo keeps the caller in SUDO_UID/SUDO_GID; only root's environment is trusted with them.
    OptionalInt sudoUid = euid == 0 ? number(env.get("SUDO_UID")) : OptionalInt.empty();
    OptionalInt sudoGid = sudoUid.isPresent() ? number(env.get("SUDO_GID")) : OptionalInt.empty();
    int u = uid != null ? id("--uid", uid, lookup::uid, "user") : sudoUid.orElse(euid);
    int g;
    if (gid != null) {
      g = id("--gid", gid, lookup::gid, "group");
    } else if (uid != null) {
      g = lookup.primaryGid(u).orElseThrow(() -> new IllegalArgumentException("--uid " + uid
          + ": the user database has no such user, so its group is unknown; give --gid too"));
    } else {
      g = sudoGid.orElse(egid);
    }
    return new Access(u, g, allowOther, fileMode);
  }

  private static int id(String option, String value, java.util.function.Function<String, OptionalInt> byName,
      String what) {
    OptionalInt n = number(value);
    if (n.isPresent()) {
      return n.getAsInt();
    }
    return byName.apply(value).orElseThrow(() -> new IllegalArgumentException(option + " " + value + ": no " + what
        + " of that name; give a name the system knows (getent " + (what.equals("user") ? "passwd" : "group")
        + ") or a number"));
  }

  private static OptionalInt number(String s) {
    if (s == null || !s.matches("[0-9]{1,10}")) {
      return OptionalInt.empty();
    }
    long v = Long.parseLong(s);
    return v < 0xFFFFFFFFL ? OptionalInt.of((int) v) : OptionalInt.empty(); // (uid_t) -1 means "no change"
  }
}
