package dev.lazydir.crawl;

import dev.lazydir.origin.PercentCodec;
import dev.lazydir.origin.RemoteEntry;
import dev.lazydir.tree.EntryMeta.DirMeta;
import dev.lazydir.tree.EntryMeta.FileMeta;

/** Builds the on-disk metadata of an entry from what the origin said about it. */
final class FileMetas {
  private FileMetas() {}

  static FileMeta fileMeta(RemoteEntry e) {
    return new FileMeta(e.size(), e.mtime(), StubChange.precisionOf(e), e.etag(), listedName(e));
  }

  static DirMeta unlistedDir(RemoteEntry e) {
    return new DirMeta(0, listedName(e), null);
  }

  /**
   * The listing's spelling of the segment, kept only when it is not what lazydir would write anyway (a long
   * spelling would push the xattr out of the inode into a disk block).
   */
  static String listedName(RemoteEntry e) {
    return PercentCodec.sameSpelling(e.encodedName(), PercentCodec.canonicalSegment(e.name())) ? null : e.encodedName();
  }
}
