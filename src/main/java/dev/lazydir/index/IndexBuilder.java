package dev.lazydir.index;

import dev.lazydir.tree.LocalName;
import dev.lazydir.tree.TreePath;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;
import java.util.stream.Stream;

/**
 * Writes the {@link TreeIndex} of a local tree ({@code lazydir index SRC}): walks it without following a
 * symlink, in the index's order, hashing every file. Entries that cannot be in an index (sockets, fifos, devices,
 * names that are not valid local names) are skipped with a warning; the index file itself is never listed.
 */
public final class IndexBuilder {
  private static final Logger LOG = Logger.getLogger(IndexBuilder.class.getName());

  private final Path src;
  private final Path out;
  private final int blockSize;
  private long files;
  private long bytes;
  private long warnings;

  public IndexBuilder(Path src, Path out, int blockSize) {
    this.src = src.toAbsolutePath().normalize();
    this.out = out.toAbsolutePath().normalize();
    this.blockSize = blockSize;
  }

  public record Summary(long entries, long files, long bytes, long warnings) {}

  /** Writes the index (under a temporary name beside {@code out}, renamed into place when complete). */
  public Summary build() throws IOException {
    if (!Files.isDirectory(src, LinkOption.NOFOLLOW_LINKS)) {
      throw new IOException(src + " is not a directory");
    }
    Path parent = out.getParent();
    Path temp = Files.createTempFile(parent, ".lazydir-index.", ".tmp");
    long entries;
    try {
      try (OutputStream os = Files.newOutputStream(temp); TreeIndex.Writer w = new TreeIndex.Writer(os, blockSize)) {
        Map<String, Object> root = Files.readAttributes(src, "unix:mode,lastModifiedTime");
        w.dir(TreePath.root(), (Integer) root.get("mode"), ((FileTime) root.get("lastModifiedTime")).toInstant());
        walk(w, src, TreePath.root(), temp);
        entries = w.count();
      }
      Files.move(temp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(temp);
      throw e;
    }
    return new Summary(entries, files, bytes, warnings);
  }

  private void walk(TreeIndex.Writer w, Path dir, TreePath path, Path temp) throws IOException {
    List<String> names = new ArrayList<>();
    try (Stream<Path> s = Files.list(dir)) {
      s.forEach(p -> names.add(p.getFileName().toString()));
    }
    names.sort(TreeIndex::compareNames);
    for (String name : names) {
      Path p = dir.resolve(name);
      if (p.equals(out) || p.equals(temp)) {
        continue; // the index never lists itself
      }
      var problem = LocalName.problem(name);
      if (problem.isPresent() || name.contains("\uFFFD")) {
        // not a name of a tree: printed as found, next to its directory's path
        warn((path.isRoot() ? "" : path.printable() + "/") + LocalName.printable(name) + ": skipped ("
            + problem.orElse("not UTF-8") + ")");
        continue;
      }
      TreePath child = path.child(name);
      Map<String, Object> a = Files.readAttributes(p, "unix:mode,size,lastModifiedTime", LinkOption.NOFOLLOW_LINKS);
      int mode = (Integer) a.get("mode");
      var mtime = ((FileTime) a.get("lastModifiedTime")).toInstant();
      int type = mode & 0170000;
      if (type == 0040000) {
        w.dir(child, mode, mtime);
        walk(w, p, child, temp);
      } else if (type == 0100000) {
        long size = (Long) a.get("size");
        Digests d = digest(p);
        if (d.size != size) {
          warn(child.printable() + ": changed while it was read; skipped");
          continue;
        }
        w.file(child, mode, mtime, size, d.whole, d.blocks);
        files++;
        bytes += size;
      } else if (type == 0120000) {
        w.symlink(child, mode, mtime, Files.readSymbolicLink(p).toString());
      } else {
        warn(child.printable() + ": skipped (not a file, directory or symlink)");
      }
    }
  }

  private record Digests(long size, byte[] whole, byte[] blocks) {}

  private Digests digest(Path file) throws IOException {
    MessageDigest whole = sha256();
    MessageDigest block = sha256();
    java.io.ByteArrayOutputStream blocks = new java.io.ByteArrayOutputStream();
    ByteBuffer buf = ByteBuffer.allocateDirect(Math.min(blockSize, 1 << 20));
    long size = 0;
    long inBlock = 0;
    int nBlocks = 0;
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
      while (true) {
        buf.clear();
        buf.limit((int) Math.min(buf.capacity(), blockSize - inBlock));
        int n = ch.read(buf);
        if (n < 0) {
          break;
        }
        buf.flip();
        whole.update(buf.duplicate());
        block.update(buf);
        size += n;
        inBlock += n;
        if (inBlock == blockSize) {
          blocks.write(block.digest());
          nBlocks++;
          inBlock = 0;
        }
      }
    }
    if (inBlock > 0) {
      blocks.write(block.digest());
      nBlocks++;
    }
    return new Digests(size, whole.digest(), nBlocks > 1 ? blocks.toByteArray() : null);
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private void warn(String message) {
    warnings++;
    LOG.warning(message);
  }
}
