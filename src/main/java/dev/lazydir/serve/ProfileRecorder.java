package dev.lazydir.serve;

import dev.lazydir.tree.TreePath;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;

/**
 * Records, for {@code serve --record-profile FILE}, which ranges of which files readers asked for, in the order
 * they first did. Cheap on the event path: a read that continues or overlaps a range already recorded for its file
 * extends it in place (a sequential reader of a large file makes one range, not thousands), anything else appends
 * one. Written as an {@link AccessProfile} under a temporary name and renamed over FILE, every few seconds while
 * something changed and at stop, so a crash loses at most the last few seconds.
 */
final class ProfileRecorder {
  private static final Logger LOG = Logger.getLogger(ProfileRecorder.class.getName());
  /** Ranges kept at most; later ones are dropped, with one warning. */
  static final int MAX_RANGES = 1_000_000;

  private final Path file;
  private final List<String> paths = new ArrayList<>();
  private final List<long[]> ranges = new ArrayList<>(); // {start, end} parallel to paths
  private final Map<String, List<Integer>> byPath = new HashMap<>();
  private boolean changed;
  private boolean full;

  ProfileRecorder(Path file) {
    this.file = file;
  }

  /** A reader asked for bytes [start, end) of the file at {@code label} (its path in the tree). */
  synchronized void accessed(String label, long start, long end) {
    if (end <= start) {
      return;
    }
    List<Integer> mine = byPath.computeIfAbsent(label, k -> new ArrayList<>(1));
    // The latest ranges first: a sequential reader extends the last one.
    for (int i = mine.size() - 1, seen = 0; i >= 0 && seen < 8; i--, seen++) {
      long[] r = ranges.get(mine.get(i));
      if (start <= r[1] && end >= r[0]) {
        if (start < r[0] || end > r[1]) {
          r[0] = Math.min(r[0], start);
          r[1] = Math.max(r[1], end);
          changed = true;
        }
        return;
      }
    }
    if (ranges.size() >= MAX_RANGES) {
      if (!full) {
        full = true;
        LOG.warning("access profile " + file + ": more than " + MAX_RANGES + " ranges; later reads are not recorded");
      }
      return;
    }
    mine.add(ranges.size());
    paths.add(label);
    ranges.add(new long[] {start, end});
    changed = true;
  }

  synchronized List<AccessProfile.Range> snapshot() {
    List<AccessProfile.Range> out = new ArrayList<>(ranges.size());
    for (int i = 0; i < ranges.size(); i++) {
      long[] r = ranges.get(i);
      out.add(new AccessProfile.Range(TreePath.parse(paths.get(i)), r[0], r[1] - r[0]));
    }
    changed = false;
    return out;
  }

  /** Writes the profile if anything changed since the last write (always at least once). */
  void write(boolean always) {
    String text;
    synchronized (this) {
      if (!changed && !always) {
        return;
      }
      text = AccessProfile.format(snapshot());
    }
    Path tmp = file.resolveSibling("." + file.getFileName() + ".lazydir.tmp." + ProcessHandle.current().pid());
    try {
      Files.writeString(tmp, text, StandardCharsets.UTF_8);
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      LOG.warning("could not write the access profile " + file + ": " + e.getMessage());
      try {
        Files.deleteIfExists(tmp);
      } catch (IOException ignored) {
        // nothing more to do
      }
    }
  }
}
