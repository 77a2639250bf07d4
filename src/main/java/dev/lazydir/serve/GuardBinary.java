package dev.lazydir.serve;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Set;

/**
 * The guard's executable on disk: copied out of the classpath into a directory only this user can write (the
 * binary runs as root, so whoever could replace it would own the machine), under a name carrying its hash, and
 * started there. A class of its own because installing a root-run binary safely is a concern apart from the
 * guard's protocol ({@link Guard}: arming, the ready line, release): it can be read and changed without the other.
 */
final class GuardBinary {
  /** Classpath location of the binary; the build compiles it into target/classes (exec-maven-plugin). */
  static final String RESOURCE = "/dev/lazydir/native/lazydir-guard";

  private GuardBinary() {}

  /**
   * A directory only we can write to: the binary runs as root, so whoever can replace it owns the machine. Root uses
   * /run/lazydir (tmpfs, root-only parent); anyone else java.io.tmpdir/lazydir-UID. An existing directory is used
   * only if it is a real directory (not a symlink) owned by us that no one else can write.
   */
  static Path privateDir() throws IOException {
    int uid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
    Path run = Path.of("/run");
    Path dir = uid == 0 && Files.isDirectory(run) && Files.isWritable(run)
        ? run.resolve("lazydir")
        : Path.of(System.getProperty("java.io.tmpdir")).resolve("lazydir-" + uid);
    try {
      Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    } catch (FileAlreadyExistsException exists) {
      // checked below
    }
    PosixFileAttributes a = Files.readAttributes(dir, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    int owner = (Integer) Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS);
    Set<PosixFilePermission> perms = a.permissions();
    if (!a.isDirectory() || owner != uid || perms.contains(PosixFilePermission.GROUP_WRITE)
        || perms.contains(PosixFilePermission.OTHERS_WRITE)) {
      throw new IOException(dir + " is not a private directory (want a directory owned by uid " + uid
          + " that only its owner can write); refusing to install lazydir-guard there");
    }
    return dir;
  }

  /**
   * Copies the binary out of the classpath (it may be inside the jar) under a name that carries its hash, so an
   * identical copy from an earlier run is reused and a different build never overwrites one that is running. A new
   * copy is written under a temporary name and renamed into place: no one ever executes a half-written file.
   */
  static Path install(Path dir) throws IOException {
    byte[] bytes;
    try (InputStream in = GuardBinary.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IOException("classpath resource " + RESOURCE + " is missing (the build compiles it from "
            + "native-shim/guard.c; was cc available?)");
      }
      bytes = in.readAllBytes();
    }
    Path exe = dir.resolve("lazydir-guard-" + sha256(bytes).substring(0, 16));
    if (Files.isRegularFile(exe, LinkOption.NOFOLLOW_LINKS) && Files.isExecutable(exe)) {
      try {
        if (Arrays.equals(Files.readAllBytes(exe), bytes)) {
          return exe;
        }
      } catch (NoSuchFileException raced) {
        // fall through and write it
      }
    }
    Path tmp = Files.createTempFile(dir, ".lazydir-guard-", ".tmp",
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    try {
      Files.write(tmp, bytes);
      try {
        Files.move(tmp, exe, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, exe, StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(tmp);
    }
    return exe;
  }

  /**
   * Starts the process, retrying "Text file busy" briefly: a file just written can still be open for writing in a
   * child that another thread of this JVM forked at that moment and that has not reached exec yet.
   */
  static Process startRetryingBusyText(ProcessBuilder pb) throws IOException {
    for (int attempt = 1; ; attempt++) {
      try {
        return pb.start();
      } catch (IOException e) {
        String m = String.valueOf(e.getMessage());
        if (attempt >= 20 || !(m.contains("error=26") || m.contains("Text file busy"))) {
          throw e;
        }
        try {
          Thread.sleep(10L * attempt);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw e;
        }
      }
    }
  }

  private static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is a required JDK algorithm", e);
    }
  }
}
