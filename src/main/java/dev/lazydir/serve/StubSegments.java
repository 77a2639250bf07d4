package dev.lazydir.serve;

import dev.lazydir.internal.posix.Fd;
import dev.lazydir.tree.EntryMeta;
import dev.lazydir.tree.EntryMeta.FileMeta;
import dev.lazydir.tree.TreeChanges;
import java.io.IOException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Optional;

/**
 * The write-and-record part of an {@link OpenStub}: which of its segments are present, told to readers at once,
 * and the record of them on disk (the map xattr, then "complete" in the stub's metadata), written only after a
 * sync covered their bytes. Kept apart from the stub's identity and descriptor because it is the state every fetch
 * and reader of the file shares, and the crash rule lives here: the record on disk never names a segment whose
 * bytes a crash could lose (a crash loses at most the last second's segments, fetched again on the next read).
 * Guarded by its own monitor; it never takes the stub's (the stub takes this one inside its own).
 */
final class StubSegments {
  private final SegmentMap map;
  private volatile FileMeta meta;
  private int unpersisted;
  private boolean completionSeen;
  /** Told when a recorded map changes what the file counts as (see TreeCounts); what it was last told. */
  private final TreeChanges changes;
  private FileMeta countedMeta;
  private Optional<byte[]> countedMap;

  StubSegments(SegmentMap map, FileMeta meta, TreeChanges changes, Optional<byte[]> recordedMap) {
    this.map = map;
    this.meta = meta;
    this.changes = changes;
    this.countedMeta = meta;
    this.countedMap = recordedMap;
  }

  /** What is recorded on disk about the bytes of the file fd is open on (see SegmentMap#recorded). */
  static Optional<SegmentMap> recorded(Fd fd, FileMeta meta, long segmentSize) throws IOException {
    return SegmentMap.recorded(meta, meta.complete() ? Optional.empty() : fd.getXattr(EntryMeta.MAP_XATTR),
        segmentSize);
  }

  FileMeta meta() {
    return meta;
  }

  synchronized boolean isComplete() {
    return map.isComplete();
  }

  /**
   * True for exactly one caller once every segment is recorded: fetches finishing together (or a whole-file
   * stream recording other segments) would otherwise each see the file complete.
   */
  synchronized boolean completedNow() {
    if (!map.isComplete() || completionSeen) {
      return false;
    }
    completionSeen = true;
    return true;
  }

  synchronized boolean has(int segment) {
    return map.has(segment);
  }

  synchronized SegmentMap map() {
    return map;
  }

  /**
   * Records a segment whose bytes were written through {@code fd}: readers may use it at once. The map on disk
   * follows in batches ({@link #snapshot}, {@link #record}: every second and on close), each after a sync, so it
   * never names a segment whose bytes a crash could lose, and neither fetches nor readers ever wait for a sync.
   */
  synchronized void markPresent(int segment, Fd fd) throws IOException {
    map.mark(segment);
    unpersisted++;
    FileMeta m = meta;
    if (m.mtime() != null) {
      fd.setMtime(m.mtime()); // writing moved st_mtime; the view shows the origin's
    }
  }

  /**
   * A listing gave the mtime to the minute; the origin's Last-Modified, when it falls in that minute, gives
   * the second. Recorded so `ls -l` and re-crawls see the precise time.
   */
  synchronized void refineMtime(Instant lastModified, Fd fd) throws IOException {
    if (lastModified == null || meta.mtimePrecision() != EntryMeta.TimePrecision.MINUTES || meta.mtime() == null
        || !lastModified.truncatedTo(ChronoUnit.MINUTES).equals(meta.mtime())) {
      return;
    }
    meta = new FileMeta(meta.size(), lastModified, EntryMeta.TimePrecision.SECONDS, meta.etag(), meta.listedName(),
        meta.complete());
    fd.setXattr(EntryMeta.XATTR, meta.encode());
    fd.setMtime(lastModified);
  }

  /** The map as it is now, with how many segments it records that are not on disk yet; null if nothing is new. */
  synchronized Snapshot snapshot() {
    return unpersisted == 0 ? null : new Snapshot(map.encode(), unpersisted, map.isComplete());
  }

  /** A map taken before a sync, to be recorded once the sync has covered every write it names. */
  record Snapshot(byte[] map, int segments, boolean complete) {}

  /**
   * Records a snapshot through {@code fd} after a sync (of the file or of its whole filesystem) that came after
   * it. The caller holds the stub open meanwhile (its persist lock).
   */
  void record(Snapshot snapshot, Fd fd) throws IOException {
    Optional<byte[]> mapNow;
    if (snapshot.complete()) {
      // All there: the metadata says so (it fits inside the inode) and the map, which takes a block of its
      // own on ext4, goes. In this order, a crash in between leaves both saying complete.
      FileMeta done = meta.asComplete();
      fd.setXattr(EntryMeta.XATTR, done.encode());
      meta = done;
      fd.removeXattr(EntryMeta.MAP_XATTR);
      mapNow = Optional.empty();
    } else {
      fd.setXattr(EntryMeta.MAP_XATTR, snapshot.map()); // (mtime: restored by markPresent after each segment)
      mapNow = Optional.of(snapshot.map());
    }
    // A file a listing removed or replaced meanwhile left the counts with what its map said then.
    if (changes != TreeChanges.NONE && fd.linkCount() > 0) {
      changes.fileChanged(countedMeta, countedMap, meta, mapNow);
    }
    countedMeta = meta;
    countedMap = mapNow;
    synchronized (this) {
      unpersisted = Math.max(0, unpersisted - snapshot.segments());
    }
  }
}
