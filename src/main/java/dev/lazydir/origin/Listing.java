package dev.lazydir.origin;

import java.util.List;
import okhttp3.HttpUrl;

/**
 * A parsed directory listing: its final URL (base of the entries), the entries kept, and one human-readable
 * reason for each link that looked like an entry but could not become a local file.
 */
public record Listing(HttpUrl url, List<RemoteEntry> entries, List<String> rejected) {}
