package dev.lazydir.testing;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Optional;

/**
 * The one loop-filesystem bed of the privileged tests: an ext4 image made in a test's temporary directory and
 * loop-mounted there, refused outside the test JVM's private mount namespace, plus the bind mounts a test makes on
 * top of it. Closing undoes them newest first by a plain umount, retried while something lets go, then checks that
 * the loop device went with the last unmount; a mount that needed a lazy detach, or a loop device left attached,
 * fails the test: a bed leaves no mount and no loop device behind, and says so when it cannot. The view a daemon
 * or a guard mounts is undone through {@link #unmountAll}, which tolerates it being gone already.
 */
public final class LoopFilesystem implements AutoCloseable {
  /** The image file. */
  public final Path image;
  /** Where the image is mounted. */
  public final Path dir;
  private final Deque<Path> binds = new ArrayDeque<>();
  private final List<Path> others = new ArrayList<>();
  private boolean mounted;

  private LoopFilesystem(Path image, Path dir) {
    this.image = image;
    this.dir = dir;
  }

  /**
   * Makes an ext4 image of {@code bytes} at {@code image} and mounts it on {@code dir} (created if missing);
   * {@code who} names the tests, for the refusal outside a private mount namespace.
   */
  public static LoopFilesystem mount(Path image, Path dir, long bytes, String who) throws Exception {
    PrivateNamespace.require(who);
    Files.createDirectories(dir);
    LoopFilesystem fs = new LoopFilesystem(image, dir.toRealPath());
    try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
      f.setLength(bytes);
    }
    Commands.check("mkfs.ext4", "-q", "-F", image.toString());
    Commands.check("mount", "-o", "loop", image.toString(), fs.dir.toString());
    fs.mounted = true;
    return fs;
  }

  /** Bind-mounts {@code source} on {@code target} (both made by the test); undone by {@link #close}. */
  public void bind(Path source, Path target) throws Exception {
    Commands.check("mount", "--bind", source.toString(), target.toString());
    binds.push(target);
  }

  /**
   * Also unmounts at close whatever is mounted at {@code target} then (a view a daemon or a guard mounted, maybe
   * detached again meanwhile, maybe with a mount the test stacked on it).
   */
  public void alsoUnmount(Path target) {
    others.add(target);
  }

  /** Unmounts every mount stacked at {@code target} (none is fine), adding to {@code problems} what would not go. */
  public static void unmountAll(Path target, List<Throwable> problems) {
    for (int i = 0; i < 5 && isMountPoint(target); i++) {
      unmount(target, problems);
    }
  }

  @Override
  public void close() throws Exception {
    List<Throwable> problems = new ArrayList<>();
    for (Path p : others) {
      unmountAll(p, problems);
    }
    while (!binds.isEmpty()) {
      Path target = binds.pop();
      if (isMountPoint(target)) {
        unmount(target, problems);
      }
    }
    if (mounted) {
      unmount(dir, problems);
      mounted = false;
      // mount -o loop sets autoclear: the loop device goes with the last unmount
      String attached = "";
      for (int i = 0; i < 50; i++) {
        attached = Commands.check("losetup", "-j", image.toString()).trim();
        if (attached.isEmpty()) {
          break;
        }
        Thread.sleep(100);
      }
      if (!attached.isEmpty()) {
        problems.add(new AssertionError("loop device still attached to " + image + ": " + attached));
        for (String line : attached.split("\n")) {
          Commands.quietly("losetup", "-d", line.split(":")[0]);
        }
      }
    }
    if (!problems.isEmpty()) {
      AssertionError a = new AssertionError("loop filesystem teardown: " + problems);
      problems.forEach(a::addSuppressed);
      throw a;
    }
  }

  /** A plain umount, retried for 3 s while the mount is busy; then a lazy detach, reported as a problem. */
  private static void unmount(Path target, List<Throwable> problems) {
    for (int i = 0; i < 30; i++) {
      if (Commands.quietly("umount", target.toString()) == 0) {
        return;
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    problems.add(new AssertionError("umount " + target + " kept failing (still in use?); detached lazily"));
    Commands.quietly("umount", "-l", target.toString());
  }

  /** Whether some mount has its mount point exactly at {@code path} (per /proc/self/mountinfo). */
  public static boolean isMountPoint(Path path) {
    return mountIdAt(path).isPresent();
  }

  /** The id of the topmost mount at {@code path}: later lines of mountinfo are mounted later (on top). */
  public static Optional<Long> mountIdAt(Path path) {
    List<Long> ids = mountIdsAt(path);
    return ids.isEmpty() ? Optional.empty() : Optional.of(ids.get(ids.size() - 1));
  }

  /** The ids of every mount stacked at {@code path}, bottom first. */
  public static List<Long> mountIdsAt(Path path) {
    String want;
    List<String> lines;
    try {
      want = path.toRealPath().toString();
      lines = Files.readAllLines(Path.of("/proc/self/mountinfo"), StandardCharsets.UTF_8);
    } catch (java.nio.file.NoSuchFileException e) {
      return List.of(); // gone: nothing is mounted there
    } catch (IOException e) {
      throw new AssertionError(e);
    }
    List<Long> ids = new java.util.ArrayList<>();
    for (String line : lines) {
      String[] f = line.split(" ");
      if (unescape(f[4]).equals(want)) {
        ids.add(Long.parseLong(f[0]));
      }
    }
    return ids;
  }

  /** mountinfo writes space, tab, newline and backslash as \ooo. */
  private static String unescape(String s) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\' && i + 3 < s.length() && s.substring(i + 1, i + 4).matches("[0-7]{3}")) {
        b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
        i += 3;
      } else {
        b.append(c);
      }
    }
    return b.toString();
  }
}
