package dev.lazydir.serve;

import dev.lazydir.fanotify.Fan;
import dev.lazydir.fanotify.FanotifyEvent;
import dev.lazydir.fanotify.FanotifyGroup;
import dev.lazydir.internal.posix.Errno;
import dev.lazydir.internal.posix.ErrnoException;
import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Stat;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The threads that answer the daemon's fanotify group: each polls, hands every event it read straight to its room
 * (a content event, FAN_PRE_ACCESS, to {@link ContentEvents}; an open event, FAN_OPEN_PERM, to
 * {@link OpenEvents}), and answers it exactly once whatever the room does: its answer, the errno of a
 * {@link Denied}, or EIO (ENOSPC for a full disk) when it fails, and EIO once the loop is stopping. Every denial is
 * recorded with its cause. A thread blocked in a listing or a fetch holds only its own event; the others go on. On
 * stop, what is still queued is left to the guard, which holds a copy of the group ({@link Guard}), or drained
 * with EIO here when no guard holds it.
 */
final class EventLoop {
  private static final Logger LOG = Logger.getLogger(EventLoop.class.getName());

  /**
   * Decides one event: FAN_ALLOW or a deny answer; a failure becomes EIO (or ENOSPC). {@code file}: the event
   * fd's statx, taken once by the loop as it reads the event, so no room goes back to the kernel to ask again.
   */
  interface Handler {
    int handle(FanotifyEvent event, Stat file) throws IOException;
  }

  private final FanotifyGroup group;
  private final Handler content;
  private final Handler opens;
  private final Daemon.Stats stats;
  private final List<Thread> threads = new ArrayList<>();
  /** Told of each FAN_OPEN notification (with its fd, closed afterwards); none by default. */
  private volatile java.util.function.IntConsumer openNotices = fd -> {};
  private volatile boolean stopping;
  private volatile String lastDenied;

  EventLoop(FanotifyGroup group, Handler content, Handler opens, Daemon.Stats stats, int threadCount) {
    this.group = group;
    this.content = content;
    this.opens = opens;
    this.stats = stats;
    for (int i = 0; i < threadCount; i++) {
      Thread t = new Thread(this::run, "lazydir-handler-" + i);
      t.setDaemon(true);
      threads.add(t);
    }
  }

  void onOpenNotices(java.util.function.IntConsumer opens) {
    this.openNotices = opens;
  }

  void start() {
    threads.forEach(Thread::start);
  }

  boolean stopping() {
    return stopping;
  }

  /** Stops polling and waits (bounded) for every thread to answer what it read. */
  void stop(Duration join) {
    stopping = true;
    for (Thread t : threads) {
      try {
        t.join(join.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Answers EIO to everything still queued (when no guard will). */
  void drain() {
    try {
      for (List<FanotifyEvent> left = group.poll(Duration.ZERO); !left.isEmpty(); left = group.poll(Duration.ZERO)) {
        for (FanotifyEvent ev : left) {
          answer(ev, null);
        }
      }
    } catch (IOException e) {
      LOG.fine("drain: " + e.getMessage());
    }
  }

  private void run() {
    while (!stopping) {
      List<FanotifyEvent> batch;
      try {
        batch = group.poll(Duration.ofMillis(200));
      } catch (ClosedChannelException e) {
        return;
      } catch (IOException e) {
        LOG.log(Level.SEVERE, Thread.currentThread().getName() + ": reading events failed", e);
        continue;
      }
      for (FanotifyEvent ev : batch) {
        answer(ev, ev.isPreAccess() ? content : opens);
      }
    }
  }

  /** Exactly one answer per event, whatever happens in the handler (none: EIO). */
  private void answer(FanotifyEvent ev, Handler h) {
    if (!ev.needsResponse()) {
      if (ev.isOpenNotice() && ev.fd() >= 0) {
        try {
          openNotices.accept(ev.fd());
        } catch (RuntimeException e) {
          LOG.fine("open notice: " + e);
        }
      }
      closeEventFd(ev.fd());
      return;
    }
    stats.events.incrementAndGet();
    long readAt = System.nanoTime();
    int response = Fan.FAN_ALLOW;
    try {
      response = stopping || h == null ? Fan.denyErrno(Fan.EIO) : h.handle(ev, Fd.statOf(ev.fd()));
    } catch (IOException | RuntimeException e) {
      String why = e.getMessage() == null ? e.toString() : e.getMessage();
      int errno = e instanceof Denied d ? d.errno
          : e instanceof ErrnoException ee && ee.errno() == Errno.ENOSPC ? Fan.ENOSPC : Fan.EIO;
      if (!(e instanceof Denied) || !why.equals(lastDenied)) {
        LOG.warning(why); // the same refusal again and again (a full disk) is named once
      }
      if (e instanceof Denied) {
        lastDenied = why;
      }
      stats.denial(errno, why);
      response = Fan.denyErrno(errno);
    } finally {
      if (response != Fan.FAN_ALLOW) {
        stats.denied.incrementAndGet();
      }
      try {
        group.respond(ev.fd(), response);
      } catch (IOException e) {
        LOG.log(Level.SEVERE, "could not answer " + ev, e);
      }
      stats.answerSeconds.labelValues(ev.isPreAccess() ? "pre_access" : "open_perm")
          .observe((System.nanoTime() - readAt) / 1e9);
      closeEventFd(ev.fd());
    }
  }

  private static void closeEventFd(int fd) {
    try {
      FanotifyGroup.closeEventFd(fd);
    } catch (IOException e) {
      LOG.fine("close event fd: " + e.getMessage());
    }
  }
}
