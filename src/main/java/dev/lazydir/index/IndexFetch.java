package dev.lazydir.index;

import dev.lazydir.origin.OriginClient;
import dev.lazydir.origin.OriginException;
import dev.lazydir.origin.Redact;
import java.io.IOException;
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
    if (where == null) {
      return Optional.empty();
    }
    try {
      Optional<byte[]> body = client.fetchSmallFile(where.url(), TreeIndex.MAX_COMPRESSED_BYTES);
      if (body.isEmpty() && where.explicit()) {
        throw new OriginException("--index " + Redact.url(where.url()) + ": not found", 404);
      }
      if (body.isPresent()) {
        LOG.info("tree index " + Redact.url(where.url()) + ": " + body.get().length + " bytes");
      }
      return body;
    } catch (OriginException e) {
      if (where.explicit() || e.status() == -1) {
        throw e; // asked for by name, or the origin unreachable: listings would fail too
      }
      LOG.warning("tree index " + Redact.url(where.url()) + ": " + e.getMessage() + "; listing directories instead");
      return Optional.empty();
    }
  }
}
