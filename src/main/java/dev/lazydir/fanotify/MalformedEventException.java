package dev.lazydir.fanotify;

import java.io.IOException;
import java.util.List;

/**
 * A buffer read from a fanotify group that does not parse. Carries the events that were parsed before the fault so
 * their event fds can still be answered and closed (otherwise their readers would stay blocked).
 */
public final class MalformedEventException extends IOException {
  private final transient List<FanotifyEvent> parsedBefore;

  MalformedEventException(String message, List<FanotifyEvent> parsedBefore) {
    super(message);
    this.parsedBefore = List.copyOf(parsedBefore);
  }

  /** Well-formed events that preceded the malformed one in the same buffer. */
  public List<FanotifyEvent> parsedBefore() {
    return parsedBefore;
  }
}
