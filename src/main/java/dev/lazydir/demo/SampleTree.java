package dev.lazydir.demo;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.Random;
import java.util.zip.GZIPOutputStream;

/**
 * Generates the demo's origin content: a few directories, text, an incompressible binary, a compressed
 * tarball of many members, an executable script, and a file eight directories deep. Deterministic (fixed
 * seeds and times) so runs and tests see the same bytes.
 */
public final class SampleTree {
  static final Instant TIME = Instant.parse("2024-06-01T12:34:56Z");

  private SampleTree() {}

  /** Writes the sample tree into {@code root} (which must be empty or absent). */
  public static void write(Path root, int tarballMembers) throws IOException {
    Files.createDirectories(root);
    text(root.resolve("README.txt"), "This tree is served by lazydir's demo origin on 127.0.0.1.\n"
        + "Everything you see here was created from directory listings; no content was downloaded yet.\n");
    text(root.resolve("docs/guide.txt"), "A guide.\n".repeat(500));
    text(root.resolve("docs/notes with spaces.md"), "# Notes\n\nNames with spaces and unicode (é, 日本) work.\n");
    text(root.resolve("docs/unicodé-日本語.txt"), "unicode name\n");
    StringBuilder csv = new StringBuilder("n,square,cube\n");
    for (int i = 0; i < 20000; i++) {
      csv.append(i).append(',').append((long) i * i).append(',').append((long) i * i * i).append('\n');
    }
    text(root.resolve("data/numbers.csv"), csv.toString());
    random(root.resolve("data/random.bin"), 8 << 20, 42);
    Path script = root.resolve("bin/hello.sh");
    text(script, "#!/bin/sh\necho \"hello from a file lazydir fetched on demand\"\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
    text(root.resolve("deep/a/b/c/d/e/f/g/h/treasure.txt"), "found it, eight levels down\n");
    tarball(root.resolve("archive/sample.tar.gz"), tarballMembers);
    stampTimes(root);
  }

  private static void text(Path p, String content) throws IOException {
    Files.createDirectories(p.getParent());
    Files.writeString(p, content, StandardCharsets.UTF_8);
  }

  private static void random(Path p, int size, long seed) throws IOException {
    Files.createDirectories(p.getParent());
    Random r = new Random(seed);
    byte[] buf = new byte[1 << 16];
    try (OutputStream out = Files.newOutputStream(p)) {
      for (int done = 0; done < size; done += buf.length) {
        r.nextBytes(buf);
        out.write(buf, 0, Math.min(buf.length, size - done));
      }
    }
  }

  /** A gzip'd ustar archive of {@code members} files of 64 KiB of random text each. */
  private static void tarball(Path p, int members) throws IOException {
    Files.createDirectories(p.getParent());
    Random r = new Random(7);
    byte[] body = new byte[64 * 1024];
    try (OutputStream out = new BufferedOutputStream(new GZIPOutputStream(Files.newOutputStream(p), 1 << 16), 1 << 16)) {
      for (int i = 0; i < members; i++) {
        for (int j = 0; j < body.length; j++) {
          body[j] = (byte) ('a' + r.nextInt(26));
        }
        tarHeader(out, String.format("sample/part-%05d.txt", i), body.length);
        out.write(body);
      }
      out.write(new byte[1024]); // two zero blocks end the archive
    }
  }

  private static void tarHeader(OutputStream out, String name, long size) throws IOException {
    byte[] h = new byte[512];
    put(h, 0, name);
    put(h, 100, "0000644");
    put(h, 108, "0000000");
    put(h, 116, "0000000");
    put(h, 124, String.format("%011o", size));
    put(h, 136, String.format("%011o", TIME.getEpochSecond()));
    h[156] = '0';
    put(h, 257, "ustar");
    put(h, 263, "00");
    for (int i = 148; i < 156; i++) {
      h[i] = ' ';
    }
    int sum = 0;
    for (byte b : h) {
      sum += b & 0xff;
    }
    put(h, 148, String.format("%06o", sum));
    h[154] = 0;
    out.write(h);
  }

  private static void put(byte[] h, int at, String s) {
    byte[] b = s.getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(b, 0, h, at, b.length);
  }

  private static void stampTimes(Path root) throws IOException {
    try (var walk = Files.walk(root)) {
      for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.setLastModifiedTime(p, FileTime.from(TIME));
      }
    }
  }
}
