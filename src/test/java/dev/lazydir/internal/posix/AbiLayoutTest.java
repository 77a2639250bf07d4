package dev.lazydir.internal.posix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.testing.AbiLayout;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The offsets and flags the Java side hard-codes are the ones the C compiler and libc headers use here. */
class AbiLayoutTest {
  static Map<String, Long> C;

  @BeforeAll
  static void compileAndRun() throws Exception {
    C = AbiLayout.values();
  }

  @Test
  void statxOffsetsMatch() {
    assertEquals(C.get("statx.stx_uid"), (long) Abi.STATX_UID);
    assertEquals(C.get("statx.stx_gid"), (long) Abi.STATX_GID);
    assertEquals(C.get("statx.stx_mode"), (long) Abi.STATX_MODE);
    assertEquals(C.get("statx.stx_ino"), (long) Abi.STATX_INO);
    assertEquals(C.get("statx.stx_size"), (long) Abi.STATX_SIZE_FIELD);
    assertEquals(C.get("statx.stx_blocks"), (long) Abi.STATX_BLOCKS);
    assertEquals(C.get("statx.stx_mtime"), (long) Abi.STATX_MTIME);
    assertEquals(C.get("statx.stx_dev_major"), (long) Abi.STATX_DEV_MAJOR);
    assertEquals(C.get("statx.stx_dev_minor"), (long) Abi.STATX_DEV_MINOR);
    assertEquals(C.get("statx_timestamp.tv_nsec"), (long) Abi.TIMESTAMP_NSEC);
    assertEquals(1L, C.get("statx.size_max"), "struct statx fits the buffer");
    assertEquals(Abi.STATX_SIZE, Stat.newBuffer().length);
  }

  @Test
  void statxMasksAndFileTypesMatch() {
    assertEquals(C.get("STATX_TYPE"), (long) Posix.STATX_TYPE);
    assertEquals(C.get("STATX_BASIC_STATS"), (long) Posix.STATX_BASIC_STATS);
    assertEquals(C.get("S_IFMT"), (long) Stat.S_IFMT);
    assertEquals(C.get("S_IFDIR"), (long) Stat.S_IFDIR);
    assertEquals(C.get("S_IFREG"), (long) Stat.S_IFREG);
    assertEquals(C.get("S_IFLNK"), (long) Stat.S_IFLNK);
  }

  @Test
  void passwdAndGroupOffsetsMatch() {
    assertEquals(C.get("passwd.pw_uid"), (long) Abi.PASSWD_UID);
    assertEquals(C.get("passwd.pw_gid"), (long) Abi.PASSWD_GID);
    assertEquals(C.get("group.gr_gid"), (long) Abi.GROUP_GID);
  }

  @Test
  void direntAndTimespecMatch() {
    assertEquals(C.get("dirent.d_name"), (long) Abi.DIRENT_NAME);
    assertEquals(C.get("timespec.size"), (long) Abi.TIMESPEC_SIZE);
  }

  @Test
  void flagsMatch() {
    assertEquals(C.get("O_DIRECTORY"), (long) Posix.O_DIRECTORY);
    assertEquals(C.get("O_NOFOLLOW"), (long) Posix.O_NOFOLLOW);
    assertEquals(C.get("O_CLOEXEC"), (long) Posix.O_CLOEXEC);
    assertEquals(C.get("O_NONBLOCK"), (long) Posix.O_NONBLOCK);
    assertEquals(C.get("O_PATH"), (long) Posix.O_PATH);
    assertEquals(C.get("AT_FDCWD"), (long) Posix.AT_FDCWD);
    assertEquals(C.get("AT_REMOVEDIR"), (long) Posix.AT_REMOVEDIR);
    assertEquals(C.get("AT_EMPTY_PATH"), (long) Posix.AT_EMPTY_PATH);
    assertEquals(C.get("AT_SYMLINK_NOFOLLOW"), (long) Posix.AT_SYMLINK_NOFOLLOW);
    assertEquals(C.get("RENAME_NOREPLACE"), (long) Abi.RENAME_NOREPLACE);
    assertEquals(C.get("FALLOC_FL_KEEP_SIZE"), (long) Abi.FALLOC_FL_KEEP_SIZE);
    assertEquals(C.get("FALLOC_FL_PUNCH_HOLE"), (long) Abi.FALLOC_FL_PUNCH_HOLE);
    assertEquals(C.get("F_SETLEASE"), (long) Abi.F_SETLEASE);
    assertEquals(C.get("F_GETLEASE"), (long) Abi.F_GETLEASE);
    assertEquals(C.get("F_RDLCK"), (long) Fd.LEASE_READ);
    assertEquals(C.get("F_WRLCK"), (long) Fd.LEASE_WRITE);
    assertEquals(C.get("F_UNLCK"), (long) Fd.LEASE_NONE);
    assertEquals(C.get("SIGIO"), (long) Abi.SIGIO);
  }

  @Test
  void everyErrnoMatches() throws Exception {
    int checked = 0;
    for (Field f : Errno.class.getDeclaredFields()) {
      if (Modifier.isStatic(f.getModifiers()) && f.getType() == int.class) {
        assertEquals(C.get("errno." + f.getName()), (Long) (long) f.getInt(null), "Errno." + f.getName());
        checked++;
      }
    }
    assertTrue(checked > 0);
  }

  @Test
  void pidfdCallNumbersMatch() {
    assertEquals(C.get("SYS_pidfd_open"), Posix.SYS_PIDFD_OPEN);
    assertEquals(C.get("SYS_pidfd_getfd"), Posix.SYS_PIDFD_GETFD);
    assertEquals(C.get("SYS_pidfd_send_signal"), Posix.SYS_PIDFD_SEND_SIGNAL);
  }
}
