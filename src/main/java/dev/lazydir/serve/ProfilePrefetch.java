package dev.lazydir.serve;

import dev.lazydir.internal.Threads;
import dev.lazydir.tree.TreePath;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Logger;

/**
 * Fetches the ranges of an access profile at start, ahead of the programs that will read them: in the profile's
 * order, several at once, never holding up {@code ready} or a reader. Each range is cut into pieces of whole
 * segments, about a third of an even share of the profile per stream, so a large file (java's 123 MiB lib/modules)
 * arrives over every stream and no stream idles long at the end; the pieces go to a few threads of its own, at most {@code streams} fetches in flight,
 * leaving the rest of {@code --max-conns} to readers (whose requests for bytes a piece is fetching join it). A
 * path whose directories are not listed yet is listed first; one that does not exist, or a piece that fails, is
 * skipped with a note in the log: a profile only speeds things up.
 */
final class ProfilePrefetch implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(ProfilePrefetch.class.getName());
  /** Pieces of at most this many bytes (rounded to segments): a failure costs one piece, not a whole file. */
  static final long MAX_PIECE = 32L << 20;

  /** Lists a directory of the tree (its names from the root) if it is not listed yet. */
  @FunctionalInterface
  interface Lister {
    void ensureListed(TreePath dir) throws IOException;
  }

  private final ExecutorService pieces;
  private final AtomicLong done = new AtomicLong();
  private final AtomicLong failed = new AtomicLong();
  private final Thread planner;

  private ProfilePrefetch(AccessProfile profile, OpenStubs stubs, ContentFiller filler, Lister lister, int streams,
      java.time.Duration timeout) {
    this.pieces = Executors.newFixedThreadPool(Math.max(1, streams), Threads.daemon("lazydir-profile"));
    // About three pieces per stream: the last pieces to finish are short, so no stream idles long at the end.
    long piece = Math.max(1, Math.min(MAX_PIECE, profile.bytes() / (3L * Math.max(1, streams))));
    this.planner = new Thread(() -> plan(profile, stubs, filler, lister, piece, timeout), "lazydir-profile-plan");
    planner.setDaemon(true);
  }

  /** Starts fetching the profile's ranges in the background; returns at once. */
  static ProfilePrefetch start(AccessProfile profile, OpenStubs stubs, ContentFiller filler, Lister lister, int streams,
      java.time.Duration timeout) {
    ProfilePrefetch p = new ProfilePrefetch(profile, stubs, filler, lister, streams, timeout);
    p.planner.start();
    return p;
  }

  private void plan(AccessProfile profile, OpenStubs stubs, ContentFiller filler, Lister lister, long piece,
      java.time.Duration timeout) {
    long t0 = System.nanoTime();
    List<java.util.concurrent.Future<?>> all = new ArrayList<>();
    for (AccessProfile.Range r : profile.ranges()) {
      TreePath parent = r.path().parent();
      OpenStub stub;
      try {
        TreePath dir = TreePath.root();
        lister.ensureListed(dir);
        for (String name : parent.names()) {
          dir = dir.child(name);
          lister.ensureListed(dir);
        }
        stub = stubs.open(parent, r.path().name());
      } catch (IOException | RuntimeException e) {
        LOG.fine("profile: " + r.path().printable() + ": " + e.getMessage());
        failed.incrementAndGet();
        continue;
      }
      SegmentMap map = stub.mapView();
      long end = Math.min(map.fileSize(), r.offset() + r.length());
      long step = Math.max(map.segmentSize(), piece / map.segmentSize() * map.segmentSize());
      for (long at = r.offset() / map.segmentSize() * map.segmentSize(); at < end; at += step) {
        long from = at;
        long to = Math.min(end, at + step);
        try {
          all.add(pieces.submit(() -> fetch(filler, stub, from, to, timeout)));
        } catch (java.util.concurrent.RejectedExecutionException e) {
          return; // stopping
        }
      }
    }
    for (java.util.concurrent.Future<?> f : all) {
      try {
        f.get();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (ExecutionException | java.util.concurrent.CancellationException e) {
        // counted by fetch
      }
    }
    LOG.info("access profile: " + done.get() + " pieces present" + (failed.get() > 0 ? ", " + failed.get()
        + " skipped" : "") + " in " + (System.nanoTime() - t0) / 1_000_000 + " ms");
  }

  private void fetch(ContentFiller filler, OpenStub stub, long from, long to, java.time.Duration timeout) {
    try {
      filler.prefetch(stub, from, to - from, 1).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      done.incrementAndGet();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException | RuntimeException e) {
      failed.incrementAndGet();
      LOG.fine("profile: " + stub.label + " bytes " + from + "-" + (to - 1) + ": " + e);
    }
  }

  @Override
  public void close() {
    planner.interrupt();
    pieces.shutdownNow();
  }
}
