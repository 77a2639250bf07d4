package dev.lazydir.serve;

import dev.lazydir.crawl.Crawler;
import dev.lazydir.crawl.Progress;
import dev.lazydir.fanotify.FanotifyGroup;
import dev.lazydir.index.IndexDigests;
import dev.lazydir.index.IndexFetch;
import dev.lazydir.internal.StartTrace;
import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Posix;
import dev.lazydir.origin.OriginClient;
import dev.lazydir.origin.OriginConfig;
import dev.lazydir.tree.Access;
import dev.lazydir.tree.EntryMeta;
import dev.lazydir.tree.EntryMeta.DirMeta;
import dev.lazydir.tree.StubTree;
import java.io.IOException;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Clock;
import java.util.logging.Logger;
import okhttp3.HttpUrl;

/**
 * The start of a serve, in the order that keeps a refused start harmless: the checks before anything is created,
 * locked, mounted or asked of the origin (a refused start changes nothing; the origin client is made meanwhile);
 * then the origin's first round trips (see {@link OriginHeadStart}) while the store and its lock and the fanotify
 * group are made; then the tree (from the tree index, or its top level listed on a first start), the daemon (which
 * mounts DIR), the namespace crawl and the control socket. A start that fails after it made a new store or a new DIR removes them.
 */
final class ServeStart {
  private static final Logger LOG = Logger.getLogger(ServeStart.class.getName());

  private ServeStart() {}

  /** See {@link ServeSession#start}; the parameters are its own. */
  static ServeSession start(HttpUrl url, OriginConfig config, Path dir, StoreLayout layout, long segmentSize,
      int readahead, int crawlDepth, boolean beforeReady, Access access, long prefetchSmall, IndexFetch.Where index,
      ServeSession.Profiles profiles, boolean singleFile, CacheLimits cache) throws IOException {
    long t0 = System.nanoTime();
    StartTrace.mark("session starts");
    OriginHeadStart ahead = OriginHeadStart.begin(config, url); // the client is made during the checks
    try {
      StaleView.detachIfLeftBySystemdKill(dir, layout, System.getenv()); // else the checks below would wait on it
      ServePreflight.check(dir, layout); // before anything is created or asked: a refused start leaves nothing behind
    } catch (IOException | RuntimeException e) {
      ahead.abandon();
      throw e;
    }
    StartTrace.mark("preflight");
    // A start that fails later (the origin unreachable on a first start) removes what it made: a new store, a new DIR.
    boolean newStore = !Files.exists(layout.store(), LinkOption.NOFOLLOW_LINKS);
    boolean newDir = !Files.exists(dir, LinkOption.NOFOLLOW_LINKS);
    FileLock lock;
    try {
      layout.create();
      lock = layout.lock();
    } catch (IOException | RuntimeException e) {
      ahead.abandon();
      undoNew(layout, newStore, dir, newDir);
      throw e;
    }
    StartTrace.mark("store created and locked");
    // The origin's round trips run from here on (a start refused so far asked nothing), while this thread
    // prepares DIR and opens the fanotify group.
    ahead.go(singleFile ? null : index, newStore && !singleFile);
    // On the other core while this one starts up, lists the top level and mounts. 'ready' does not wait for it
    // (it used to: 0.5-2 s of a start of 0.8-4 s, more on a busy machine; bench/start): the first listings a user
    // asks for within its half second run partly interpreted, which costs less than the wait did. (Started at ready
    // instead when the namespace is listed before ready, it made no difference bench/start-net could see, and it
    // would compete with the first reads after ready.)
    Thread warmUp = Daemon.warmUp(layout.run().resolve("warm-up"));
    OriginClient client = null;
    StubTree tree = null;
    FanotifyGroup group = null;
    try {
      prepareView(dir, layout);
      // Opened before the tree index is applied, so that the stubs it makes are marked as they are made (a mark is
      // one call on the descriptor in hand), not found by a walk of the whole tree afterwards.
      group = FanotifyGroups.open();
      StartTrace.mark("group opened");
      client = ahead.client();
      String origin = Crawler.withoutCredentials(url).toString();
      // Named by the user: fetched (and refused) now. At the default place: asked for in the background, later.
      AccessProfile profile = SessionProfiles.beforeStart(client, profiles);
      long tIndex = System.nanoTime();
      TreeFromIndex.Applied applied = null;
      if (!singleFile) {
        try {
          applied = TreeFromIndex.apply(client, ahead, index, layout, origin, access, new ContentMarks(group));
        } catch (dev.lazydir.origin.OriginException e) {
          // A restart is ready from its stored tree without the network: an origin that does not answer (or
          // answers 5xx) now is asked again as directories are opened and refreshed.
          if (!initialized(layout.tree()) || !(e.status() < 0 || e.status() >= 500)) {
            throw e;
          }
          LOG.warning("the origin did not answer for its tree index (" + e.getMessage() + "); serving the stored tree");
        }
      }
      long tTree = System.nanoTime();
      StartTrace.mark("index asked");
      if (!initialized(layout.tree())) {
        // First start: list the top level now (asked for ahead), which also tells a listing from a single file.
        try (Crawler first = new Crawler(client, 1, config.maxConns, Progress.NONE, Clock.systemUTC()).access(access)
            .singleFile(singleFile)) {
          first.crawl(url, layout.tree());
        }
        StartTrace.mark("top level listed");
      }
      client.forgetExpectedPages(); // an answer not taken (the index made the tree) would be stale later
      // Without the index now, a tree whose last apply stopped halfway may lack entries in directories that say
      // they are listed (directories from an index are never listed from index pages): ready must not say complete.
      String interrupted = applied == null && TreeFromIndex.applyInterrupted(layout.tree())
          ? "the last start stopped while it applied the tree index, which the origin does not publish now: directories"
              + " it changed may lack entries until it is applied again" : null;
      tree = StubTree.open(layout.tree(), firstOrigin(layout.tree(), origin));
      tree.access(access);
      // Before DIR shows the tree: a restart with other --uid/--gid/--allow-other never exposes the old access.
      // A tree the index has just made whole was made with this access, entry by entry.
      if (applied == null || !applied.fresh()) {
        int changed = tree.applyAccessToExisting();
        if (changed > 0) {
          LOG.info(layout.tree() + ": " + access + " given to " + changed + " existing entries");
        }
      }
      tree.root().setXattr("user.lazydir.store", layout.store().toAbsolutePath().toString());
      // The digests of the index this tree was made from (this start's, or a previous one's if the index could
      // not be fetched now): every file they name is verified block by block as it is filled.
      IndexDigests digests = layout.openDigests().orElse(null);
      long tDaemon = System.nanoTime();
      FanotifyGroup marked = group;
      group = null; // the daemon's from here on, also if it fails to start
      Daemon daemon = Daemon.start(new Daemon.Settings(dir, segmentSize, readahead,
          config.timeout, config.refreshTimeout, config.maxConns, prefetchSmall, layout.run(), cache), tree, client,
          digests, marked, applied != null && applied.fresh());
      StartTrace.mark("daemon started (mounted)");
      SessionProfiles.start(daemon, client, tree, profiles, profile);
      // A tree index applied now has listed every directory: no crawl, no walk to find that out.
      NamespaceCrawl crawl = applied != null ? NamespaceCrawl.complete(applied.directories())
          : crawlDepth > 0 ? NamespaceCrawl.start(tree, daemon::ensureListed,
              Math.max(1, beforeReady ? config.maxConns : config.maxConns / 2), crawlDepth) : null;
      ServeSession served = new ServeSession(layout, lock, client, tree, daemon, crawl, beforeReady || applied != null,
          dir.toRealPath(), warmUp, interrupted);
      try {
        served.control = SessionCommands.start(layout, daemon);
      } catch (IOException | RuntimeException e) {
        served.close(); // the daemon, tree, client and lock with it
        tree = null;
        client = null;
        throw new IOException("could not open the control socket in " + layout.run() + ": " + e.getMessage(), e);
      }
      served.state.write();
      StartTrace.mark("session started");
      long tEnd = System.nanoTime();
      LOG.fine(() -> String.format("start-up: checks and client %d ms, index %d ms, tree %d ms, daemon %d ms",
          (tIndex - t0) / 1_000_000, (tTree - tIndex) / 1_000_000, (tDaemon - tTree) / 1_000_000,
          (tEnd - tDaemon) / 1_000_000));
      return served;
    } catch (IOException | RuntimeException e) {
      OpenStubs.closeQuietly(group);
      if (tree != null) {
        tree.close();
      }
      if (client != null) {
        client.close();
      } else {
        ahead.abandon();
      }
      lock.release();
      lock.channel().close();
      if (newStore) {
        try {
          warmUp.join(10_000); // it works in the store's run directory, which is about to go
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
        }
      }
      undoNew(layout, newStore, dir, newDir);
      throw e;
    }
  }

  private static void undoNew(StoreLayout layout, boolean newStore, Path dir, boolean newDir) {
    try {
      if (newStore) {
        layout.removeNew();
      }
      if (newDir) {
        Files.deleteIfExists(dir); // empty: nothing was mounted on it or put in it
      }
    } catch (IOException e) {
      LOG.warning("could not remove what the failed start made (" + e.getMessage() + ")");
    }
  }

  static boolean initialized(Path tree) throws IOException {
    if (!Files.isDirectory(tree)) {
      return false;
    }
    try (Fd fd = Posix.open(tree.toString(), Posix.O_RDONLY | Posix.O_DIRECTORY)) {
      return fd.getXattr(EntryMeta.ORIGIN_XATTR).isPresent()
          && StubTree.metaOf(fd).orElse(null) instanceof DirMeta m && m.listed();
    }
  }

  /** The origin recorded in the tree (a directory URL gains its slash there), or the given one if none. */
  static String firstOrigin(Path tree, String given) throws IOException {
    try (Fd fd = Posix.open(tree.toString(), Posix.O_RDONLY | Posix.O_DIRECTORY)) {
      String recorded = fd.getXattrString(EntryMeta.ORIGIN_XATTR).orElse(given);
      String a = recorded.endsWith("/") ? recorded.substring(0, recorded.length() - 1) : recorded;
      String b = given.endsWith("/") ? given.substring(0, given.length() - 1) : given;
      return a.equals(b) ? recorded : given; // a different origin is refused by StubTree.open
    }
  }

  private static void prepareView(Path dir, StoreLayout layout) throws IOException {
    Files.createDirectories(dir);
    ServePreflight.checkDir(dir, layout); // again, now that it exists: nothing put in it since the first check
  }
}
