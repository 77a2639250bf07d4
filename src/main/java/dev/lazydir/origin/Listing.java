package dev.lazydir.origin;

import java.util.List;
import okhttp3.HttpUrl;

/**
 * A parsed directory listing: its final URL (base of the entries), the entries kept, and one human-readable
 * reason for each link that looked like an entry but could not become a local file.
 *
 * @param timesInUtc whether the entries' times are UTC by the listing's format (nginx's JSON and XML, which
 *     write GMT to the second); HTML listings print times without a zone, which the crawler learns
 */
public record Listing(HttpUrl url, List<RemoteEntry> entries, List<String> rejected, boolean timesInUtc) {
  /** A listing whose times have no zone of their own (HTML). */
  public Listing(HttpUrl url, List<RemoteEntry> entries, List<String> rejected) {
    this(url, entries, rejected, false);
  }
}
