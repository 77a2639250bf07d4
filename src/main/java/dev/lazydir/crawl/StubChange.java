package dev.lazydir.crawl;

import dev.lazydir.origin.RemoteEntry;
import dev.lazydir.tree.EntryMeta.FileMeta;
import dev.lazydir.tree.EntryMeta.TimePrecision;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Objects;

/**
 * What a new look at the origin means for a file lazydir already has. A different size or ETag, or a different
 * mtime at the precision both sides know, means the content changed and the stub starts over; a more precise
 * time or a first ETag for the same content only improves the metadata and keeps what was downloaded.
 */
enum StubChange {
  UNCHANGED, REFINE, RESET;

  public static StubChange decide(FileMeta old, RemoteEntry remote) {
    Instant oldMtime = old.mtime();
    if (old.size() != remote.size()) {
      return RESET;
    }
    boolean oldEtag = old.etag() != null;
    String newEtag = remote.etag() == null ? null : new FileMeta(0, null, TimePrecision.UNKNOWN, remote.etag(), null).etag();
    if (oldEtag && newEtag != null && !old.etag().equals(newEtag)) {
      return RESET;
    }
    TimePrecision newPrecision = precisionOf(remote);
    if (old.mtimePrecision() != TimePrecision.UNKNOWN && newPrecision != TimePrecision.UNKNOWN && oldMtime != null) {
      ChronoUnit unit = old.mtimePrecision() == TimePrecision.MINUTES || newPrecision == TimePrecision.MINUTES
          ? ChronoUnit.MINUTES : ChronoUnit.SECONDS;
      if (!oldMtime.truncatedTo(unit).equals(remote.mtime().truncatedTo(unit))) {
        return RESET;
      }
    }
    boolean betterTime = rank(newPrecision) > rank(old.mtimePrecision());
    boolean newValidator = !oldEtag && newEtag != null;
    boolean sameSpelling = Objects.equals(old.listedName(), FileMetas.listedName(remote));
    return betterTime || newValidator || !sameSpelling ? REFINE : UNCHANGED;
  }

  static TimePrecision precisionOf(RemoteEntry e) {
    if (e.mtime() == null) {
      return TimePrecision.UNKNOWN;
    }
    return e.mtimeExactSeconds() ? TimePrecision.SECONDS : TimePrecision.MINUTES;
  }

  private static int rank(TimePrecision p) {
    return switch (p) {
      case UNKNOWN -> 0;
      case MINUTES -> 1;
      case SECONDS -> 2;
      case NANOS -> 3;
    };
  }
}
