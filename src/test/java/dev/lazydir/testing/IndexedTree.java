package dev.lazydir.testing;

import dev.lazydir.index.IndexBuilder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * A generated local tree for tree-index tests: dotfiles, modes, an empty file, a file of several blocks (the index
 * is written with 4 KiB blocks), a deep file, nanosecond mtimes, and symlinks that stay inside, escape, or are
 * absolute. {@link #publish} serves its files and its index from a FakeOrigin.
 */
public final class IndexedTree {
  public static final int BLOCK = 4096;
  public static final Instant T = Instant.parse("2023-04-05T06:07:08.123456789Z");

  public final Path src;
  public final Path index;
  /** Files by path below the root ("a/b.txt"), with their content. */
  public final Map<String, byte[]> files = new TreeMap<>();

  public IndexedTree(Path src) throws Exception {
    this(src, 0, 0);
  }

  /**
   * The same, plus {@code wideDirs} directories of {@code wideFiles} small files each under {@code wide/} (their
   * content is not kept in {@link #files}, nor served): a tree big enough for batches and threads to interleave.
   */
  public IndexedTree(Path src, int wideDirs, int wideFiles) throws Exception {
    this.src = src;
    for (int d = 0; d < wideDirs; d++) {
      Path dir = src.resolve("wide/d" + d);
      Files.createDirectories(dir);
      for (int f = 0; f < wideFiles; f++) {
        Files.writeString(dir.resolve("f" + f + ".txt"), d + "/" + f + "\n");
      }
    }
    Random r = new Random(5);
    byte[] big = new byte[5 * BLOCK + 123];
    r.nextBytes(big);
    put("README", "top\n".getBytes(StandardCharsets.UTF_8), "rw-r--r--");
    put(".hidden", "dot\n".getBytes(StandardCharsets.UTF_8), "rw-r-----");
    put("empty", new byte[0], "rw-r--r--");
    put("bin/run.sh", "#!/bin/sh\necho run\n".getBytes(StandardCharsets.UTF_8), "rwxr-xr-x");
    put("data/big.bin", big, "rw-------");
    put("deep/a/b/c/d/e/treasure.txt", "deep down\n".getBytes(StandardCharsets.UTF_8), "rw-r--r--");
    put("deep/.git/config", "[core]\n".getBytes(StandardCharsets.UTF_8), "rw-r--r--");
    Files.createSymbolicLink(src.resolve("deep/link-in"), Path.of("a/b/c/d/e/treasure.txt"));
    Files.createSymbolicLink(src.resolve("deep/a/up-in"), Path.of("../../README"));
    Files.createSymbolicLink(src.resolve("deep/escaping"), Path.of("../../etc/passwd"));
    Files.createSymbolicLink(src.resolve("absolute"), Path.of("/etc/passwd"));
    Files.setPosixFilePermissions(src.resolve("bin"), PosixFilePermissions.fromString("rwxr-x---"));
    Files.setPosixFilePermissions(src.resolve("deep/a"), PosixFilePermissions.fromString("r-xr-xr-x"));
    // Times last, deepest first: making entries moves their directory's mtime.
    try (var walk = Files.walk(src)) {
      var paths = walk.sorted(java.util.Comparator.reverseOrder()).toList();
      long i = 0;
      for (Path p : paths) {
        if (!Files.isSymbolicLink(p)) {
          Files.setLastModifiedTime(p, FileTime.from(T.plusNanos(1_000_003L * i++)));
        }
      }
    }
    this.index = src.getParent().resolve(src.getFileName() + ".lazydir-index");
    new IndexBuilder(src, index, BLOCK).build();
  }

  private void put(String path, byte[] content, String mode) throws Exception {
    Path p = src.resolve(path);
    Files.createDirectories(p.getParent());
    Files.write(p, content);
    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(mode));
    files.put(path, content);
  }

  /** Serves every file (with its mtime) and the index at /.lazydir-index under prefix ("/pub"). */
  public void publish(FakeOrigin origin, String prefix) throws Exception {
    for (Map.Entry<String, byte[]> f : files.entrySet()) {
      origin.file(prefix + "/" + f.getKey(), f.getValue(), Files.getLastModifiedTime(src.resolve(f.getKey())).toInstant());
    }
    origin.file(prefix + "/.lazydir-index", Files.readAllBytes(index), T);
  }
}
