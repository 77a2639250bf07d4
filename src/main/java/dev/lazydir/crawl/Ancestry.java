package dev.lazydir.crawl;

import dev.lazydir.origin.Listing;
import dev.lazydir.origin.RemoteEntry;
import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Stat;
import dev.lazydir.tree.EntryMeta.DirMeta;
import dev.lazydir.tree.StubTree;
import dev.lazydir.tree.TreePath;
import dev.lazydir.tree.TreeWalk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.Arrays;
import java.util.Optional;

/**
 * The listings above a directory, each kept as a digest of its entries (names, kinds, sizes, times). A
 * directory that lists exactly what one of its ancestors listed is taken for a loop on the server, such as
 * nginx following a {@code self -> .} symlink, whose levels a crawl would otherwise list without end; page
 * bodies cannot be compared, as they name their own path. A real tree that repeats itself exactly (a chain
 * of directories each holding only the next, with the same times) is cut short too, with the same warning;
 * its deeper directories are still listed when opened.
 */
public final class Ancestry {
  public static final Ancestry NONE = new Ancestry(null, TreePath.root(), null);

  private final Ancestry parent;
  private final TreePath path;
  private final byte[] digest;

  private Ancestry(Ancestry parent, TreePath path, byte[] digest) {
    this.parent = parent;
    this.path = path;
    this.digest = digest;
  }

  /** The ancestry of the subdirectories of the directory at path, which listed what digest sums up. */
  public Ancestry below(TreePath path, byte[] digest) {
    return new Ancestry(this, path, digest);
  }

  /** The path of the nearest ancestor whose listing had this digest, if one had. */
  public Optional<TreePath> listed(byte[] digest) {
    for (Ancestry a = this; a != null && a.digest != null; a = a.parent) {
      if (Arrays.equals(a.digest, digest)) {
        return Optional.of(a.path);
      }
    }
    return Optional.empty();
  }

  /** The digest of a listing's entries (a directory by its name: its time depends on when it was made here). */
  public static byte[] digestOf(Listing listing) {
    Digest d = new Digest();
    for (RemoteEntry e : listing.entries()) {
      d.add(e.name(), e.directory(), e.size(), e.mtime());
    }
    return d.digest();
  }

  /** Told each lazydir subdirectory found by {@link #digestOnDisk}. */
  @FunctionalInterface
  public interface Subdirectory {
    void found(String name, DirMeta meta);
  }

  /**
   * The digest of a directory's entries as they are on disk ({@link TreeWalk#entries}), summed up as
   * {@link #digestOf(Listing)} sums up the listing they came from; each lazydir subdirectory is also shown to
   * {@code subdirectory} (a crawl's next level, or the namespace crawl's).
   */
  public static byte[] digestOnDisk(StubTree tree, Fd dir, Subdirectory subdirectory) throws IOException {
    Digest digest = new Digest();
    TreeWalk.entries(tree, dir, new TreeWalk.Entries() {
      @Override
      public void file(String name, Stat st) {
        digest.add(name, false, st.size(), st.mtime());
      }

      @Override
      public void directory(String name, DirMeta meta) {
        digest.add(name, true, -1, null);
        subdirectory.found(name, meta);
      }
    });
    return digest.digest();
  }

  /**
   * Sums up a directory's entries whatever order they come in (readdir order differs between directories),
   * in constant memory: the sum of each entry's SHA-256 (its first 128 bits) and the count.
   */
  public static final class Digest {
    private final MessageDigest sha = sha256();
    private long count;
    private long high;
    private long low;

    public Digest add(String name, boolean directory, long size, Instant mtime) {
      byte[] h = sha.digest((name + '\0' + (directory ? "d" : "f" + size + '\0' + mtime)).getBytes(StandardCharsets.UTF_8));
      ByteBuffer b = ByteBuffer.wrap(h);
      high += b.getLong();
      low += b.getLong();
      count++;
      return this;
    }

    public byte[] digest() {
      return ByteBuffer.allocate(24).putLong(count).putLong(high).putLong(low).array();
    }

    private static MessageDigest sha256() {
      try {
        return MessageDigest.getInstance("SHA-256");
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException("every JDK has SHA-256", e);
      }
    }
  }
}
