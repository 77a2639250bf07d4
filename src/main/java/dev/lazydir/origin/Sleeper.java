package dev.lazydir.origin;

import java.time.Duration;

/** Waits between retries; injected so tests can check the back-off without sleeping. */
@FunctionalInterface
public interface Sleeper {
  Sleeper SYSTEM = d -> Thread.sleep(d.toMillis());

  void sleep(Duration duration) throws InterruptedException;
}
