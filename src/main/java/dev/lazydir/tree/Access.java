package dev.lazydir.tree;

import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Posix;
import dev.lazydir.internal.posix.Stat;
import java.io.IOException;

/**
 * Who may read what lazydir makes: the owner of every stub and directory, and whether other users may read.
 * Content fetched with credentials must not become readable by every local user, so, like a FUSE mount without
 * allow_other, a tree is its owner's alone unless {@code allowOther}: files keep only the owner's bits of
 * {@code fileMode} (0600, or 0700 for 0755) and directories are 0700; with it, files get {@code fileMode} and
 * directories 0755.
 *
 * @param uid owner of every entry, or -1 to keep the creating process's
 * @param gid group of every entry, or -1 to keep the one the entry is created with
 * @param fileMode permission bits of file stubs before the owner-only mask (0644, or 0755 for programs)
 */
public record Access(int uid, int gid, boolean allowOther, int fileMode) {
  /** Owned by whoever makes the tree, readable by that user alone: what a caller that says nothing gets. */
  public static final Access OWNER_ONLY = new Access(-1, -1, false, 0644);

  public Access {
    if ((fileMode & ~0777) != 0) {
      throw new IllegalArgumentException("file mode must be within 0777, got 0" + Integer.toOctalString(fileMode));
    }
  }

  /** The same access with other file permission bits (--file-mode). */
  public Access withFileMode(int mode) {
    return new Access(uid, gid, allowOther, mode);
  }

  /** Permission bits of a file stub. */
  public int fileBits() {
    return allowOther ? fileMode : fileMode & 0700;
  }

  /** Permission bits of a directory. */
  public int dirBits() {
    return allowOther ? 0755 : 0700;
  }

  public int bits(boolean directory) {
    return directory ? dirBits() : fileBits();
  }

  /**
   * Permission bits of an entry the tree index gives {@code entryMode} (-1: none, the defaults above): with
   * allowOther the index's bits, else only the owner's of them; setuid, setgid and sticky never.
   */
  public int bits(boolean directory, int entryMode) {
    if (entryMode < 0) {
      return bits(directory);
    }
    return allowOther ? entryMode & 0777 : entryMode & 0700;
  }

  /** Whether an entry already has this owner and these bits (then it is not touched at all). */
  public boolean holds(Stat st) {
    return holds(st, -1);
  }

  /** The same for an entry with the index's mode {@code entryMode} (-1: none). */
  public boolean holds(Stat st, int entryMode) {
    return (uid == -1 || st.uid() == uid) && (gid == -1 || st.gid() == gid)
        && st.permissions() == bits(st.isDirectory(), entryMode);
  }

  /**
   * Gives an open entry this owner and these bits: the owner first, since a chown may clear mode bits. A new
   * entry only needs the chmod when the umask took bits away.
   */
  void applyTo(Fd fd, boolean directory, boolean created) throws IOException {
    applyTo(fd, directory, created, -1);
  }

  void applyTo(Fd fd, boolean directory, boolean created, int entryMode) throws IOException {
    if (uid != -1 || gid != -1) {
      fd.fchown(uid, gid);
    }
    int bits = bits(directory, entryMode);
    if (!created || (Posix.UMASK & bits) != 0) {
      fd.fchmod(bits); // the umask must not decide what the view shows
    }
  }

  @Override
  public String toString() {
    return "owner " + (uid == -1 ? "(self)" : uid) + ":" + (gid == -1 ? "(self)" : gid) + ", files 0"
        + Integer.toOctalString(fileBits()) + ", directories 0" + Integer.toOctalString(dirBits());
  }
}
