package dev.lazydir.origin;

import java.time.Instant;
import okhttp3.HttpUrl;

/**
 * What the origin says about one URL without sending its body.
 *
 * @param finalUrl the URL after redirects
 * @param size exact byte size, or -1 if the origin did not say
 * @param lastModified Last-Modified (second precision), or null
 * @param etag strong or weak ETag as sent, or null
 * @param html whether the answer is a page that may be a listing (HTML, or nginx's JSON or XML autoindex: a
 *     directory listing, when the URL looked like a file)
 */
public record RemoteFile(HttpUrl finalUrl, long size, Instant lastModified, String etag, boolean html) {}
