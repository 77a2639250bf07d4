package dev.lazydir.serve;

import dev.lazydir.fanotify.Fan;
import dev.lazydir.fanotify.FanotifyEvent;
import dev.lazydir.fanotify.FanotifyGroup;
import dev.lazydir.index.IndexDigests;
import dev.lazydir.internal.Threads;
import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Posix;
import dev.lazydir.internal.posix.Stat;
import dev.lazydir.origin.OriginClient;
import dev.lazydir.origin.VersionChangedException;
import dev.lazydir.tree.EntryMeta.FileMeta;
import dev.lazydir.tree.StubTree;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Logger;

/**
 * The fanotify daemon: wiring, the view's mount, the two kinds of events, and shutdown. The stub tree lives in a
 * private store; users see it through a read-only bind mount at DIR. One pre-content group carries two kinds of
 * marks (the kernel refuses PRE_ACCESS and ONDIR in one mark): a mount mark on DIR for FAN_OPEN_PERM|FAN_ONDIR
 * (directories are listed when opened, {@link DirectoryOpens}; file stubs get their blocks when opened), and an
 * inode mark for FAN_PRE_ACCESS on each stub with bytes still to fetch ({@link ContentMarks}), removed when the
 * file completes, so complete files read like any local file. The daemon's own I/O goes through a detached clone of
 * the tree that carries a mount ignore mark, so it never waits on itself.
 *
 * <p>One event, poll to answer: {@link EventLoop} reads it and answers it once; {@link #onEvent} sends it to
 * {@link #onContent} (the stub from {@link OpenStubs}, its bytes from {@link ContentFiller}) or to {@link #onOpen}.
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
    private final java.util.ArrayDeque<Denial> recent = new java.util.ArrayDeque<>();
    /** Denials by the errno the reader got. */
    private final java.util.concurrent.ConcurrentHashMap<Integer, AtomicLong> deniedByErrno =
        new java.util.concurrent.ConcurrentHashMap<>();
    /**
     * Seconds from reading an event to answering it, by kind (pre_access, open_perm): what a reader waits for
     * lazydir (a local hit is microseconds, a fetch the origin's time). Registered where metrics are exposed.
     */
    public final io.prometheus.metrics.core.metrics.Histogram answerSeconds =
        io.prometheus.metrics.core.metrics.Histogram.builder()
            .name("lazydir_event_answer_seconds")
            .help("Time from reading a fanotify permission event to answering it")
            .labelNames("event")
            .classicUpperBounds(0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
            .classicOnly()
            .build();

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
    public java.util.Map<Integer, Long> deniedByErrno() {
      java.util.Map<Integer, Long> m = new java.util.TreeMap<>();
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
  private volatile ProfileRecorder recorder;
  private volatile ProfilePrefetch profilePrefetch;
  private boolean mounted;
  private CacheRoom room;
  /** Whether DIR carries the daemon's shield mount (see setUp), and its unique id. */
  private boolean shielded;
  private long shieldMount;
  /** The view's mount (its unique id), to notice a `umount DIR` by hand. */
  private long viewMount = -1;
  private long viewMountShort = -1;

  private Daemon(Settings settings, StubTree tree, Fd privateMount, OriginClient client, String mountSource,
      IndexDigests digests) throws IOException {
    this.settings = settings;
    this.digests = digests;
    this.mountSource = mountSource;
    this.view = settings.dir().toRealPath();
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
    OpenStub.DigestsOf digestsOf = digests == null ? OpenStub.DigestsOf.NONE
        : (path, meta) -> meta.mtimePrecision() == dev.lazydir.tree.EntryMeta.TimePrecision.NANOS
            ? digests.lookup(path, meta.size(), meta.mtime()) : java.util.Optional.empty();
    stubs = new OpenStubs(tree, view, settings.segmentSize(), group, marks, digestsOf);
    room = new CacheRoom(settings.cache(), tree, new Eviction(tree, group, marks), stubs,
        Clock.systemUTC());
    // Before DIR shows anything: a stub must carry its mark before any process opens it. A group taken over
    // still has the ignore marks of directories the previous daemon listed, whose refresh timers died with it.
    // The same walk counts what the store holds (a tree the index just made, marked as it was made, is only counted).
    if (watched) {
      marks.countMarked(tree, counts, room.counter());
    } else {
      int marked = marks.watchIncomplete(tree, taken.isPresent(), counts, room.counter());
      LOG.fine(() -> marked + " stubs with bytes to fetch");
    }
    tree.onChange(counts); // nothing changes the tree before this: DIR is not mounted, no listing runs yet
    room.counted();
    stubs.bounded(room);
    filler.bounded(room);
    loop = new EventLoop(group, this::onEvent, stats, HANDLERS);
    loop.onOpenNotices(room::opened);
    directories = new DirectoryOpens(tree, settings, Clock.systemUTC(), client, group, stubs, filler, timers, stats,
        loop::stopping);
    String target = view.toString();
    // The shield: DIR bound onto itself and made private, then the view mounted on it. Mounted straight on DIR,
    // the view would be copied at once to every peer and slave of DIR's mount (a systemd host's / is shared):
    // copies without the daemon's mount mark, writable, that outlive a container killed whole and then read holes
    // as zeros. Under a private shield it is copied nowhere (only the shield is: an empty directory).
    Posix.mount(target, target, null, Posix.MS_BIND);
    shielded = true;
    Posix.mount(null, target, null, Posix.MS_PRIVATE);
    shieldMount = Posix.mountIdOf(target);
    Posix.mount(mountSource, target, null, Posix.MS_BIND);
    mounted = true;
    Posix.mount(null, target, null, Posix.MS_PRIVATE);
    // The store is not trusted: a device node or setuid file planted in it is not honoured through DIR, nor a
    // symlink, unless the tree comes from a tree index: then its links are lazydir's own (made only when they stay
    // inside the tree) and must work, and only root, who can do anything, could plant another in the 0700 store.
    long links = fromIndex(tree) ? 0 : Posix.MS_NOSYMFOLLOW;
    Posix.mount(null, target, null, Posix.MS_REMOUNT | Posix.MS_BIND | Posix.MS_RDONLY | links
        | Posix.MS_NODEV | Posix.MS_NOSUID);
    // With a bound on the store, FAN_OPEN (a notification nobody waits for) tells which files are used, complete
    // ones included, whose FAN_OPEN_PERM is ignored: the recency eviction goes by, and the hits per open of status.
    // Without one it is not asked for: it costs every open through DIR (bench/cache measures it).
    group.markMount(target, Fan.FAN_OPEN_PERM | Fan.FAN_ONDIR | (settings.cache().any() ? Fan.FAN_OPEN : 0));
    viewMount = Posix.mountIdOf(target);
    viewMountShort = Posix.shortMountIdOf(target);
    guard = Guard.start(ProcessHandle.current().pid(), view, group.fd(), settings.timeout(), settings.run(),
        shieldMount);
    GroupHandOver.record(settings.run(), guard);
    SystemdNotify.fromEnvironment(env).ifPresent(n -> n.store(SystemdNotify.GROUP_FD_NAME, group.fd()));
    loop.start();
    // Segments are recorded on disk in batches after a sync; an idle file gets its batch within a second.
    timers.scheduleWithFixedDelay(stubs::record, 1, 1, TimeUnit.SECONDS);
    if (settings.cache().maxAge() != null || settings.cache().minFree() > 0) {
      timers.scheduleWithFixedDelay(room::sweep, 1, 1, TimeUnit.SECONDS);
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

  private static boolean fromIndex(StubTree tree) throws IOException {
    return StubTree.metaOf(tree.root()).orElse(null) instanceof dev.lazydir.tree.EntryMeta.DirMeta d && d.fromIndex();
  }

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
    ProfileRecorder r = new ProfileRecorder(file);
    recorder = r;
    filler.recordTo(r);
    r.write(true); // a file that cannot be written is named now, not at stop
    timers.scheduleWithFixedDelay(() -> r.write(false), PROFILE_WRITE_SECONDS, PROFILE_WRITE_SECONDS, TimeUnit.SECONDS);
  }

  static final int PROFILE_WRITE_SECONDS = 5;

  /**
   * Fetches the profile's ranges in the background, in its order, on all but one of {@code --max-conns} (that one
   * stays free for readers of what the profile does not name); returns at once.
   */
  public void prefetchProfile(AccessProfile profile) {
    LOG.info("access profile: " + profile.ranges().size() + " ranges, " + profile.bytes() + " bytes to fetch ahead");
    profilePrefetch = ProfilePrefetch.start(profile, stubs, filler, this::listIfUnlisted,
        Math.max(1, settings.maxConns() - 1), settings.timeout().multipliedBy(10));
  }

  /** Lists a directory of the tree unless it is listed already (a profile's path, maybe ahead of the crawl). */
  private void listIfUnlisted(List<String> path) throws IOException {
    try (Fd dir = tree.openDir(path)) {
      if (StubTree.metaOf(dir).orElse(null) instanceof dev.lazydir.tree.EntryMeta.DirMeta d && d.listed()) {
        return;
      }
    }
    ensureListed(dev.lazydir.tree.TreePath.of(path));
  }

  /**
   * Whether DIR no longer shows this daemon's view although the daemon did not unmount it (a `umount DIR` by
   * hand): nothing is served any more, which {@link ServeSession} turns into a stop.
   */
  boolean viewUnmountedByHand() {
    if (!mounted || viewMount < 0) {
      return false;
    }
    try {
      if (Posix.mountIdOf(view.toString()) == viewMount) {
        return false;
      }
    } catch (IOException e) {
      // DIR itself is gone: the mount table says whether the view went with it
    }
    // Another mount over DIR only hides the view, which still exists and is still served: only a view gone from
    // the mount table was unmounted (its short id may since name a new mount: then this says "not yet").
    try (var lines = java.nio.file.Files.lines(Path.of("/proc/self/mountinfo"))) {
      String prefix = viewMountShort + " ";
      return lines.noneMatch(l -> l.startsWith(prefix));
    } catch (IOException | java.io.UncheckedIOException e) {
      return false;
    }
  }

  /** Lists a directory of the tree now, once however many ask at the same time (the background crawl). */
  public boolean ensureListed(dev.lazydir.tree.TreePath path) throws IOException {
    return directories.ensureListed(path);
  }

  /**
   * Revalidates the listings and file versions below each path now ({@code lazydir refresh}, see
   * {@link TreeRefresh}); a path that is not in the tree is refused before anything is done.
   */
  TreeRefresh.Report refresh(List<dev.lazydir.tree.TreePath> paths) throws IOException, InterruptedException {
    return new TreeRefresh(tree, directories, Math.max(2, settings.maxConns() / 2)).run(paths);
  }

  /** Content events come from the inode marks, open events from the view's mount mark. */
  private int onEvent(FanotifyEvent ev) throws IOException {
    return ev.isPreAccess() ? onContent(ev) : onOpen(ev);
  }

  /** FAN_PRE_ACCESS: make the range present before the read (or mmap, exec, copy) proceeds. */
  private int onContent(FanotifyEvent ev) throws IOException {
    LOG.finest(() -> "content event " + ev);
    long offset = ev.hasRange() ? ev.offset() : 0;
    long count = ev.hasRange() ? ev.count() : 0;
    for (int attempt = 1; ; attempt++) {
      OpenStub stub = stubs.of(ev.fd());
      if (stub == null) {
        return onOrphan(ev.fd(), offset, count);
      }
      try {
        filler.ensure(stub, offset, count);
        return Fan.FAN_ALLOW;
      } catch (VersionChangedException e) {
        // Never a file of two versions: this read fails, and the directory is listed again so that the name
        // gets a new stub of the new version (readers holding this one keep the bytes already fetched).
        directories.relistSoon(stub.label);
        throw e;
      } catch (OpenStub.ClosedException e) {
        if (attempt == 3) {
          throw e;
        }
        // A re-listing closed the stub between lookup and fetch: the next lookup opens it anew.
      }
    }
  }

  /**
   * A content event for a file that is not a stub at its place in the tree. Only lazydir's content marks raise
   * content events, so it is one of its files: one that a listing replaced or removed (the origin changed it)
   * while a reader held it open. It can still give the bytes its recorded map vouches for; the rest would have
   * to come from an origin that now serves another version, so that read fails. A file without lazydir's
   * metadata is not lazydir's and is allowed untouched.
   */
  private int onOrphan(int eventFd, long offset, long count) throws IOException {
    Stat st = Fd.statOf(eventFd);
    if (st.dev() != tree.device() || !st.isRegularFile()) {
      return Fan.FAN_ALLOW;
    }
    try (Fd fd = Fd.dupOf(eventFd)) {
      if (!(StubTree.metaOf(fd).orElse(null) instanceof FileMeta meta)) {
        return Fan.FAN_ALLOW;
      }
      boolean present = OpenStub.recorded(fd, meta, settings.segmentSize())
          .map(m -> m.covers(offset, count)).orElse(meta.size() == 0);
      if (present) {
        return Fan.FAN_ALLOW;
      }
    }
    throw new Denied(Fan.EIO, Posix.readlink("/proc/self/fd/" + eventFd) + ": changed at the origin while a reader"
        + " held it open; bytes it had not fetched cannot be served; reopen the file to read the new version");
  }

  /** FAN_OPEN_PERM: list a directory on opendir; give a file stub its blocks so copiers do not skip holes. */
  private int onOpen(FanotifyEvent ev) throws IOException {
    LOG.finest(() -> "open event " + ev);
    // The kernel does not set FAN_ONDIR in the mask of a directory's permission event: ask the inode.
    if (FanotifyGroup.isDirectory(ev.fd())) {
      return directories.onOpen(ev.fd(), ev.pid());
    }
    for (int attempt = 1; ; attempt++) {
      OpenStub stub = stubs.of(ev.fd());
      if (stub == null) {
        return Fan.FAN_ALLOW;
      }
      if (stub.isComplete()) {
        stubs.openedComplete(stub);
        return Fan.FAN_ALLOW;
      }
      try {
        if (attempt == 1) {
          room.fetchingOpens.incrementAndGet();
          directories.fileOpening(stub.label); // its directory's small files ahead (over a network), off this path
        }
        // Within the store's bounds: room is made (least recently used files evicted) before the blocks are taken.
        room.makeRoom(stub, stub.unallocatedBytes());
        // cp and friends treat a file with fewer blocks than bytes as sparse and copy its holes as zeros via
        // SEEK_DATA/SEEK_HOLE, which sends no event. Allocated (unwritten) extents make it read every byte.
        boolean allocated = stub.preallocate();
        room.charged(stub);
        if (allocated) {
          return Fan.FAN_ALLOW;
        }
        throw new Denied(Fan.ENOSPC, stub.label + ": the store's filesystem is full (what its preallocation took"
            + " was given back); free space on it or serve with a store on a larger one");
      } catch (OpenStub.ClosedException e) {
        if (attempt == 3) {
          throw e;
        }
        // Completed or let go by a re-listing between lookup and preallocation: look it up again.
      }
    }
  }

  /**
   * Clean shutdown: DIR is detached first (no new opens), the handlers answer what they read, then the group is
   * left to the guard, which answers EIO to every event still queued or arriving while any process uses the old
   * view (a reader holding a file gets EIO, never the holes the kernel would show once the group closed). Without
   * a guard holding it, the queue is drained with EIO here before the group closes.
   */
  /**
   * Whether DIR still shows the view; false once someone unmounted it by hand ({@code umount DIR}). A failure to
   * read the mount table counts as mounted: only a positive finding stops the daemon.
   */
  public boolean viewMounted() {
    return !viewUnmountedByHand();
  }

  @Override
  public void close() {
    if (mounted && viewUnmountedByHand()) {
      mounted = false; // unmounted by hand: unmounting whatever DIR shows now would be wrong
      LOG.info(view + " was already unmounted");
    }
    if (mounted) {
      try {
        Posix.umount(view.toString(), Posix.MNT_DETACH);
        mounted = false;
      } catch (IOException e) {
        LOG.warning("could not unmount " + view + ": " + e.getMessage());
      }
    }
    if (shielded && !mounted) {
      try {
        if (Posix.mountIdOf(view.toString()) == shieldMount) { // never another mount that DIR shows now
          Posix.umount(view.toString(), Posix.MNT_DETACH);
        }
        shielded = false;
      } catch (IOException e) {
        LOG.warning("could not unmount the shield under " + view + ": " + e.getMessage());
      }
    }
    if (loop != null) {
      loop.stop(settings.timeout().plusSeconds(1));
      if (!(guard != null && guard.isAlive() && guard.heldGroupFd() >= 0)) {
        loop.drain();
      }
    }
    OpenStubs.closeQuietly(profilePrefetch);
    if (recorder != null) {
      recorder.write(true);
    }
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
  String evict(dev.lazydir.tree.TreePath path) throws IOException {
    return room.evictNow(path);
  }

  /** {@code lazydir pin} and {@code unpin}: the files at {@code path} are (no longer) kept from eviction. */
  String pin(dev.lazydir.tree.TreePath path, boolean pinned) throws IOException {
    return room.pinNow(path, pinned);
  }

}
