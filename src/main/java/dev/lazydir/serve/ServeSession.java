package dev.lazydir.serve;

import dev.lazydir.crawl.Crawler;
import dev.lazydir.index.IndexFetch;
import dev.lazydir.internal.StartTrace;
import dev.lazydir.internal.posix.Fd;
import dev.lazydir.origin.OriginClient;
import dev.lazydir.origin.OriginConfig;
import dev.lazydir.tree.Access;
import dev.lazydir.tree.StubTree;
import java.io.IOException;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import okhttp3.HttpUrl;

/**
 * A running serve, the composition root of {@code lazydir serve} and of the demo: what {@link ServeStart} made (the
 * store's lock, the origin client, the tree, the daemon, the namespace crawl, the control socket) and the state file
 * status and wait read, closed in reverse order. It says when the view is ready (after the namespace crawl when that
 * runs before ready) and in which mode, and notices a view unmounted by hand.
 */
public final class ServeSession implements AutoCloseable {
  private final StoreLayout layout;
  private final FileLock lock;
  private final OriginClient client;
  private final StubTree tree;
  private final Daemon daemon;
  private final NamespaceCrawl crawl;
  private final boolean crawlBeforeReady;
  private final Path view;
  /** Why the namespace is incomplete whatever the crawl finds (an apply of the tree index stopped halfway), or null. */
  private final String interrupted;
  final SessionStateFile state;
  ControlSocket control;
  private MetricsEndpoint metrics;
  private final Thread warmUp;
  private volatile boolean closed;

  ServeSession(StoreLayout layout, FileLock lock, OriginClient client, StubTree tree, Daemon daemon,
      NamespaceCrawl crawl, boolean crawlBeforeReady, Path view, Thread warmUp, String interrupted) {
    this.interrupted = interrupted;
    this.layout = layout;
    this.lock = lock;
    this.client = client;
    this.tree = tree;
    this.daemon = daemon;
    this.crawl = crawl;
    this.crawlBeforeReady = crawlBeforeReady;
    this.view = view;
    this.warmUp = warmUp;
    this.state = new SessionStateFile(layout, daemon, client, crawl, view, interrupted);
  }

  public Path view() {
    return view;
  }

  /**
   * Starts the Prometheus endpoint ({@code serve --metrics-addr}) on the daemon's counters; it stops with the
   * session. Returns where it listens.
   */
  public synchronized java.net.InetSocketAddress exposeMetrics(java.net.InetSocketAddress at) throws IOException {
    try {
      metrics = MetricsEndpoint.start(at, new MetricsEndpoint.Sources(daemon.stats(), client::requestCount,
          daemon::fetchedBytes, daemon::fetches, daemon::treeCounts));
    } catch (java.net.BindException e) {
      throw new IOException("--metrics-addr " + at.getHostString() + ":" + at.getPort() + " cannot be listened on ("
          + e.getMessage() + "): give a free port, or an address of this machine", e);
    }
    return metrics.address();
  }

  /**
   * Waits for the namespace crawl when it runs before ready (progress on a terminal), and says which mode is in
   * force, for the ready line; null if a stop was asked for meanwhile.
   */
  public String awaitNamespace(java.io.PrintStream progress, boolean terminal, java.util.function.BooleanSupplier stopAsked)
      throws InterruptedException {
    if (crawl == null) {
      return "lazy directories: each is listed when first opened";
    }
    if (!crawlBeforeReady) {
      return "lazy directories, the whole namespace listed in the background: lazydir wait " + view;
    }
    while (!crawl.awaitDone(250)) {
      if (stopAsked.getAsBoolean()) {
        return null; // stopping before ready
      }
      if (terminal) {
        progress.print("\rlisting the namespace: " + crawl.directories() + " directories");
        progress.flush();
      }
    }
    StartTrace.mark("namespace listed");
    if (terminal) {
      progress.println();
    }
    if (interrupted != null) {
      return "namespace incomplete: " + interrupted;
    }
    return crawl.outcome() == NamespaceCrawl.Outcome.COMPLETE
        ? "namespace complete: " + crawl.directories() + " directories"
        : "namespace incomplete: " + crawl.incompleteBecause() + "; those directories are listed when opened";
  }

  /**
   * crawlDepth: levels the namespace crawl lists at most, 0 for none; beforeReady: the crawl uses every
   * connection and {@link #awaitNamespace} waits for it (else it runs in the background with half of them).
   */
  public static ServeSession start(HttpUrl url, OriginConfig config, Path dir, StoreLayout layout, long segmentSize, int readahead,
      int crawlDepth, boolean beforeReady, Access access, long prefetchSmall, IndexFetch.Where index)
      throws IOException {
    return start(url, config, dir, layout, segmentSize, readahead, crawlDepth, beforeReady, access, prefetchSmall, index,
        Profiles.NONE, false, CacheLimits.NONE);
  }

  /**
   * Access profiles of a run: where to record one (or null), a profile read from a local file (or null), and where
   * the origin may publish one (null: nowhere; explicit: it must be there).
   */
  public record Profiles(Path recordTo, AccessProfile given, IndexFetch.Where published) {
    public static final Profiles NONE = new Profiles(null, null, null);

    /** {@code URL/.lazydir-profile} (the origin URL taken as a directory). */
    public static HttpUrl defaultUrl(HttpUrl origin) {
      HttpUrl dir = origin.encodedPath().endsWith("/") ? origin : origin.newBuilder().addPathSegment("").build();
      return dir.newBuilder().query(null).fragment(null).addPathSegment(AccessProfile.DEFAULT_NAME).build();
    }
  }

  /**
   * As above, recording and prefetching access profiles as {@code profiles} says; singleFile: URL names one file,
   * whatever it holds (see {@link Crawler#singleFile}); the store kept within {@code cache}'s bounds.
   */
  public static ServeSession start(HttpUrl url, OriginConfig config, Path dir, StoreLayout layout, long segmentSize, int readahead,
      int crawlDepth, boolean beforeReady, Access access, long prefetchSmall, IndexFetch.Where index, Profiles profiles,
      boolean singleFile, CacheLimits cache) throws IOException {
    return ServeStart.start(url, config, dir, layout, segmentSize, readahead, crawlDepth, beforeReady, access,
        prefetchSmall, index, profiles, singleFile, cache);
  }

  /** DIR was unmounted by hand while serving (the daemon then stops: the view is gone). */
  public boolean unmountedBehindItsBack() {
    return !closed && !daemon.viewMounted();
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    state.stop();
    try {
      warmUp.join(5000); // it removes its scratch directory in the store when done (about half a second)
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (metrics != null) {
      metrics.close();
    }
    if (control != null) {
      control.close();
      try (Fd run = layout.openRunDirectory()) {
        run.unlinkAt(ControlSocket.NAME, false);
      } catch (IOException e) {
        // a socket left behind refuses connections: a command says "not served"
      }
    }
    if (crawl != null) {
      crawl.close();
    }
    daemon.close();
    try {
      state.remove();
      tree.close();
      lock.release();
      lock.channel().close();
    } catch (IOException e) {
      // best effort at exit
    }
    client.close();
  }
}
