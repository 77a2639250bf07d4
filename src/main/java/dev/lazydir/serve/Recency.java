package dev.lazydir.serve;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.channels.Channels;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.logging.Logger;

/**
 * When each file of a bounded store was last used, kept across restarts in {@code STORE/run/recency} ("ino millis"
 * lines). Without it a restart made every file look used at that moment: eviction then went by inode number, not by
 * use, and --cache-max-age gave every file a fresh lease at each restart (a service restarted daily never aged
 * anything out). Written at stop and once a minute while it changes (a killed daemon loses at most that minute);
 * read once at start, before the walk that counts the store. What is read only orders eviction, so a line that does
 * not parse is skipped, a time in the future is taken as now, and an inode reused by another file since merely
 * makes that file look older.
 */
final class Recency {
  private static final Logger LOG = Logger.getLogger(Recency.class.getName());
  static final String FILE = "recency";
  private static final String HEADER = "lazydir-recency 1";

  private Recency() {}

  /** The recorded last uses by inode; empty if there is no record or it cannot be read. */
  static Map<Long, Long> read(Path run, long now) {
    Map<Long, Long> uses = new HashMap<>();
    try (SeekableByteChannel ch = Files.newByteChannel(run.resolve(FILE), Set.of(StandardOpenOption.READ,
        LinkOption.NOFOLLOW_LINKS));
        BufferedReader in = new BufferedReader(Channels.newReader(ch, StandardCharsets.US_ASCII))) {
      if (!HEADER.equals(in.readLine())) {
        return uses;
      }
      for (String line; (line = in.readLine()) != null; ) {
        int space = line.indexOf(' ');
        try {
          uses.put(Long.parseLong(line.substring(0, Math.max(0, space))),
              Math.min(now, Long.parseLong(line.substring(space + 1))));
        } catch (NumberFormatException | IndexOutOfBoundsException e) {
          // not a line a daemon wrote: skipped
        }
      }
    } catch (NoSuchFileException e) {
      return uses;
    } catch (IOException | java.io.UncheckedIOException e) {
      LOG.warning(run.resolve(FILE) + " could not be read (" + e.getMessage() + "); files count as used now");
    }
    return uses;
  }

  /** Writes the last uses whole or not at all ({@link RunRecord}: never through a link). */
  static void write(Path run, Map<Long, Long> uses) throws IOException {
    StringBuilder text = new StringBuilder(HEADER).append('\n');
    for (Map.Entry<Long, Long> e : uses.entrySet()) {
      text.append(e.getKey()).append(' ').append(e.getValue()).append('\n');
    }
    RunRecord.writeText(run, FILE, text.toString());
  }
}
