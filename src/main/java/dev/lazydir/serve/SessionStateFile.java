package dev.lazydir.serve;

import dev.lazydir.origin.OriginClient;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The state file of a running serve, written at start and once a second after, that {@code lazydir status} and
 * {@code lazydir wait} read instead of asking the daemon: its pid and view, requests and bytes fetched, events and
 * denials (the last few, with why), what the tree holds (from the daemon's counters, no walk), how far the namespace
 * crawl got, and the store's usage against its bounds. Removed at stop; a write after that never brings it back.
 */
final class SessionStateFile {
  private final StoreLayout layout;
  private final Daemon daemon;
  private final OriginClient client;
  private final NamespaceCrawl crawl;
  private final Path view;
  /** Why the namespace is incomplete whatever the crawl finds, or null (see ServeSession). */
  private final String interrupted;
  private final Thread writer;
  private boolean closed;

  SessionStateFile(StoreLayout layout, Daemon daemon, OriginClient client, NamespaceCrawl crawl, Path view,
      String interrupted) {
    this.layout = layout;
    this.daemon = daemon;
    this.client = client;
    this.crawl = crawl;
    this.view = view;
    this.interrupted = interrupted;
    this.writer = new Thread(this::writeLoop, "lazydir-state");
    writer.setDaemon(true);
    writer.start();
  }

  private void writeLoop() {
    while (true) {
      synchronized (this) {
        if (closed) {
          return;
        }
      }
      try {
        Thread.sleep(1000);
        write();
      } catch (InterruptedException e) {
        return;
      } catch (IOException e) {
        // status is informative; a failed write is retried next second
      }
    }
  }

  /** Stops the writer: no write after this one returns. */
  void stop() {
    synchronized (this) {
      closed = true;
    }
    writer.interrupt();
  }

  /** Removes the file (after {@link #stop}). */
  void remove() throws IOException {
    layout.removeState();
  }

  /** Synchronized: start-up and the once-a-second writer share one temporary name. */
  synchronized void write() throws IOException {
    if (closed) {
      return; // close() removed it: a writer that waited for the monitor must not bring it back
    }
    Daemon.Stats s = daemon.stats();
    TreeCounts.Snapshot t = daemon.treeCounts();
    layout.writeState("pid=" + ProcessHandle.current().pid() + "\n"
        + "started=" + s.started.getEpochSecond() + "\n"
        + "view=" + view + "\n"
        + "requests=" + client.requestCount() + "\n"
        + "fetched_bytes=" + daemon.fetchedBytes() + "\n"
        + "fetches=" + daemon.fetches() + "\n"
        + "events=" + s.events() + "\n"
        + "denied=" + s.denied() + "\n"
        + "listings=" + s.dirsListed() + "\n"
        // What the tree holds, from the daemon's counters: status reads these instead of walking the tree.
        + "tree.dirs_listed=" + t.dirsListed() + "\n"
        + "tree.dirs_known=" + t.dirsKnown() + "\n"
        + "tree.files_populated=" + t.filesComplete() + "\n"
        + "tree.files_partial=" + t.filesPartial() + "\n"
        + "tree.files_stub=" + t.filesStub() + "\n"
        + "tree.bytes_populated=" + t.bytesPresent() + "\n"
        + "tree.bytes_total=" + t.bytesTotal() + "\n"
        + "crawl=" + (crawl == null ? "off" : interrupted != null && crawl.outcome() == NamespaceCrawl.Outcome.COMPLETE
            ? "incomplete" : crawl.outcome().name().toLowerCase(java.util.Locale.ROOT)) + "\n"
        + "crawl_dirs=" + (crawl == null ? 0 : crawl.directories()) + "\n"
        + (crawl == null ? "" : interrupted != null ? "crawl_incomplete=" + interrupted + "\n"
            : crawl.incompleteBecause().isEmpty() ? "" : "crawl_incomplete=" + crawl.incompleteBecause() + "\n")
        + cacheState(daemon.cacheStats())
        + recentDenials(s));
  }

  /** The store's usage and bounds, evictions and opens (cache_max 0: no such bound). */
  private static String cacheState(Daemon.CacheStats c) {
    return "cache_bytes=" + c.used() + "\n"
        + "cache_max=" + c.limits().maxSize() + "\n"
        + "cache_min_free=" + c.limits().minFree() + "\n"
        + "cache_max_age=" + (c.limits().maxAge() == null ? 0 : c.limits().maxAge().toSeconds()) + "\n"
        + "evictions=" + c.evictions() + "\n"
        + "evicted_bytes=" + c.evictedBytes() + "\n"
        + "opens=" + c.opens() + "\n"
        + "opens_fetching=" + c.fetchingOpens() + "\n";
  }

  /** One line each, "denial.N=EPOCH ERRNO WHY" (newlines in the cause folded). */
  private static String recentDenials(Daemon.Stats s) {
    StringBuilder b = new StringBuilder();
    int i = 0;
    for (Daemon.Stats.Denial d : s.recentDenials()) {
      b.append("denial.").append(i++).append('=').append(d.at().getEpochSecond()).append(' ').append(d.errno())
          .append(' ').append(d.why().replace('\n', ' ')).append('\n');
    }
    return b.toString();
  }
}
