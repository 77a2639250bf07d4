package dev.lazydir.origin;

import okhttp3.HttpUrl;

/**
 * A GET answer for a URL that may be a listing. The body is read only when the answer may be a listing
 * (HTML, JSON or XML, by its Content-Type); for anything else ({@code html == false}) the transfer is abandoned
 * after the headers and {@code file} describes it.
 *
 * @param mediaType the Content-Type's type/subtype, lower case, without parameters (null if none was sent)
 */
public record Page(HttpUrl finalUrl, boolean html, byte[] body, String charset, RemoteFile file, String mediaType) {
  /** A page whose media type is not known (the listing format is then told by the body alone). */
  public Page(HttpUrl finalUrl, boolean html, byte[] body, String charset, RemoteFile file) {
    this(finalUrl, html, body, charset, file, null);
  }
}
