package dev.lazydir.internal;

import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicLong;

/** Thread factories: named (so thread dumps and logs say what a thread does) and daemon (never keep the JVM up). */
public final class Threads {
  private Threads() {}

  public static ThreadFactory daemon(String name) {
    AtomicLong n = new AtomicLong();
    return r -> {
      Thread t = new Thread(r, name + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
