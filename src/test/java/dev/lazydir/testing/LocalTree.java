package dev.lazydir.testing;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Stream;

/** Reads a local tree through the JDK (not through lazydir's own native layer) so tests check it independently. */
public final class LocalTree {
  private LocalTree() {}

  /** Relative path ("a/b.txt", directories with a trailing "/") to size (-1 for directories). */
  public static Map<String, Long> entries(Path root) throws IOException {
    Map<String, Long> out = new TreeMap<>();
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : (Iterable<Path>) walk::iterator) {
        if (p.equals(root)) {
          continue;
        }
        String rel = root.relativize(p).toString();
        if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
          out.put(rel + "/", -1L);
        } else {
          out.put(rel, Files.size(p));
        }
      }
    }
    return out;
  }

  public static Optional<byte[]> xattrBytes(Path p, String name) throws IOException {
    UserDefinedFileAttributeView view =
        Files.getFileAttributeView(p, UserDefinedFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
    String bare = name.startsWith("user.") ? name.substring(5) : name;
    if (!view.list().contains(bare)) {
      return Optional.empty();
    }
    ByteBuffer buf = ByteBuffer.allocate(view.size(bare));
    view.read(bare, buf);
    return Optional.of(java.util.Arrays.copyOf(buf.array(), buf.position()));
  }

  public static Optional<String> xattr(Path p, String name) throws IOException {
    return xattrBytes(p, name).map(b -> new String(b, StandardCharsets.UTF_8));
  }

  public static void setXattr(Path p, String name, String value) throws IOException {
    UserDefinedFileAttributeView view =
        Files.getFileAttributeView(p, UserDefinedFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
    view.write(name.startsWith("user.") ? name.substring(5) : name, StandardCharsets.UTF_8.encode(value));
  }

  public static void setXattr(Path p, String name, byte[] value) throws IOException {
    UserDefinedFileAttributeView view =
        Files.getFileAttributeView(p, UserDefinedFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
    view.write(name.startsWith("user.") ? name.substring(5) : name, ByteBuffer.wrap(value));
  }

  /** Disk blocks allocated, in bytes (st_blocks * 512). */
  public static long allocatedBytes(Path p) throws IOException {
    // The JDK does not expose st_blocks; ask coreutils.
    Process stat = new ProcessBuilder("stat", "-c", "%b", p.toString()).redirectErrorStream(true).start();
    String out = new String(stat.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    try {
      if (stat.waitFor() != 0) {
        throw new IOException("stat " + p + ": " + out);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
    return Long.parseLong(out) * 512;
  }

  /** Every path below {@code dir} with its mtime and size, for before/after comparisons. */
  public static Map<String, String> snapshot(Path dir) throws IOException {
    Map<String, String> out = new TreeMap<>();
    if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
      return out;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) walk::iterator) {
        out.put(dir.relativize(p).toString(), Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS) + " "
            + (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS) ? Files.size(p) : -1));
      }
    }
    return out;
  }
}
