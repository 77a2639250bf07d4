package dev.lazydir.serve;

import dev.lazydir.tree.TreePath;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The store's accounting and its eviction order, with no I/O: for each file holding disk blocks, how many bytes it
 * holds and when it was last used; the total is a counter kept as files are charged, never a walk. Victims come least
 * recently used first; files that are in use or pinned are passed over by the caller and stay. Time comes from an
 * injected clock, so the order is testable without waiting.
 */
final class CachePolicy {
  /** A file of the store holding blocks: where it is (tree path) and what it takes. */
  static final class Entry {
    final long ino;
    final TreePath path;
    long bytes;
    long lastUse;
    boolean pinned;

    Entry(long ino, TreePath path) {
      this.ino = ino;
      this.path = path;
    }

    @Override
    public String toString() {
      return path + " (" + bytes + " bytes)";
    }
  }

  private final Clock clock;
  private final Map<Long, Entry> byIno = new HashMap<>();
  private final TreeSet<Entry> byAge = new TreeSet<>((a, b) -> a.lastUse != b.lastUse
      ? Long.compare(a.lastUse, b.lastUse) : Long.compare(a.ino, b.ino));
  private long total;
  private long changes;

  CachePolicy(Clock clock) {
    this.clock = clock;
  }

  synchronized long total() {
    return total;
  }

  synchronized int files() {
    return byIno.size();
  }

  /** The file now holds {@code bytes} of disk (0 removes it); a new file counts as used now. */
  synchronized void charge(long ino, TreePath path, long bytes) {
    Entry e = byIno.get(ino);
    if (e == null) {
      if (bytes <= 0) {
        return;
      }
      e = new Entry(ino, path);
      e.lastUse = clock.millis();
      byIno.put(ino, e);
      byAge.add(e);
      changes++;
    }
    total += bytes - e.bytes;
    e.bytes = bytes;
    if (bytes <= 0) {
      byIno.remove(ino);
      byAge.remove(e);
    }
  }

  /** Adds {@code bytes} to what the file holds (a reservation before its blocks are allocated). */
  synchronized void add(long ino, TreePath path, long bytes) {
    Entry e = byIno.get(ino);
    charge(ino, path, (e == null ? 0 : e.bytes) + bytes);
  }

  synchronized long bytesOf(long ino) {
    Entry e = byIno.get(ino);
    return e == null ? 0 : e.bytes;
  }

  /** The file was last used at {@code millis} (recorded before a restart). Unknown files are ignored. */
  synchronized void usedAt(long ino, long millis) {
    Entry e = byIno.get(ino);
    if (e != null) {
      byAge.remove(e);
      e.lastUse = millis;
      byAge.add(e);
    }
  }

  /** When each file was last used, by inode (what {@link Recency} keeps across a restart). */
  synchronized Map<Long, Long> lastUses() {
    Map<Long, Long> out = new HashMap<>(byIno.size() * 2);
    for (Entry e : byIno.values()) {
      out.put(e.ino, e.lastUse);
    }
    return out;
  }

  /** Changes of recency so far (a new file, a use): whether there is anything new to record. */
  synchronized long changes() {
    return changes;
  }

  /** The file was used now (opened, read). Unknown files (holding no blocks) are ignored. */
  synchronized void touch(long ino) {
    Entry e = byIno.get(ino);
    if (e != null) {
      byAge.remove(e);
      e.lastUse = clock.millis();
      byAge.add(e);
      changes++;
    }
  }

  synchronized void pin(long ino, boolean pinned) {
    Entry e = byIno.get(ino);
    if (e != null) {
      e.pinned = pinned;
    }
  }

  /**
   * Candidates to free at least {@code need} bytes, least recently used first, skipping pinned files and
   * {@code except}; the list may free less (everything else is pinned). Nothing is removed: the caller evicts each
   * and {@link #charge}s what it then holds.
   */
  synchronized List<Entry> victims(long need, long except) {
    List<Entry> out = new ArrayList<>();
    long freed = 0;
    for (Entry e : byAge) {
      if (freed >= need) {
        break;
      }
      if (e.pinned || e.ino == except) {
        continue;
      }
      out.add(e);
      freed += e.bytes;
    }
    return out;
  }

  /** Files not used for longer than {@code age}, oldest first (pinned ones excepted). */
  synchronized List<Entry> unusedFor(Duration age) {
    long before = clock.millis() - age.toMillis();
    List<Entry> out = new ArrayList<>();
    for (Entry e : byAge) {
      if (e.lastUse > before) {
        break;
      }
      if (!e.pinned) {
        out.add(e);
      }
    }
    return out;
  }
}
