package dev.lazydir.serve;

import dev.lazydir.fanotify.Fan;
import dev.lazydir.fanotify.FanotifyGroup;
import dev.lazydir.index.IndexDigests;
import dev.lazydir.internal.Threads;
import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Posix;
import dev.lazydir.origin.OriginClient;
import dev.lazydir.tree.StubTree;
import dev.lazydir.tree.TreePath;
import io.prometheus.metrics.core.metrics.Histogram;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Logger;

/**
 * The fanotify daemon: wiring, start and shutdown. The stub tree lives in a
 * private store; users see it through a read-only bind mount at DIR. One pre-content group carries two kinds of
 * marks (the kernel refuses PRE_ACCESS and ONDIR in one mark): a mount mark on DIR for FAN_OPEN_PERM|FAN_ONDIR
 * (directories are listed when opened, {@link DirectoryOpens}; file stubs get their blocks when opened), and an
 * inode mark for FAN_PRE_ACCESS on each stub with bytes still to fetch ({@link ContentMarks}), removed when the
 * file completes, so complete files read like any local file. The daemon's own I/O goes through a detached clone of
 * the tree that carries a mount ignore mark, so it never waits on itself.
 *
 * <p>Events are not the daemon's: {@link EventLoop} reads each and answers it once, handing a content event to
 * {@link ContentEvents} and an open event to {@link OpenEvents}; the view's mount is {@link ViewMount}'s. The
 * daemon wires them, starts them in an order that leaves no unmarked stub visible, and stops them.
 *
 * <p>One group, not two: when a process holding two permission groups on one object exits, closing one can wait
 * forever for a reader blocked on the other (fsnotify_destroy_group waits for the other group's pinned marks).
 * The guard holds a copy of the group, so a dead or stopped daemon's readers get EIO, never zeros ({@link Guard}),
 * and the next daemon on the store takes the group over ({@link GroupHandOver}).
 *
 * <p>Every event gets exactly one answer: ALLOW, or EIO/ENOSPC (errnos the kernel accepts). The daemon writes
 * only to files that are its stubs, on its device, inside its store; anything else is allowed untouched.
 */
public final class Daemon implements Closeable {
  private static final Logger LOG = Logger.getLogger(Daemon.class.getName());
  /** Threads answering events: a listing or a fetch blocks one, the others go on. */
  static final int HANDLERS = 20;

  /**
   * What the daemon needs to run.
   *
   * @param prefetchSmall files up to this size in a directory being opened are fetched in the background (a
   *     build or a grep reads them all next; one request each, ahead of the reader); 0 turns it off
   * @param run the store's run directory, where the guard holding the group is recorded for the next daemon
   */
  public record Settings(Path dir, long segmentSize, int readaheadSegments, Duration timeout,
      Duration refresh, int maxConns, long prefetchSmall, Path run, CacheLimits cache) {
    public Settings(Path dir, long segmentSize, int readaheadSegments, Duration timeout, Duration refresh, int maxConns,
        long prefetchSmall, Path run) {
      this(dir, segmentSize, readaheadSegments, timeout, refresh, maxConns, prefetchSmall, run, CacheLimits.NONE);
    }
  }

  /** Counters shown by {@code lazydir status}, and the last few denials with their causes. */
  public static final class Stats {
    static final int RECENT_DENIALS = 5;
    final AtomicLong events = new AtomicLong();
    final AtomicLong denied = new AtomicLong();
    final AtomicLong dirsListed = new AtomicLong();
    public final Instant started = Instant.now();
    private final ArrayDeque<Denial> recent = new ArrayDeque<>();
    /** Denials by the errno the reader got. */
    private final ConcurrentHashMap<Integer, AtomicLong> deniedByErrno = new ConcurrentHashMap<>();
    /**
     * Seconds from reading an event to answering it, by kind (pre_access, open_perm): what a reader waits for
     * lazydir (a local hit is microseconds, a fetch the origin's time). Registered where metrics are exposed.
     */
    public final Histogram answerSeconds = Histogram.builder().name("lazydir_event_answer_seconds")
        .help("Time from reading a fanotify permission event to answering it").labelNames("event")
        .classicUpperBounds(0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
        .classicOnly().build();

    /** A reader refused: when, the errno it got, and why (the file and the cause). */
    public record Denial(Instant at, int errno, String why) {}

    synchronized void denial(int errno, String why) {
      deniedByErrno.computeIfAbsent(errno, e -> new AtomicLong()).incrementAndGet();
      if (recent.size() == RECENT_DENIALS) {
        recent.removeFirst();
      }
      recent.addLast(new Denial(Instant.now(), errno, why));
    }

    /** Oldest first. */
    public synchronized List<Denial> recentDenials() {
      return List.copyOf(recent);
    }

    public long events() {
      return events.get();
    }

    public long denied() {
      return denied.get();
    }

    public long dirsListed() {
      return dirsListed.get();
    }

    /** Denials so far by errno (EIO 5, ENOSPC 28). */
    public Map<Integer, Long> deniedByErrno() {
      Map<Integer, Long> m = new TreeMap<>();
      deniedByErrno.forEach((errno, n) -> m.put(errno, n.get()));
      return m;
    }
  }

  private final Settings settings;
  /** The store's tree by its open descriptor (the caller keeps it open while the daemon runs), never by path. */
  private final String mountSource;
  private final Path view;
  private final StubTree tree;
  /** O_PATH fd of the detached clone of the tree that {@link #tree} is reached through. */
  private final Fd privateMount;
  private final OriginClient client;
  private final ExecutorService fetchPool;
  private final ScheduledExecutorService timers;
  private final ContentFiller filler;
  /** The block digests of the tree index this tree was made from, or null. */
  private final IndexDigests digests;
  private final Stats stats = new Stats();
  private final TreeCounts counts = new TreeCounts();
  private FanotifyGroup group;
  private OpenStubs stubs;
  private DirectoryOpens directories;
  private EventLoop loop;
  private Guard guard;
  private ProfileRoom profiles;
  private final ViewMount mount;
  private CacheRoom room;

  private Daemon(Settings settings, StubTree tree, Fd privateMount, OriginClient client, String mountSource,
      IndexDigests digests) throws IOException {
    this.settings = settings;
    this.digests = digests;
    this.mountSource = mountSource;
    this.view = settings.dir().toRealPath();
    this.mount = new ViewMount(view);
    this.tree = tree;
    this.privateMount = privateMount;
    this.client = client;
    this.fetchPool = Executors.newFixedThreadPool(Math.max(2, settings.maxConns()), Threads.daemon("lazydir-fetch"));
    this.timers = Executors.newSingleThreadScheduledExecutor(Threads.daemon("lazydir-timer"));
    this.filler = new ContentFiller(client, fetchPool, settings.readaheadSegments(), settings.maxConns(),
        settings.timeout(),
        stub -> stubs.completed(stub));
  }

  /**
   * Mounts the store's tree at DIR, marks it, starts the guard and the handlers. When this returns, DIR is
   * live. On failure everything done so far is undone.
   */
  public static Daemon start(Settings settings, StubTree store, OriginClient client) throws IOException {
    return start(settings, store, client, null);
  }

  /**
   * As above, verifying the bytes of every file {@code digests} (the tree index's, recorded in the store) has a
   * record for; the daemon closes them.
   */
  public static Daemon start(Settings settings, StubTree store, OriginClient client, IndexDigests digests)
      throws IOException {
    return start(settings, store, client, digests, null, false);
  }

  /**
   * As above, with a group the caller opened ({@code group}, null: open one; the daemon owns it from now on, and
   * closes it if the group a previous daemon's guard holds is taken over instead). {@code watched}: every stub of
   * the tree with bytes to fetch already carries its content mark in {@code group} (a tree the index just made
   * whole, each stub marked as it was made), so no walk looks for them.
   */
  static Daemon start(Settings settings, StubTree store, OriginClient client, IndexDigests digests,
      FanotifyGroup group, boolean watched) throws IOException {
    // The daemon's own I/O goes through a detached clone of the tree: no other process can reach it, it
    // vanishes with the daemon, and a mount ignore mark on it keeps the daemon's reads and writes of marked
    // stubs from raising events it would have to answer itself. From the tree's open descriptor, not its path:
    // a link swapped in at STORE/tree since it was opened (and checked) is never followed.
    String source = "/proc/self/fd/" + store.root().intValue();
    Fd clone = Posix.cloneMount(source);
    Daemon d;
    try {
      d = new Daemon(settings, store.reachedThrough(clone.openAt(".", Posix.O_RDONLY | Posix.O_DIRECTORY, 0)), clone,
          client, source, digests);
    } catch (IOException | RuntimeException e) {
      OpenStubs.closeQuietly(clone);
      OpenStubs.closeQuietly(digests);
      OpenStubs.closeQuietly(group);
      throw e;
    }
    try {
      d.setUp(group, watched);
      return d;
    } catch (IOException | RuntimeException e) {
      d.close();
      throw e;
    }
  }

  private void setUp(FanotifyGroup offered, boolean watched) throws IOException {
    group = offered;
    // A previous daemon's group, still held by its guard, keeps its readers: they are served again from now on.
    // Under systemd, a group it kept is the way back when that guard was killed too.
    java.util.Map<String, String> env = System.getenv();
    long self = ProcessHandle.current().pid();
    Optional<FanotifyGroup> taken = GroupHandOver.adopt(settings.run());
    if (taken.isPresent()) {
      GroupHandOver.dropPassed(env, self);
    } else {
      taken = GroupHandOver.fromServiceManager(env, self);
    }
    if (taken.isPresent()) {
      OpenStubs.closeQuietly(offered); // its marks go with it: the walk below marks in the group taken over
      group = taken.get();
      watched = false;
    } else if (group == null) {
      group = FanotifyGroups.open();
    }
    group.ignoreMount(privateMount, ".", Fan.FAN_PRE_ACCESS);
    ContentMarks marks = new ContentMarks(group);
    tree.onNewStub(marks::watch);
    stubs = new OpenStubs(tree, view, settings.segmentSize(), group, marks, OpenStubs.digestsOf(digests));
    room = new CacheRoom(settings.cache(), tree, new Eviction(tree, group, marks), stubs,
        Clock.systemUTC());
    // Before DIR shows anything: a stub must carry its mark before any process opens it. A group taken over
    // still has the ignore marks of directories the previous daemon listed, whose refresh timers died with it.
    // The same walk counts what the store holds (a tree the index just made, marked as it was made, is only counted).
    if (watched) {
      marks.countMarked(tree, counts, room.counter(settings.run()));
    } else {
      int marked = marks.watchIncomplete(tree, taken.isPresent(), counts, room.counter(settings.run()));
      LOG.fine(() -> marked + " stubs with bytes to fetch");
    }
    tree.onChange(counts); // nothing changes the tree before this: DIR is not mounted, no listing runs yet
    room.counted();
    stubs.bounded(room);
    filler.bounded(room);
    directories = new DirectoryOpens(tree, settings, Clock.systemUTC(), client, group, stubs, filler, timers, stats,
        () -> loop.stopping());
    loop = new EventLoop(group, new ContentEvents(tree, stubs, filler, settings.segmentSize(), directories::relistSoon),
        new OpenEvents(directories, stubs, room), stats, HANDLERS);
    loop.onOpenNotices(room::opened);
    profiles = new ProfileRoom(tree, stubs, filler, directories);
    mount.mount(mountSource, tree);
    StaleView.recordShield(settings.run(), mount.shieldMount());
    group.markMount(view.toString(),
        Fan.FAN_OPEN_PERM | Fan.FAN_ONDIR | (settings.cache().any() ? Fan.FAN_OPEN : 0));
    guard = Guard.start(ProcessHandle.current().pid(), view, group.fd(), settings.timeout(), settings.run(),
        mount.shieldMount());
    GroupHandOver.record(settings.run(), guard);
    SystemdNotify.fromEnvironment(env).ifPresent(n -> n.store(SystemdNotify.GROUP_FD_NAME, group.fd()));
    loop.start();
    // Segments are recorded on disk in batches after a sync; an idle file gets its batch within a second.
    timers.scheduleWithFixedDelay(stubs::record, 1, 1, TimeUnit.SECONDS);
    if (settings.cache().maxAge() != null || settings.cache().minFree() > 0) {
      timers.scheduleWithFixedDelay(room::sweep, 1, 1, TimeUnit.SECONDS);
    }
    if (settings.cache().any()) {
      timers.scheduleWithFixedDelay(() -> room.recordRecency(settings.run()), 60, 60, TimeUnit.SECONDS);
    }
  }

  /** The store's usage, bounds and eviction counters (for status). */
  public CacheStats cacheStats() {
    CacheRoom r = room;
    return r == null ? new CacheStats(0, CacheLimits.NONE, 0, 0, 0, 0)
        : new CacheStats(r.used(), r.limits(), r.evictions.get(), r.evictedBytes.get(), r.opens.get(),
            r.fetchingOpens.get());
  }

  /** What status shows of the cache: bytes used, bounds, evictions, and opens (all, and those that fetched). */
  public record CacheStats(long used, CacheLimits limits, long evictions, long evictedBytes, long opens,
      long fetchingOpens) {}

  /** Compiles the listing code in the background (see {@link WarmUp}); scratch is removed afterwards. */
  public static Thread warmUp(Path scratch) {
    return WarmUp.start(scratch);
  }

  public Stats stats() {
    return stats;
  }

  /** What the tree holds now, from the counters the daemon keeps (no walk). */
  TreeCounts.Snapshot treeCounts() {
    return counts.snapshot();
  }

  /** Bytes fetched from the origin for file contents so far. */
  public long fetchedBytes() {
    return filler.fetchedBytes();
  }

  /** Range requests made for file contents so far. */
  public long fetches() {
    return filler.fetchCount();
  }

  /**
   * From now on, records which ranges readers ask for into {@code file} (an {@link AccessProfile}), written every
   * few seconds while it changes and at stop.
   */
  public void recordProfile(Path file) {
    profiles.record(file, timers);
  }

  /**
   * Fetches the profile's ranges in the background, in its order, on all but one of {@code --max-conns} (that one
   * stays free for readers of what the profile does not name); returns at once.
   */
  public void prefetchProfile(AccessProfile profile) {
    profiles.prefetch(profile, Math.max(1, settings.maxConns() - 1), settings.timeout().multipliedBy(10));
  }

  /**
   * Whether DIR still shows the view; false once someone unmounted it by hand ({@code umount DIR}): nothing is
   * served any more, which {@link ServeSession} turns into a stop. A failure to read the mount table counts as
   * mounted: only a positive finding stops the daemon.
   */
  public boolean viewMounted() {
    return !mount.unmountedByHand();
  }

  /** Lists a directory of the tree now, once however many ask at the same time (the background crawl). */
  public boolean ensureListed(TreePath path) throws IOException {
    return directories.ensureListed(path);
  }

  /**
   * Revalidates the listings and file versions below each path now ({@code lazydir refresh}, see
   * {@link TreeRefresh}); a path that is not in the tree is refused before anything is done.
   */
  TreeRefresh.Report refresh(List<TreePath> paths) throws IOException, InterruptedException {
    return new TreeRefresh(tree, directories, Math.max(2, settings.maxConns() / 2)).run(paths);
  }

  /**
   * Clean shutdown: DIR is detached first (no new opens), the handlers answer what they read, then the group is
   * left to the guard, which answers EIO to every event still queued or arriving while any process uses the old
   * view (a reader holding a file gets EIO, never the holes the kernel would show once the group closed). Without
   * a guard holding it, the queue is drained with EIO here before the group closes.
   */
  @Override
  public void close() {
    mount.unmount();
    StaleView.forgetShield(settings.run());
    if (room != null) {
      room.recordRecency(settings.run());
    }
    if (loop != null) {
      loop.stop(settings.timeout().plusSeconds(1));
      if (!(guard != null && guard.isAlive() && guard.heldGroupFd() >= 0)) {
        loop.drain();
      }
    }
    OpenStubs.closeQuietly(profiles);
    OpenStubs.closeQuietly(group);
    if (guard != null) {
      guard.release();
    }
    if (directories != null) {
      directories.close();
    }
    fetchPool.shutdownNow();
    timers.shutdownNow();
    if (stubs != null) {
      stubs.closeAll();
    }
    OpenStubs.closeQuietly(tree);
    OpenStubs.closeQuietly(privateMount);
    OpenStubs.closeQuietly(digests);
  }

  /** {@code lazydir evict}: drops the fetched bytes of the file or directory at {@code path} now; what it did. */
  String evict(TreePath path) throws IOException {
    return room.evictNow(path);
  }

  /** {@code lazydir pin} and {@code unpin}: the files at {@code path} are (no longer) kept from eviction. */
  String pin(TreePath path, boolean pinned) throws IOException {
    return room.pinNow(path, pinned);
  }
}
