package dev.lazydir.origin;

import okhttp3.HttpUrl;

/** Renders URLs for messages and logs: no user info, no query (signed URLs carry tokens there). */
public final class Redact {
  private Redact() {}

  public static String url(HttpUrl url) {
    HttpUrl.Builder b = url.newBuilder().username("").password("").fragment(null);
    if (url.encodedQuery() != null) {
      b.query("...");
    }
    return b.build().toString();
  }
}
