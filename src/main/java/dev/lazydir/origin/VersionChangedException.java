package dev.lazydir.origin;

/**
 * An answer came from another version of the file than the one being filled (size, ETag or Last-Modified differ):
 * its bytes were discarded. The file's directory must be listed again before its new version can be served.
 */
public final class VersionChangedException extends OriginException {
  VersionChangedException(String message, int status) {
    super(message, status);
  }
}
