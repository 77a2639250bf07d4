package dev.lazydir.origin;

import java.time.Instant;

/**
 * One entry of a directory listing.
 *
 * @param name the local file name (percent-decoded, validated: one path component)
 * @param encodedName the path segment exactly as the listing wrote it, so requests use the server's spelling
 * @param directory whether the link named a directory (trailing slash, or a deeper link)
 * @param size exact size in bytes if the listing gave one, else -1 (rounded sizes like "1.2M" are not exact)
 * @param mtime modification time the listing gave (UTC), or null
 * @param mtimeExactSeconds whether {@code mtime} carries seconds (listings often show only minutes)
 * @param etag the origin's ETag when a probe asked for it, else null
 */
public record RemoteEntry(String name, String encodedName, boolean directory, long size, Instant mtime,
    boolean mtimeExactSeconds, String etag) {

  /** Whether the listing alone describes this file well enough to make its stub without asking the origin. */
  public boolean listingIsEnough() {
    return directory || (size >= 0 && mtime != null);
  }

  /** This entry completed with what a probe of its URL said (the probe wins where it knows more). */
  public RemoteEntry withFile(RemoteFile file) {
    boolean fromProbe = file.lastModified() != null;
    return new RemoteEntry(name, encodedName, directory, file.size(), fromProbe ? file.lastModified() : mtime,
        fromProbe || mtimeExactSeconds, file.etag());
  }

  /** The same entry seen to be a directory (a link without slash that redirected to a listing). */
  public RemoteEntry asDirectory() {
    return new RemoteEntry(name, encodedName, true, -1, mtime, mtimeExactSeconds, null);
  }
}
