package dev.lazydir.origin;

import java.io.IOException;

/**
 * Thrown by a {@link RangeSink} that found the bytes handed to it are not the file's (they fail a digest): the
 * server that sent them is tried last for that file, so the caller's next fetch asks another one first.
 */
public class WrongBytesException extends IOException {
  public WrongBytesException(String message) {
    super(message);
  }
}
