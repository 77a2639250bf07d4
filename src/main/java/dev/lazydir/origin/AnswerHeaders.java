package dev.lazydir.origin;

import java.time.Instant;
import java.util.Date;
import java.util.Locale;
import okhttp3.Headers;
import okhttp3.Response;

/**
 * The head of an origin's answer as lazydir reads it, the same way on both fetch paths (OkHttp's {@link Response},
 * and the head {@link PlainRangeFetch} parses off the socket itself): the status, the file's size (the total of a
 * Content-Range, or the Content-Length of an identity body), its validators (ETag, Last-Modified) and whether the
 * body is an HTML page. A value the answer does not give, or gives in a form that cannot be trusted (a malformed
 * number, the length of a compressed transfer), reads as -1 or null. Judging the validators is {@link FileVersion}'s.
 */
final class AnswerHeaders {
  private final int status;
  private final Headers headers;

  AnswerHeaders(int status, Headers headers) {
    this.status = status;
    this.headers = headers;
  }

  static AnswerHeaders of(Response response) {
    return new AnswerHeaders(response.code(), response.headers());
  }

  int status() {
    return status;
  }

  /** The body's Content-Length where it is the file's bytes as they are; -1 if absent, malformed or coded. */
  long identityLength() {
    String encoding = headers.get("Content-Encoding");
    if (encoding != null && !encoding.equalsIgnoreCase("identity")) {
      return -1; // the length of a compressed transfer, not of the file
    }
    String length = headers.get("Content-Length");
    if (length == null) {
      return -1;
    }
    try {
      long n = Long.parseLong(length.trim());
      return n >= 0 ? n : -1;
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  String contentRange() {
    return headers.get("Content-Range");
  }

  /** First byte of "bytes 10-20/30" ({@code -1} if absent or malformed). */
  long rangeStart() {
    String contentRange = contentRange();
    if (contentRange == null) {
      return -1;
    }
    String v = contentRange.trim();
    int space = v.indexOf(' ');
    int dash = v.indexOf('-');
    if (space < 0 || dash < space) {
      return -1;
    }
    try {
      return Long.parseLong(v.substring(space + 1, dash).trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** Total size from "bytes 0-0/1234" or "bytes * /1234" ({@code -1} if absent, malformed or "*"). */
  long rangeTotal() {
    String contentRange = contentRange();
    if (contentRange == null) {
      return -1;
    }
    int slash = contentRange.lastIndexOf('/');
    if (slash < 0) {
      return -1;
    }
    try {
      return Long.parseLong(contentRange.substring(slash + 1).trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /**
   * The size of the whole file as an answer to a range request states it: the Content-Range total of a 206,
   * the identity length of a 200 (-1 if it gives none).
   */
  long fileSize() {
    return status == 206 ? rangeTotal() : identityLength();
  }

  String etag() {
    return headers.get("ETag");
  }

  /** Last-Modified, or null if absent or not a date. */
  Instant lastModified() {
    Date date = headers.getDate("Last-Modified");
    return date == null ? null : date.toInstant();
  }

  boolean html() {
    String type = headers.get("Content-Type");
    if (type == null) {
      return false;
    }
    String t = type.toLowerCase(Locale.ROOT);
    return t.startsWith("text/html") || t.startsWith("application/xhtml+xml") || ListingParser.isListingType(t);
  }
}
