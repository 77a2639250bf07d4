package dev.lazydir.serve;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Whether a path is a mount point in this process's mount namespace, from /proc/self/mountinfo (its fifth field,
 * with spaces and the like written as octal escapes). How the daemon notices that its view was unmounted by hand
 * ({@code umount DIR}): one read of a small file a second, no event source to keep.
 */
final class MountTable {
  private MountTable() {}

  static boolean isMountPoint(Path path) throws IOException {
    String want = path.toString();
    for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"), StandardCharsets.UTF_8)) {
      String[] f = line.split(" ", 6);
      if (f.length > 4 && unescape(f[4]).equals(want)) {
        return true;
      }
    }
    return false;
  }

  /** mountinfo writes space, tab, newline and backslash as \040, \011, \012 and \134. */
  static String unescape(String field) {
    if (field.indexOf('\\') < 0) {
      return field;
    }
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < field.length(); i++) {
      char c = field.charAt(i);
      if (c == '\\' && i + 3 < field.length() + 0 && field.substring(i + 1, i + 4).matches("[0-7]{3}")) {
        b.append((char) Integer.parseInt(field.substring(i + 1, i + 4), 8));
        i += 3;
      } else {
        b.append(c);
      }
    }
    return b.toString();
  }
}
