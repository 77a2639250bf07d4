package dev.lazydir.index;

import dev.lazydir.origin.OriginClient;
import dev.lazydir.origin.OriginException;
import dev.lazydir.origin.Redact;
import dev.lazydir.internal.posix.Fd;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Optional;
import java.util.logging.Logger;
import okhttp3.HttpUrl;

/** Fetches an origin's tree index: one request. */
public final class IndexFetch {
  private static final Logger LOG = Logger.getLogger(IndexFetch.class.getName());

  private IndexFetch() {}

  /** Where the index is; {@code explicit}: the user named it (--index), so it must be there. */
  public record Where(HttpUrl url, boolean explicit) {}

  /** {@code <origin>/.lazydir-index} (the origin URL taken as a directory). */
  public static HttpUrl defaultUrl(HttpUrl origin) {
    HttpUrl dir = origin.encodedPath().endsWith("/") ? origin : origin.newBuilder().addPathSegment("").build();
    return dir.newBuilder().query(null).fragment(null).addPathSegment(TreeIndex.DEFAULT_NAME).build();
  }

  /**
   * The index's bytes (gzip, not yet validated), or empty when the origin publishes none: a 404 or 410 at the
   * default place. At the default place, another failure is a warning and the caller lists directories instead;
   * an explicit --index that cannot be fetched is an error.
   */
  public static Optional<byte[]> fetch(OriginClient client, Where where) throws IOException {
    return fetch(client, where, null).body();
  }

  /**
   * The index as fetched: {@code unchanged} when it is the one {@link #APPLIED_XATTR} names (the origin answered
   * 304 to its validators), else its bytes (empty: none published) and the validators to record once applied.
   */
  public record Fetched(boolean unchanged, Optional<byte[]> body, Applied validators) {
    static final Fetched NONE = new Fetched(false, Optional.empty(), null);
  }

  /**
   * The index a tree was last made from, recorded on its root in {@value #APPLIED_XATTR} once it was applied
   * whole (removed before another is applied): where it was and the validators it came with, as
   * {@code URL\nETAG\nEPOCH} (empty ETag or EPOCH: not given). A start or a crawl asks for the index with them,
   * and a 304 leaves the tree as it is: no download, no validation, no walk of the tree.
   */
  public record Applied(String url, String etag, Instant lastModified) {
    public byte[] encode() {
      return (url + "\n" + (etag == null ? "" : etag) + "\n"
          + (lastModified == null ? "" : Long.toString(lastModified.getEpochSecond()))).getBytes(StandardCharsets.UTF_8);
    }

    /** The record on a tree's root, if it is one lazydir wrote (a malformed one is ignored). */
    public static Optional<Applied> of(Fd root) throws IOException {
      Optional<String> raw = root.getXattrString(APPLIED_XATTR);
      if (raw.isEmpty()) {
        return Optional.empty();
      }
      String[] f = raw.get().split("\n", -1);
      try {
        if (f.length != 3 || HttpUrl.parse(f[0]) == null) {
          return Optional.empty();
        }
        return Optional.of(new Applied(f[0], f[1].isEmpty() ? null : f[1],
            f[2].isEmpty() ? null : Instant.ofEpochSecond(Long.parseLong(f[2]))));
      } catch (NumberFormatException e) {
        return Optional.empty();
      }
    }

    boolean hasValidators() {
      return etag != null || lastModified != null;
    }
  }

  /** The xattr on a tree's root naming the index it was made from (see {@link Applied}). */
  public static final String APPLIED_XATTR = "user.lazydir.index-http";

  /**
   * As {@link #fetch(OriginClient, Where)}, asking the origin whether the index {@code applied} (the one the tree
   * was made from, if at the same place) is still current: a 304 gives {@code unchanged}.
   */
  public static Fetched fetch(OriginClient client, Where where, Applied applied) throws IOException {
    if (where == null) {
      return Fetched.NONE;
    }
    String url = Redact.url(where.url());
    Applied prior = applied != null && applied.url().equals(url) && applied.hasValidators() ? applied : null;
    try {
      OriginClient.SmallFile f = client.fetchSmallFileIfChanged(where.url(), TreeIndex.MAX_COMPRESSED_BYTES,
          prior == null ? null : prior.etag(), prior == null ? null : prior.lastModified());
      if (f.unchanged()) {
        LOG.info("tree index " + url + ": unchanged since it was applied (304)");
        return new Fetched(true, Optional.empty(), prior);
      }
      if (f.body().isEmpty() && where.explicit()) {
        throw new OriginException("--index " + url + ": not found", 404);
      }
      if (f.body().isPresent()) {
        LOG.info("tree index " + url + ": " + f.body().get().length + " bytes");
      }
      return new Fetched(false, f.body(), new Applied(url, f.etag(), f.lastModified()));
    } catch (OriginException e) {
      if (where.explicit() || e.status() == -1) {
        throw e; // asked for by name, or the origin unreachable: listings would fail too
      }
      LOG.warning("tree index " + url + ": " + e.getMessage() + "; listing directories instead");
      return Fetched.NONE;
    }
  }
}
