package dev.lazydir.tree;

import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * The rule for what may become one entry of the local tree. Everything the crawler or daemon creates passes
 * through here first: a name is a single path component, so no listing can point outside the tree.
 */
public final class LocalName {
  /** NAME_MAX of ext4, xfs and btrfs. */
  public static final int MAX_BYTES = 255;

  /** Prefix of entries being created (made complete, then renamed into place); never a remote name. */
  public static final String TEMP_PREFIX = ".lazydir.tmp.";

  private LocalName() {}

  /** Why {@code name} cannot be a local file name, or empty if it can. */
  public static Optional<String> problem(String name) {
    if (name.isEmpty()) {
      return Optional.of("empty name");
    }
    if (name.equals(".") || name.equals("..")) {
      return Optional.of("'" + name + "' is not a file name");
    }
    if (name.indexOf('/') >= 0) {
      return Optional.of("contains '/'");
    }
    if (name.indexOf('\0') >= 0) {
      return Optional.of("contains NUL");
    }
    if (name.startsWith(TEMP_PREFIX)) {
      return Optional.of("starts with '" + TEMP_PREFIX + "', reserved for lazydir's temporary files");
    }
    int bytes = name.getBytes(StandardCharsets.UTF_8).length;
    if (bytes > MAX_BYTES) {
      return Optional.of("is " + bytes + " bytes long, the filesystem allows " + MAX_BYTES);
    }
    return Optional.empty();
  }

  /** Returns {@code name} if valid, else throws: for callers that already filtered, as a last line of defence. */
  public static String require(String name) {
    Optional<String> problem = problem(name);
    if (problem.isPresent()) {
      throw new IllegalArgumentException("refusing local name '" + printable(name) + "': " + problem.get());
    }
    return name;
  }

  /** A name made safe to print on a terminal (control characters escaped). */
  public static String printable(String name) {
    StringBuilder sb = new StringBuilder(name.length());
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (c < 0x20 || c == 0x7f) {
        sb.append(String.format("\\x%02x", (int) c));
      } else {
        sb.append(c);
      }
    }
    return sb.toString();
  }
}
