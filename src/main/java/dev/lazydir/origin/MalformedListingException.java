package dev.lazydir.origin;

/**
 * A listing in a structured format (nginx's JSON or XML autoindex) that cannot be read whole: invalid
 * syntax, a truncated body, or a shape nginx never writes. The directory is then not listed at all, never
 * listed from the entries read before the fault (that would make every later entry look deleted).
 */
public final class MalformedListingException extends OriginException {
  public MalformedListingException(String message) {
    super(message, 200);
  }
}
