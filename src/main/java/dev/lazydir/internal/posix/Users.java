package dev.lazydir.internal.posix;

import java.util.OptionalInt;
import jnr.ffi.Pointer;

/**
 * Users and groups by name, through libc (so NSS sources such as LDAP count, as they do for ls and chown), and
 * the ids this process creates files as. Called from one thread at a time: getpwnam's result is static.
 */
public final class Users {
  private Users() {}

  /** The user new files are created as (the effective uid). */
  public static int euid() {
    return Posix.libc().geteuid();
  }

  public static int egid() {
    return Posix.libc().getegid();
  }

  public static synchronized OptionalInt uidOf(String name) {
    Pointer pw = Posix.libc().getpwnam(name);
    return pw == null ? OptionalInt.empty() : OptionalInt.of(pw.getInt(Abi.PASSWD_UID));
  }

  /** The primary group of a user, if the user database knows the uid. */
  public static synchronized OptionalInt primaryGid(int uid) {
    Pointer pw = Posix.libc().getpwuid(uid);
    return pw == null ? OptionalInt.empty() : OptionalInt.of(pw.getInt(Abi.PASSWD_GID));
  }

  public static synchronized OptionalInt gidOf(String name) {
    Pointer gr = Posix.libc().getgrnam(name);
    return gr == null ? OptionalInt.empty() : OptionalInt.of(gr.getInt(Abi.GROUP_GID));
  }
}
