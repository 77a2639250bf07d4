package dev.lazydir.origin;

import okhttp3.HttpUrl;

/**
 * A GET answer for a URL that may be a listing. The body is read only when the answer is HTML; for anything
 * else ({@code html == false}) the transfer is abandoned after the headers and {@code file} describes it.
 */
public record Page(HttpUrl finalUrl, boolean html, byte[] body, String charset, RemoteFile file) {}
