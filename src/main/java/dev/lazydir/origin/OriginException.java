package dev.lazydir.origin;

import java.io.IOException;

/**
 * The origin could not give what was asked: an HTTP status that is final (404, 403...), or a network or
 * server failure that outlived the retries. The message names the URL (never its credentials) and the cause.
 */
public class OriginException extends IOException {
  /** HTTP status of the last answer, or -1 if no answer came (network error). */
  private final int status;

  public OriginException(String message, int status, Throwable cause) {
    super(message, cause);
    this.status = status;
  }

  public OriginException(String message, int status) {
    this(message, status, null);
  }

  public int status() {
    return status;
  }

  public boolean isNotFound() {
    return status == 404 || status == 410;
  }
}
