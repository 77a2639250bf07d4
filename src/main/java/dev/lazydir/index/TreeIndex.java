package dev.lazydir.index;

import dev.lazydir.tree.LocalName;
import dev.lazydir.tree.TreePath;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import java.util.zip.ZipException;

/**
 * The tree index: one gzip-compressed file describing a whole tree, which an origin may publish as
 * {@value #DEFAULT_NAME} at its root so that serve and crawl make the tree from one request instead of listing
 * every directory.
 *
 * <p>Format (version 1), after gzip: UTF-8 text, lines ending in {@code \n}, fields separated by one tab:
 * <pre>
 *   lazydir-index 1                         magic and format version (a newer version is refused)
 *   block 1048576                           size of the blocks the files' block digests cover (a power of two)
 *   d MODE MTIME_NS PATH                    a directory; the first entry is the root, PATH "."
 *   f MODE MTIME_NS SIZE SHA256 BLOCKS PATH a file: its size, the SHA-256 of its bytes (64 hex) and of each block
 *                                           (64 hex each, concatenated; "-" when the file has at most one block,
 *                                           whose digest is then SHA256)
 *   l MODE MTIME_NS TARGET PATH             a symbolic link and its target, as readlink gives it
 *   end COUNT                               the number of entries above: a truncated index has no such line
 * </pre>
 * MODE is the octal permission bits (setuid, setgid and sticky included; lazydir never applies those),
 * MTIME_NS the mtime in nanoseconds since the epoch. PATH is relative to the root, its names separated by "/";
 * PATH and TARGET escape backslash, tab, newline and other control bytes as {@code \xHH}. Entries come in
 * depth-first order, the entries of a directory sorted by the UTF-8 bytes of their names, each directory before
 * what it holds: every entry's parent is a directory listed before it, and a path comes strictly after the one
 * before it (so there are no duplicates). Names are valid local names (see {@link LocalName}); the index never
 * lists itself.
 */
public final class TreeIndex {
  public static final String DEFAULT_NAME = ".lazydir-index";
  public static final String MAGIC = "lazydir-index";
  public static final int VERSION = 1;
  public static final int DEFAULT_BLOCK_SIZE = 1 << 20;
  /** Caps against a hostile or broken index: it is read whole before anything is made. */
  public static final long MAX_COMPRESSED_BYTES = 256L << 20;
  public static final long MAX_UNCOMPRESSED_BYTES = 1L << 30;
  public static final long MAX_ENTRIES = 10_000_000;
  static final int MAX_LINE_BYTES = 64 << 20;
  static final int MAX_PATH_BYTES = 4095;

  private TreeIndex() {}

  enum Type { DIR, FILE, SYMLINK }

  /**
   * One entry. {@code path} is empty for the root. {@code blocks} holds the block digests (32 bytes each) of a
   * file of more than one block, else null; {@code target} is a symlink's.
   */
  record Entry(Type type, TreePath path, int mode, Instant mtime, long size, byte[] sha256,
      byte[] blocks, String target) {

    /** The digest of block i (of {@code blockSize} bytes, the last one shorter). */
    public byte[] blockDigest(int i) {
      if (blocks == null) {
        if (i != 0) {
          throw new IndexOutOfBoundsException(i);
        }
        return sha256;
      }
      return java.util.Arrays.copyOfRange(blocks, i * 32, i * 32 + 32);
    }
  }

  /** What the reader gives: the header, then each entry in order. */
  interface Visitor {
    default void blockSize(int blockSize) throws IOException {}

    void entry(Entry e) throws IOException;
  }

  /** Refused: not an index, a newer format, or a broken or hostile one. */
  public static final class IndexException extends IOException {
    public IndexException(String message) {
      super(message);
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Reading

  /**
   * Reads and validates a whole index (gzip), giving each entry to the visitor; throws IndexException naming the
   * first problem. A visitor that makes things should run only after a first pass with a no-op visitor has
   * accepted the index.
   */
  public static long read(InputStream gz, Visitor visitor) throws IOException {
    InputStream in;
    try {
      in = new CappedStream(new GZIPInputStream(gz, 64 << 10), MAX_UNCOMPRESSED_BYTES);
    } catch (ZipException | EOFException e) {
      throw new IndexException("not a lazydir index (not gzip data)");
    }
    try (in) {
      return new Parser(in, visitor).run();
    } catch (ZipException e) {
      throw new IndexException("the index is corrupt (" + e.getMessage() + ")");
    } catch (EOFException e) {
      throw new IndexException("the index is truncated");
    }
  }

  /** Validates an index held in memory: the number of entries, or an IndexException. */
  public static long validate(byte[] gz) throws IOException {
    return read(new java.io.ByteArrayInputStream(gz), e -> {});
  }

  private static final class Parser {
    private final InputStream in;
    private final Visitor visitor;
    /** The entry before this one, and whether it is a directory (the only place a next entry's parent can be). */
    private TreePath previous;
    private boolean previousIsDir;
    private long lineNo;
    private int blockSize;
    /** Decompressed bytes not yet parsed: lines are cut out of this buffer, not read byte by byte. */
    private final byte[] buf = new byte[64 << 10];
    private int pos;
    private int lim;
    private final java.nio.charset.CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder();

    Parser(InputStream in, Visitor visitor) {
      this.in = in;
      this.visitor = visitor;
    }

    long run() throws IOException {
      String header = line();
      if (header == null || !header.startsWith(MAGIC + " ")) {
        throw new IndexException("not a lazydir index (no '" + MAGIC + "' header)");
      }
      int version;
      try {
        version = Integer.parseInt(header.substring(MAGIC.length() + 1).trim());
      } catch (NumberFormatException e) {
        throw new IndexException("not a lazydir index (bad version in its header)");
      }
      if (version > VERSION) {
        throw new IndexException("the index is format " + version + ", newer than this lazydir reads (format "
            + VERSION + "); upgrade lazydir, or give --no-index to list directories instead");
      }
      if (version < 1) {
        throw new IndexException("not a lazydir index (version " + version + ")");
      }
      String block = line();
      if (block == null || !block.startsWith("block ")) {
        throw bad("expected 'block SIZE'");
      }
      try {
        blockSize = Integer.parseInt(block.substring(6));
      } catch (NumberFormatException e) {
        throw bad("bad block size");
      }
      if (blockSize < 4096 || Integer.bitCount(blockSize) != 1) {
        throw bad("block size must be a power of two of at least 4096");
      }
      visitor.blockSize(blockSize);
      long count = 0;
      for (String l = line(); ; l = line()) {
        if (l == null) {
          throw new IndexException("the index is truncated (no 'end' line)");
        }
        if (l.startsWith("end ")) {
          long said;
          try {
            said = Long.parseLong(l.substring(4));
          } catch (NumberFormatException e) {
            throw bad("bad end line");
          }
          if (said != count) {
            throw bad("the end line says " + said + " entries, the index has " + count);
          }
          if (pos < lim || fill()) {
            throw bad("data after the end line");
          }
          return count;
        }
        if (++count > MAX_ENTRIES) {
          throw new IndexException("the index has more than " + MAX_ENTRIES + " entries; refused");
        }
        Entry e = entry(l, count == 1);
        visitor.entry(e);
      }
    }

    private Entry entry(String l, boolean first) throws IOException {
      String[] f = l.split("\t", -1);
      if (f.length < 4) {
        throw bad("too few fields");
      }
      Type type = switch (f[0]) {
        case "d" -> Type.DIR;
        case "f" -> Type.FILE;
        case "l" -> Type.SYMLINK;
        default -> throw bad("unknown entry type '" + printable(f[0]) + "'");
      };
      int expected = switch (type) {
        case DIR -> 4;
        case FILE -> 7;
        case SYMLINK -> 5;
      };
      if (f.length != expected) {
        throw bad("a '" + f[0] + "' entry has " + expected + " fields, this one " + f.length);
      }
      int mode;
      Instant mtime;
      try {
        mode = Integer.parseInt(f[1], 8);
        long ns = Long.parseLong(f[2]);
        mtime = Instant.ofEpochSecond(Math.floorDiv(ns, 1_000_000_000L), Math.floorMod(ns, 1_000_000_000L));
      } catch (NumberFormatException e) {
        throw bad("bad mode or mtime");
      }
      if (mode < 0 || mode > 07777) {
        throw bad("bad mode " + f[1]);
      }
      String rawPath = unescape(f[f.length - 1]);
      TreePath path = path(rawPath, first, type);
      if (!first) {
        int cmp = compare(previous.names(), path.names());
        if (cmp == 0) {
          throw bad("duplicate entry " + printable(rawPath));
        }
        if (cmp > 0) {
          throw bad(printable(rawPath) + " comes after " + previous.printable()
              + " (entries must be sorted, each directory before its entries)");
        }
        // Sorted as they are, the entries between a directory and one of its entries are all inside it: an
        // entry's parent is the entry before it (a directory) or one of that entry's ancestors.
        TreePath parent = path.parent();
        List<String> names = parent.names();
        List<String> before = previous.names();
        boolean above = names.size() < before.size() && before.subList(0, names.size()).equals(names);
        if (!above && !(previousIsDir && parent.equals(previous))) {
          throw bad(printable(rawPath) + ": its parent " + parent.printable() + " is not a directory in the index");
        }
      }
      previous = path;
      previousIsDir = type == Type.DIR;
      if (type == Type.DIR) {
        return new Entry(type, path, mode, mtime, 0, null, null, null);
      }
      if (type == Type.SYMLINK) {
        String target = unescape(f[3]);
        if (target.isEmpty() || target.indexOf('\0') >= 0 || target.getBytes(StandardCharsets.UTF_8).length > MAX_PATH_BYTES) {
          throw bad(printable(rawPath) + ": bad symlink target");
        }
        return new Entry(type, path, mode, mtime, 0, null, null, target);
      }
      long size;
      try {
        size = Long.parseLong(f[3]);
      } catch (NumberFormatException e) {
        throw bad("bad size");
      }
      if (size < 0) {
        throw bad(printable(rawPath) + ": negative size");
      }
      byte[] sha = hex(f[4], 32, rawPath);
      long nBlocks = (size + blockSize - 1) / blockSize;
      byte[] blocks = null;
      if (f[5].equals("-")) {
        if (nBlocks > 1) {
          throw bad(printable(rawPath) + ": " + nBlocks + " blocks but no block digests");
        }
      } else {
        if (nBlocks <= 1 || (long) f[5].length() != nBlocks * 64) {
          throw bad(printable(rawPath) + ": the block digests do not match its size (" + nBlocks + " blocks)");
        }
        blocks = hex(f[5], (int) (nBlocks * 32), rawPath);
      }
      return new Entry(type, path, mode, mtime, size, sha, blocks, null);
    }

    private TreePath path(String raw, boolean first, Type type) throws IOException {
      if (first) {
        if (!raw.equals(".") || type != Type.DIR) {
          throw bad("the first entry must be the root directory '.'");
        }
        return TreePath.root();
      }
      if (raw.startsWith("/")) {
        throw bad("absolute path " + printable(raw) + " (paths are relative to the tree's root)");
      }
      if (raw.getBytes(StandardCharsets.UTF_8).length > MAX_PATH_BYTES) {
        throw bad("path longer than " + MAX_PATH_BYTES + " bytes: " + printable(raw.substring(0, 80)) + "...");
      }
      List<String> out = new ArrayList<>();
      for (String name : raw.split("/", -1)) {
        if (name.equals("..")) {
          throw bad("path " + printable(raw) + " leaves the tree ('..')");
        }
        var problem = LocalName.problem(name);
        if (problem.isPresent()) {
          throw bad("path " + printable(raw) + ": a name " + problem.get());
        }
        out.add(name);
      }
      return TreePath.of(out);
    }

    private byte[] hex(String s, int bytes, String rawPath) throws IOException {
      if (s.length() != bytes * 2) {
        throw bad(printable(rawPath) + ": bad digest");
      }
      try {
        return HexFormat.of().parseHex(s);
      } catch (IllegalArgumentException e) {
        throw bad(printable(rawPath) + ": bad digest");
      }
    }

    private IndexException bad(String what) {
      return new IndexException("invalid index, line " + lineNo + ": " + what);
    }

    /** One line without its \n, or null at the end; a line longer than the cap is refused. */
    private String line() throws IOException {
      ByteArrayOutputStream spill = null; // a line longer than what the buffer holds
      while (true) {
        if (pos == lim && !fill()) {
          if (spill != null) {
            throw new IndexException("the index is truncated (its last line is incomplete)");
          }
          return null;
        }
        int end = pos;
        while (end < lim && buf[end] != '\n') {
          end++;
        }
        int had = spill == null ? 0 : spill.size();
        if ((long) had + (end - pos) > MAX_LINE_BYTES) {
          throw new IndexException("invalid index, line " + (lineNo + 1) + ": longer than " + (MAX_LINE_BYTES >> 20) + " MiB");
        }
        if (end == lim) {
          if (spill == null) {
            spill = new ByteArrayOutputStream(2 * buf.length);
          }
          spill.write(buf, pos, end - pos);
          pos = lim;
          continue;
        }
        lineNo++;
        String line;
        if (spill == null) {
          line = decode(buf, pos, end - pos);
        } else {
          spill.write(buf, pos, end - pos);
          byte[] all = spill.toByteArray();
          line = decode(all, 0, all.length);
        }
        pos = end + 1;
        return line;
      }
    }

    /** Refills the buffer; false at the end of the stream. */
    private boolean fill() throws IOException {
      pos = 0;
      lim = 0;
      int n;
      do {
        n = in.read(buf, 0, buf.length);
      } while (n == 0);
      if (n < 0) {
        return false;
      }
      lim = n;
      return true;
    }

    private String decode(byte[] b, int off, int len) throws IndexException {
      boolean ascii = true;
      for (int i = off; i < off + len && ascii; i++) {
        ascii = b[i] >= 0;
      }
      if (ascii) {
        return new String(b, off, len, StandardCharsets.ISO_8859_1);
      }
      try {
        return utf8.reset().decode(java.nio.ByteBuffer.wrap(b, off, len)).toString();
      } catch (java.nio.charset.CharacterCodingException e) {
        throw bad("not UTF-8");
      }
    }
  }

  /** Orders paths as the index does: name by name, by the names' UTF-8 bytes; a directory before its entries. */
  public static int compare(List<String> a, List<String> b) {
    int n = Math.min(a.size(), b.size());
    for (int i = 0; i < n; i++) {
      int c = compareNames(a.get(i), b.get(i));
      if (c != 0) {
        return c;
      }
    }
    return Integer.compare(a.size(), b.size());
  }

  public static int compareNames(String a, String b) {
    int n = Math.min(a.length(), b.length());
    for (int i = 0; i < n; i++) {
      char x = a.charAt(i);
      char y = b.charAt(i);
      if (x != y) {
        if (Character.isSurrogate(x) || Character.isSurrogate(y)) {
          // UTF-16 order is not code point order here; the UTF-8 bytes' order is.
          return java.util.Arrays.compareUnsigned(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
        }
        return Character.compare(x, y); // two chars of the BMP: UTF-16 order is code point order, so UTF-8 order
      }
    }
    return Integer.compare(a.length(), b.length());
  }

  /** Fails with an IndexException once more than max bytes came out of the gzip stream. */
  private static final class CappedStream extends java.io.FilterInputStream {
    private final long max;
    private long count;

    CappedStream(InputStream in, long max) {
      super(new java.io.BufferedInputStream(in, 64 << 10));
      this.max = max;
    }

    @Override
    public int read() throws IOException {
      int c = super.read();
      if (c >= 0 && ++count > max) {
        throw tooBig();
      }
      return c;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n = super.read(b, off, len);
      if (n > 0 && (count += n) > max) {
        throw tooBig();
      }
      return n;
    }

    private IndexException tooBig() {
      return new IndexException("the index is larger than " + (max >> 20) + " MiB uncompressed; refused");
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Writing

  /** Writes an index, entry by entry, in the order the format asks for (the caller sorts). */
  static final class Writer implements AutoCloseable {
    private final OutputStream out;
    private long count;

    public Writer(OutputStream target, int blockSize) throws IOException {
      this.out = new BufferedOutputStream(new GZIPOutputStream(target, 64 << 10), 64 << 10);
      write(MAGIC + " " + VERSION + "\n" + "block " + blockSize + "\n");
    }

    public void dir(TreePath path, int mode, Instant mtime) throws IOException {
      line("d", mode, mtime, pathField(path));
    }

    public void file(TreePath path, int mode, Instant mtime, long size, byte[] sha256, byte[] blocks)
        throws IOException {
      line("f", mode, mtime, size + "\t" + HexFormat.of().formatHex(sha256) + "\t"
          + (blocks == null ? "-" : HexFormat.of().formatHex(blocks)) + "\t" + pathField(path));
    }

    public void symlink(TreePath path, int mode, Instant mtime, String target) throws IOException {
      line("l", mode, mtime, escape(target) + "\t" + pathField(path));
    }

    private void line(String type, int mode, Instant mtime, String rest) throws IOException {
      long ns = Math.addExact(Math.multiplyExact(mtime.getEpochSecond(), 1_000_000_000L), mtime.getNano());
      write(type + "\t" + String.format("%04o", mode & 07777) + "\t" + ns + "\t" + rest + "\n");
      count++;
    }

    private static String pathField(TreePath path) {
      return path.isRoot() ? "." : escape(path.toString());
    }

    private void write(String s) throws IOException {
      out.write(s.getBytes(StandardCharsets.UTF_8));
    }

    public long count() {
      return count;
    }

    @Override
    public void close() throws IOException {
      write("end " + count + "\n");
      out.close();
    }
  }

  public static String escape(String s) {
    StringBuilder b = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\') {
        b.append("\\\\");
      } else if (c < 0x20 || c == 0x7f) {
        b.append(String.format("\\x%02x", (int) c));
      } else {
        b.append(c);
      }
    }
    return b.toString();
  }

  public static String unescape(String s) throws IndexException {
    if (s.indexOf('\\') < 0) {
      return s;
    }
    StringBuilder b = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c != '\\') {
        b.append(c);
      } else if (i + 1 < s.length() && s.charAt(i + 1) == '\\') {
        b.append('\\');
        i++;
      } else if (i + 3 < s.length() && s.charAt(i + 1) == 'x') {
        try {
          b.append((char) Integer.parseInt(s.substring(i + 2, i + 4), 16));
        } catch (NumberFormatException e) {
          throw new IndexException("invalid index: bad escape in " + printable(s));
        }
        i += 3;
      } else {
        throw new IndexException("invalid index: bad escape in " + printable(s));
      }
    }
    return b.toString();
  }

  static String printable(String s) {
    return LocalName.printable(s);
  }
}
