package dev.lazydir.testing;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/** Collects lazydir's log records during a test. */
public final class LogCapture extends Handler implements AutoCloseable {
  private final Logger logger = Logger.getLogger("dev.lazydir");
  private final Level previous;
  private final List<LogRecord> records = new CopyOnWriteArrayList<>();

  public LogCapture() {
    previous = logger.getLevel();
    logger.setLevel(Level.ALL);
    setLevel(Level.ALL);
    logger.addHandler(this);
  }

  public List<String> messages(Level level) {
    return records.stream().filter(r -> r.getLevel().equals(level))
        .map(r -> new java.util.logging.SimpleFormatter().formatMessage(r)).toList();
  }

  public List<String> warnings() {
    return messages(Level.WARNING);
  }

  public List<String> all() {
    return records.stream().map(r -> new java.util.logging.SimpleFormatter().formatMessage(r)).toList();
  }

  @Override
  public void publish(LogRecord record) {
    records.add(record);
  }

  @Override
  public void flush() {}

  @Override
  public void close() {
    logger.removeHandler(this);
    logger.setLevel(previous);
  }
}
