package dev.lazydir.serve;

import dev.lazydir.index.TreeIndex;
import dev.lazydir.tree.LocalName;
import dev.lazydir.tree.TreePath;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Which byte ranges of which files a run of programs read, in the order they were first read: written by
 * {@code serve --record-profile}, read back by {@code serve --prefetch-profile} (or from the origin's
 * {@value #DEFAULT_NAME}) to fetch those bytes at start, ahead of the programs. Plain UTF-8 text, so a person can
 * read and edit it:
 *
 * <pre>
 * lazydir-profile 1
 * OFFSET TAB LENGTH TAB PATH     bytes [OFFSET, OFFSET+LENGTH) of PATH (relative, '/' between names, escaped
 *                                as in the tree index); first access first
 * end COUNT                      the number of ranges (a profile cut short is refused)
 * </pre>
 *
 * A profile may come from the origin, so it is checked whole before use: a path with an absolute, empty, ".",
 * ".." or otherwise impossible name, a negative or overflowing range, a bad count or a line that is none of these
 * refuses the profile (naming the line), and nothing of it is fetched.
 */
public final class AccessProfile {
  public static final String DEFAULT_NAME = ".lazydir-profile";
  static final String MAGIC = "lazydir-profile 1";
  /** A profile larger than this is refused (a profile names ranges, not bytes: this is millions of them). */
  public static final int MAX_BYTES = 64 << 20;

  /** Bytes [offset, offset + length) of the file at {@code path} (names from the tree's root). */
  record Range(TreePath path, long offset, long length) {}

  private final List<Range> ranges;

  AccessProfile(List<Range> ranges) {
    this.ranges = List.copyOf(ranges);
  }

  public List<Range> ranges() {
    return ranges;
  }

  /** Bytes named, counting overlaps twice. */
  public long bytes() {
    return ranges.stream().mapToLong(Range::length).sum();
  }

  /** The profile's text. */
  public static String format(List<Range> ranges) {
    StringBuilder b = new StringBuilder(MAGIC).append('\n');
    for (Range r : ranges) {
      b.append(r.offset()).append('\t').append(r.length()).append('\t').append(TreeIndex.escape(r.path().toString())).append('\n');
    }
    return b.append("end ").append(ranges.size()).append('\n').toString();
  }

  /** A profile refused: the message names what is wrong and where. */
  public static final class ProfileException extends IOException {
    ProfileException(String message) {
      super(message);
    }
  }

  /** Reads and checks a whole profile; {@code source} names it in messages. */
  public static AccessProfile parse(byte[] bytes, String source) throws ProfileException {
    if (bytes.length > MAX_BYTES) {
      throw new ProfileException(source + " is larger than " + (MAX_BYTES >> 20) + " MiB; not an access profile lazydir"
          + " wrote");
    }
    String text;
    try {
      text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(java.nio.ByteBuffer.wrap(bytes)).toString();
    } catch (CharacterCodingException e) {
      throw new ProfileException(source + " is not UTF-8 text; not an access profile (write one with serve"
          + " --record-profile)");
    }
    String[] lines = text.split("\n", -1);
    if (lines.length == 0 || !lines[0].equals(MAGIC)) {
      throw new ProfileException(source + " does not start with '" + MAGIC + "'; not an access profile (write one"
          + " with serve --record-profile)");
    }
    List<Range> ranges = new ArrayList<>();
    for (int i = 1; i < lines.length; i++) {
      String line = lines[i];
      String where = source + " line " + (i + 1);
      if (line.startsWith("end ")) {
        long count;
        try {
          count = Long.parseLong(line.substring(4));
        } catch (NumberFormatException e) {
          throw new ProfileException(where + ": bad count '" + LocalName.printable(line) + "'");
        }
        if (count != ranges.size()) {
          throw new ProfileException(where + ": says " + count + " ranges, the profile has " + ranges.size()
              + " (cut short?)");
        }
        for (int j = i + 1; j < lines.length; j++) {
          if (!lines[j].isEmpty()) {
            throw new ProfileException(source + " line " + (j + 1) + ": text after the end line");
          }
        }
        return new AccessProfile(ranges);
      }
      String[] f = line.split("\t", 3);
      if (f.length != 3) {
        throw new ProfileException(where + ": expected OFFSET<tab>LENGTH<tab>PATH, got '" + LocalName.printable(line)
            + "'");
      }
      long offset;
      long length;
      try {
        offset = Long.parseLong(f[0]);
        length = Long.parseLong(f[1]);
      } catch (NumberFormatException e) {
        throw new ProfileException(where + ": offset and length must be numbers");
      }
      if (offset < 0 || length <= 0 || offset > Long.MAX_VALUE - length) {
        throw new ProfileException(where + ": range " + offset + "+" + length + " is not a range of bytes");
      }
      ranges.add(new Range(path(f[2], where), offset, length));
    }
    throw new ProfileException(source + ": no end line (cut short?)");
  }

  private static TreePath path(String escaped, String where) throws ProfileException {
    String p;
    try {
      p = TreeIndex.unescape(escaped);
    } catch (IOException e) {
      throw new ProfileException(where + ": " + e.getMessage());
    }
    if (p.isEmpty() || p.startsWith("/")) {
      throw new ProfileException(where + ": path '" + LocalName.printable(p) + "' is not relative to the tree");
    }
    try {
      return TreePath.parse(p);
    } catch (IllegalArgumentException e) {
      throw new ProfileException(where + ": path '" + LocalName.printable(p) + "' has a name that cannot be in the"
          + " tree");
    }
  }
}
