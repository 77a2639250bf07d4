package dev.lazydir.hsm;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import dev.lazydir.crawl.Crawler;
import dev.lazydir.crawl.Progress;
import dev.lazydir.crawl.TreeUrls;
import dev.lazydir.fanotify.Fan;
import dev.lazydir.fanotify.FanotifyEvent;
import dev.lazydir.fanotify.FanotifyGroup;
import dev.lazydir.internal.posix.Errno;
import dev.lazydir.internal.posix.ErrnoException;
import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Posix;
import dev.lazydir.internal.posix.Stat;
import dev.lazydir.origin.OriginClient;
import dev.lazydir.tree.EntryMeta.DirMeta;
import dev.lazydir.tree.EntryMeta.FileMeta;
import dev.lazydir.tree.StubTree;
import java.io.Closeable;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The fanotify daemon. The stub tree lives in a private store; users see it through a read-only bind mount at
 * DIR. One pre-content group carries two kinds of marks (the kernel refuses PRE_ACCESS and ONDIR in one mark): a
 * mount mark on DIR for FAN_OPEN_PERM|FAN_ONDIR (directories are listed when opened, file stubs get their blocks
 * allocated when opened), and an inode mark for FAN_PRE_ACCESS on each stub with bytes still to fetch
 * ({@link ContentMarks}), removed when the file completes, so complete files read like any local file. The daemon's
 * own I/O goes through a detached clone of the tree that carries a mount ignore mark, so it never waits on itself.
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
  /** How many levels below an opened directory are listed ahead of a walker. */
  static final int LIST_AHEAD_DEPTH = 1; // 2 measured slower on 2 cores: more listings compete with the one the walker needs

  /**
   * What the daemon needs to run.
   *
   * @param prefetchSmall files up to this size in a directory being opened are fetched in the background (a
   *     build or a grep reads them all next; one request each, ahead of the reader); 0 turns it off
   * @param run the store's run directory, where the guard holding the group is recorded for the next daemon
   */
  public record Settings(Path dir, long chunkSize, int readaheadChunks, Duration timeout,
      Duration refresh, int maxConns, long prefetchSmall, Path run) {}

  private final Settings settings;
  /** The store's tree by its open descriptor (the caller keeps it open while the daemon runs), never by path. */
  private final String mountSource;
  private final Path view;
  private final String viewPrefix;
  private final StubTree tree;
  /** O_PATH fd of the detached clone of the tree that {@link #tree} is reached through. */
  private final Fd privateMount;
  private final String storePath;
  private final OriginClient client;
  private final Crawler lister;
  private final ContentFiller filler;
  private final ExecutorService fetchPool;
  private final ScheduledExecutorService timers;
  private final ExecutorService prefetchPool;
  private final ExecutorService listAheadPool;
  private final Cache<Long, OpenStub> stubs;
  private final ConcurrentHashMap<String, CompletableFuture<Boolean>> listing = new ConcurrentHashMap<>();
  private final java.util.concurrent.ConcurrentLinkedQueue<OpenStub> completed = new java.util.concurrent.ConcurrentLinkedQueue<>();
  private final List<Thread> handlers = new ArrayList<>();
  private final Clock clock = Clock.systemUTC();
  final Stats stats = new Stats();
  private FanotifyGroup group;
  private ContentMarks marks;
  private Guard guard;
  private volatile boolean stopping;
  private final java.util.concurrent.atomic.AtomicBoolean diskFullSaid = new java.util.concurrent.atomic.AtomicBoolean();
  private boolean mounted;

  /** Counters shown by {@code lazydir status}. */
  public static final class Stats {
    final AtomicLong events = new AtomicLong();
    final AtomicLong denied = new AtomicLong();
    final AtomicLong dirsListed = new AtomicLong();
    public final Instant started = Instant.now();

    public long events() {
      return events.get();
    }

    public long denied() {
      return denied.get();
    }

    public long dirsListed() {
      return dirsListed.get();
    }
  }

  private Daemon(Settings settings, StubTree tree, Fd privateMount, OriginClient client, String mountSource)
      throws IOException {
    this.mountSource = mountSource;
    this.settings = settings;
    this.view = settings.dir().toRealPath();
    this.viewPrefix = view.toString().equals("/") ? "/" : view + "/";
    this.tree = tree;
    this.privateMount = privateMount;
    this.storePath = tree.path().toRealPath().toString();
    this.client = client;
    this.lister = new Crawler(client, 1, Math.max(1, settings.maxConns()), Progress.NONE, clock);
    this.fetchPool = Executors.newFixedThreadPool(Math.max(2, settings.maxConns()), dev.lazydir.internal.Threads.daemon("lazydir-fetch"));
    // Bounded queue, dropping work when full: prefetch is an optimisation and must never pile up.
    this.prefetchPool = new java.util.concurrent.ThreadPoolExecutor(2, 2, 0, TimeUnit.SECONDS,
        new java.util.concurrent.ArrayBlockingQueue<>(4096), dev.lazydir.internal.Threads.daemon("lazydir-prefetch"),
        new java.util.concurrent.ThreadPoolExecutor.DiscardPolicy());
    int listers = Math.max(2, settings.maxConns() / 2);
    this.listAheadPool = new java.util.concurrent.ThreadPoolExecutor(listers, listers, 0, TimeUnit.SECONDS,
        new java.util.concurrent.ArrayBlockingQueue<>(4096), dev.lazydir.internal.Threads.daemon("lazydir-list-ahead"),
        new java.util.concurrent.ThreadPoolExecutor.DiscardPolicy());
    this.timers = Executors.newSingleThreadScheduledExecutor(dev.lazydir.internal.Threads.daemon("lazydir-timer"));
    this.filler = new ContentFiller(client, fetchPool, settings.readaheadChunks(), settings.timeout(), this::onComplete);
    // Same-thread executor: an evicted stub persists its map before anyone can open the file anew.
    this.stubs = stubCache((Long ino, OpenStub stub, RemovalCause cause) -> closeQuietly(stub));
  }

  /** The cache of open stubs by inode (also built once by {@link WarmUp}, which loads its classes early). */
  static <V> Cache<Long, V> stubCache(com.github.benmanes.caffeine.cache.RemovalListener<Long, V> onRemoval) {
    return Caffeine.newBuilder().maximumSize(4096).executor(Runnable::run).removalListener(onRemoval).build();
  }

  /**
   * Mounts the store's tree at DIR, marks it, starts the guard and the handlers. When this returns, DIR is
   * live. On failure everything done so far is undone.
   */
  public static Daemon start(Settings settings, StubTree store, OriginClient client) throws IOException {
    // The daemon's own I/O goes through a detached clone of the tree: no other process can reach it, it
    // vanishes with the daemon, and a mount ignore mark on it keeps the daemon's reads and writes of marked
    // stubs from raising events it would have to answer itself.
    // From the tree's open descriptor, not its path: a link swapped in at STORE/tree since it was opened (and
    // checked) is never followed.
    Fd clone = Posix.cloneMount("/proc/self/fd/" + store.root().intValue());
    Daemon d;
    try {
      d = new Daemon(settings, store.reachedThrough(clone.openAt(".", Posix.O_RDONLY | Posix.O_DIRECTORY, 0)), clone,
          client, "/proc/self/fd/" + store.root().intValue());
    } catch (IOException | RuntimeException e) {
      closeQuietly(clone);
      throw e;
    }
    try {
      d.setUp();
      return d;
    } catch (IOException | RuntimeException e) {
      d.close();
      throw e;
    }
  }

  private void setUp() throws IOException {
    // A previous daemon's group, still held by its guard, keeps its readers: they are served again from now on.
    java.util.Optional<FanotifyGroup> taken = GroupHandOver.adopt(settings.run());
    group = taken.isPresent() ? taken.get() : FanotifyGroups.open();
    group.ignoreMount(privateMount.intValue(), ".", Fan.FAN_PRE_ACCESS);
    marks = new ContentMarks(group);
    tree.onNewStub(marks::watch);
    // Before DIR shows anything: a stub must carry its mark before any process opens it. A group taken over
    // still has the ignore marks of directories the previous daemon listed, whose refresh timers died with it.
    int watched = marks.watchIncomplete(tree, taken.isPresent());
    LOG.fine(() -> watched + " stubs with bytes to fetch");
    String target = view.toString();
    Posix.mount(mountSource, target, null, Posix.MS_BIND);
    mounted = true;
    Posix.mount(null, target, null, Posix.MS_PRIVATE);
    // The store is not trusted: a symlink, device node or setuid file planted in it is not honoured through DIR.
    Posix.mount(null, target, null, Posix.MS_REMOUNT | Posix.MS_BIND | Posix.MS_RDONLY | Posix.MS_NOSYMFOLLOW
        | Posix.MS_NODEV | Posix.MS_NOSUID);
    group.markMount(target, Fan.FAN_OPEN_PERM | Fan.FAN_ONDIR);
    guard = Guard.start(ProcessHandle.current().pid(), view, group.fd(), settings.timeout());
    GroupHandOver.record(settings.run(), guard);
    for (int i = 0; i < HANDLERS; i++) {
      handlers.add(handler("lazydir-handler-" + i));
    }
    handlers.forEach(Thread::start);
    // Chunks are recorded on disk in batches after a sync; an idle file gets its batch within a second.
    timers.scheduleWithFixedDelay(this::recordChunks, 1, 1, TimeUnit.SECONDS);
  }

  /**
   * Once a second: one syncfs for every file that got chunks, then their maps; then completed files leave the
   * cache and get their ignore marks. A build touching thousands of small files pays one sync a second, not
   * one per file.
   */
  private void recordChunks() {
    try {
      List<OpenStub> dirty = new ArrayList<>();
      List<OpenStub.Snapshot> snapshots = new ArrayList<>();
      for (OpenStub stub : stubs.asMap().values()) {
        OpenStub.Snapshot snap = stub.snapshot();
        if (snap != null) {
          dirty.add(stub);
          snapshots.add(snap);
        }
      }
      if (!dirty.isEmpty()) {
        tree.root().syncFilesystem();
        for (int i = 0; i < dirty.size(); i++) {
          dirty.get(i).record(snapshots.get(i));
        }
      }
      for (OpenStub done; (done = completed.poll()) != null; ) {
        retire(done); // its ignore marks were set when it completed
      }
    } catch (IOException | RuntimeException e) {
      LOG.warning("could not record fetched chunks: " + e.getMessage());
    }
  }

  /** Compiles the listing code in the background (see {@link WarmUp}); scratch is removed afterwards. */
  public static Thread warmUp(Path scratch) {
    return WarmUp.start(scratch);
  }

  public Stats stats() {
    return stats;
  }

  public ContentFiller filler() {
    return filler;
  }

  public OriginClient client() {
    return client;
  }

  private interface EventHandler {
    int handle(FanotifyEvent event) throws IOException;
  }

  /** Content events come from the inode marks, open events from the view's mount mark. */
  private int onEvent(FanotifyEvent ev) throws IOException {
    return ev.isPreAccess() ? onContent(ev) : onOpen(ev);
  }

  private Thread handler(String name) {
    Thread t = new Thread(() -> {
      while (!stopping) {
        List<FanotifyEvent> batch;
        try {
          batch = group.poll(Duration.ofMillis(200));
        } catch (ClosedChannelException e) {
          return;
        } catch (IOException e) {
          LOG.log(Level.SEVERE, name + ": reading events failed", e);
          continue;
        }
        for (FanotifyEvent ev : batch) {
          answer(ev, this::onEvent);
        }
      }
    }, name);
    t.setDaemon(true);
    return t;
  }

  /** Exactly one answer per event, whatever happens in the handler. */
  private void answer(FanotifyEvent ev, EventHandler handler) {
    if (!ev.needsResponse()) {
      closeEventFd(ev.fd());
      return;
    }
    stats.events.incrementAndGet();
    int response = Fan.FAN_ALLOW;
    try {
      response = stopping ? Fan.denyErrno(Fan.EIO) : handler.handle(ev);
    } catch (IOException | RuntimeException e) {
      LOG.warning(e.getMessage() == null ? e.toString() : e.getMessage());
      response = Fan.denyErrno(e instanceof ErrnoException ee && ee.errno() == Errno.ENOSPC ? Fan.ENOSPC : Fan.EIO);
    } finally {
      if (response != Fan.FAN_ALLOW) {
        stats.denied.incrementAndGet();
      }
      try {
        group.respond(ev.fd(), response);
      } catch (IOException e) {
        LOG.log(Level.SEVERE, "could not answer " + ev, e);
      }
      closeEventFd(ev.fd());
    }
  }

  /** FAN_PRE_ACCESS: make the range present before the read (or mmap, exec, copy) proceeds. */
  private int onContent(FanotifyEvent ev) throws IOException {
    LOG.finest(() -> "content event " + ev);
    long offset = ev.hasRange() ? ev.offset() : 0;
    long count = ev.hasRange() ? ev.count() : 0;
    for (int attempt = 1; ; attempt++) {
      OpenStub stub = stubFor(ev.fd());
      if (stub == null) {
        return onOrphan(ev.fd(), offset, count);
      }
      try {
        filler.ensure(stub, offset, count);
        return Fan.FAN_ALLOW;
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
      boolean present = OpenStub.recorded(fd, meta, settings.chunkSize())
          .map(m -> m.covers(offset, count)).orElse(meta.size() == 0);
      if (present) {
        return Fan.FAN_ALLOW;
      }
    }
    LOG.warning("a reader still has a file open that changed at the origin; bytes it had not fetched cannot be"
        + " served (EIO); reopen the file to read the new version");
    return Fan.denyErrno(Fan.EIO);
  }

  /** FAN_OPEN_PERM: list a directory on opendir; give a file stub its blocks so copiers do not skip holes. */
  private int onOpen(FanotifyEvent ev) throws IOException {
    LOG.finest(() -> "open event " + ev);
    // The kernel does not set FAN_ONDIR in the mask of a directory's permission event: ask the inode.
    if (FanotifyGroup.isDirectory(ev.fd())) {
      return onOpenDir(ev);
    }
    for (int attempt = 1; ; attempt++) {
      OpenStub stub = stubFor(ev.fd());
      if (stub == null) {
        return Fan.FAN_ALLOW;
      }
      if (stub.isComplete()) {
        ignoreComplete(stub);
        return Fan.FAN_ALLOW;
      }
      try {
        // cp and friends treat a file with fewer blocks than bytes as sparse and copy its holes as zeros via
        // SEEK_DATA/SEEK_HOLE, which sends no event. Allocated (unwritten) extents make it read every byte.
        if (stub.preallocate()) {
          return Fan.FAN_ALLOW;
        }
        if (!diskFullSaid.getAndSet(true)) {
          LOG.warning("the store's filesystem is full: opening " + stub.label + " fails with ENOSPC (what its"
              + " preallocation took was given back); free space on it or serve with a store on a larger one");
        }
        return Fan.denyErrno(Fan.ENOSPC);
      } catch (OpenStub.ClosedException e) {
        if (attempt == 3) {
          throw e;
        }
        // Completed or let go by a re-listing between lookup and preallocation: look it up again.
      }
    }
  }

  private int onOpenDir(FanotifyEvent ev) throws IOException {
    List<String> path = viewPath(ev.fd());
    LOG.fine(() -> "opendir " + (path == null ? "(not in the view)" : display(path)) + " by pid " + ev.pid());
    if (path == null) {
      return Fan.FAN_ALLOW;
    }
    DirMeta meta;
    try (Fd dir = tree.openDir(path)) {
      if (!(StubTree.metaOf(dir).orElse(null) instanceof DirMeta m) || dir.stat().dev() != tree.device()) {
        return Fan.FAN_ALLOW;
      }
      meta = m;
    }
    if (path.isEmpty() && TreeUrls.singleFile(tree)) {
      return Fan.FAN_ALLOW; // a single-file tree has no listing to refresh
    }
    boolean fresh = meta.listed()
        && clock.instant().isBefore(Instant.ofEpochSecond(meta.listedEpochSeconds()).plus(settings.refresh()));
    if (!fresh) {
      boolean ok;
      try {
        ok = ensureListed(path);
      } catch (IOException e) {
        if (!meta.listed()) {
          throw e;
        }
        // The origin down is not the cache down: the previous listing stays, and is tried again when due.
        LOG.warning(display(path) + ": could not be listed again (" + e.getMessage() + "); the previous listing stays");
        ok = false;
      }
      if (!ok && !meta.listed()) {
        throw new IOException(display(path) + ": could not be listed");
      }
    }
    ignoreListedDir(path);
    prefetchAhead(path);
    return Fan.FAN_ALLOW;
  }

  /**
   * Populate policy, never holding up the opener: the subdirectories of an opened directory are listed ahead
   * (a walk like ls -lR or find then finds each level ready), and its small files are fetched ahead.
   */
  private void prefetchAhead(List<String> path) {
    List<Runnable> listings = new ArrayList<>();
    List<Runnable> files = new ArrayList<>();
    try (Fd dir = tree.openDir(path)) {
      for (String name : dir.list()) {
        // A stat decides for files (size, blocks: the prefetch opens and checks the stub itself); only
        // directories are opened, for their metadata.
        Stat st = dir.statAt(name).orElse(null);
        if (st == null) {
          continue;
        }
        if (st.isDirectory()) {
          if (tree.inspect(dir, name).meta() instanceof DirMeta d && !d.listed()) {
            List<String> child = StubTree.childPath(path, name);
            listings.add(() -> listAhead(child, 1));
          }
        } else if (settings.prefetchSmall() > 0 && st.isRegularFile() && st.size() > 0
            && st.size() <= settings.prefetchSmall() && st.allocatedBytes() < st.size()) {
          files.add(() -> prefetch(path, name));
        }
      }
    } catch (IOException e) {
      LOG.fine("prefetch in " + display(path) + ": " + e.getMessage());
      return;
    }
    // Listings on their own pool: a walker's next step waits on them; file bytes are wanted a little later.
    try {
      listings.forEach(listAheadPool::execute);
      files.forEach(prefetchPool::execute);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      // shutting down
    }
  }

  /**
   * Lists a directory ahead of a walker, then its unlisted subdirectories, down to {@link #LIST_AHEAD_DEPTH}
   * levels below the directory that was opened: a depth-first walk (ls -lR, find) then finds the next levels
   * listed when it gets there instead of waiting for each one.
   */
  private void listAhead(List<String> dir, int depth) {
    try {
      ensureListed(dir);
    } catch (IOException e) {
      LOG.fine("listing ahead " + display(dir) + ": " + e.getMessage());
      return;
    }
    if (depth >= LIST_AHEAD_DEPTH || stopping) {
      return;
    }
    List<List<String>> next = new ArrayList<>();
    try (Fd fd = tree.openDir(dir)) {
      for (String name : fd.list()) {
        if (tree.inspect(fd, name).meta() instanceof DirMeta d && !d.listed()) {
          List<String> child = StubTree.childPath(dir, name);
          next.add(child);
        }
      }
    } catch (IOException e) {
      LOG.fine("listing ahead below " + display(dir) + ": " + e.getMessage());
      return;
    }
    try {
      next.forEach(child -> listAheadPool.execute(() -> listAhead(child, depth + 1)));
    } catch (java.util.concurrent.RejectedExecutionException e) {
      // shutting down
    }
  }

  private void prefetch(List<String> parent, String name) {
    try {
      // Listings first: a walker (ls -lR, find, a build's first pass) waits on them, while prefetched bytes
      // are wanted later. On two cores the two compete, so prefetch holds back while listings run.
      for (int waited = 0; !listing.isEmpty() && waited < 2000 && !stopping; waited += 5) {
        Thread.sleep(5);
      }
      filler.ensure(cache(openStub(parent, name)), 0, 0);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IOException e) {
      LOG.fine("prefetch of " + name + ": " + e.getMessage());
    }
  }

  /** Lists a directory once however many openers ask at the same time. */
  public boolean ensureListed(List<String> path) throws IOException {
    String key = String.join("/", path);
    CompletableFuture<Boolean> mine = new CompletableFuture<>();
    CompletableFuture<Boolean> running = listing.putIfAbsent(key, mine);
    if (running != null) {
      return waitFor(running, key);
    }
    long t0 = System.nanoTime();
    try {
      boolean ok = lister.listOne(tree, path);
      LOG.fine(() -> "listed " + display(path) + " in " + (System.nanoTime() - t0) / 1_000_000 + " ms");
      if (ok) {
        stats.dirsListed.incrementAndGet();
        forgetStubsIn(key);
      }
      mine.complete(ok);
      return ok;
    } catch (IOException | RuntimeException e) {
      mine.completeExceptionally(e);
      throw e;
    } finally {
      listing.remove(key, mine);
    }
  }

  private boolean waitFor(CompletableFuture<Boolean> f, String what) throws IOException {
    try {
      return f.get(settings.timeout().toMillis(), TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      throw new IOException(what + ": listing took longer than " + settings.timeout().toSeconds() + " s");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException();
    } catch (java.util.concurrent.ExecutionException e) {
      throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
    }
  }

  /**
   * A new listing may have reset files that changed at the origin (truncated to empty stubs, maps removed):
   * cached stubs of that directory must not go on believing their old maps.
   */
  private void forgetStubsIn(String dir) {
    String prefix = dir.isEmpty() ? "" : dir + "/";
    for (OpenStub stub : stubs.asMap().values()) {
      String label = stub.label;
      if (label.startsWith(prefix) && label.indexOf('/', prefix.length()) < 0) {
        if (stubs.asMap().remove(stub.ino, stub)) {
          closeQuietly(stub);
        }
      }
    }
  }

  /** A listed directory needs no event until it is due for a refresh. */
  private void ignoreListedDir(List<String> path) {
    String rel = path.isEmpty() ? null : String.join("/", path);
    try {
      group.ignoreInode(tree.root().intValue(), rel, Fan.FAN_OPEN_PERM, true);
      timers.schedule(() -> {
        try {
          group.removeIgnore(tree.root().intValue(), rel, Fan.FAN_OPEN_PERM, true);
        } catch (IOException e) {
          LOG.fine("refresh of " + display(path) + ": " + e.getMessage());
        }
      }, settings.refresh().toMillis(), TimeUnit.MILLISECONDS);
    } catch (IOException e) {
      LOG.fine("ignore mark on " + display(path) + ": " + e.getMessage());
    }
  }

  /**
   * A file just became complete: reads go native at once (its content mark removed, an open ignore mark set);
   * its map is recorded by the next once-a-second pass, which then lets it leave the cache. The daemon's
   * read-write fd is closed first: the kernel silently skips an ignore mark on an inode open for writing.
   */
  private void onComplete(OpenStub stub) {
    try {
      stub.dropWriteAccess();
      goNative(stub);
    } catch (IOException e) {
      LOG.fine(stub.label + ": " + e.getMessage());
    }
    completed.add(stub);
  }

  /** No content mark (reads from the next open on are plain reads) and no open events for the file. */
  private void goNative(OpenStub stub) {
    try {
      marks.release(stub.fd);
      group.ignoreInode(stub.fd.intValue(), null, Fan.FAN_OPEN_PERM, false);
    } catch (IOException e) {
      LOG.fine("marks of " + stub.label + ": " + e.getMessage());
    }
  }

  /** A complete file opened again (e.g. after a restart): it leaves the cache and reads natively. */
  private void ignoreComplete(OpenStub stub) {
    if (retire(stub)) {
      LOG.fine(() -> stub.label + ": complete; reads go native");
      goNative(stub);
    }
  }

  /** Records a complete stub's map, then lets it leave the cache; false if its map could not be recorded. */
  private boolean retire(OpenStub stub) {
    try {
      stub.persist(); // before leaving the cache: a stub opened anew must find the full map on disk
    } catch (IOException e) {
      LOG.warning(stub.label + ": could not record fetched chunks: " + e.getMessage());
      return false;
    }
    stubs.asMap().remove(stub.ino, stub);
    closeQuietly(stub);
    return true;
  }

  /**
   * The stub an event is about, or null if the event's file is not one of lazydir's stubs in this tree (then
   * it is allowed and never written). Identity is checked: the store file must be the event's inode.
   */
  private OpenStub stubFor(int eventFd) throws IOException {
    Stat st = Fd.statOf(eventFd);
    if (st.dev() != tree.device() || !st.isRegularFile()) {
      return null;
    }
    OpenStub cached = stubs.getIfPresent(st.ino());
    if (cached != null) {
      return cached;
    }
    List<String> path = viewPath(eventFd);
    if (path == null || path.isEmpty()) {
      return null;
    }
    OpenStub stub;
    try {
      stub = openStub(path.subList(0, path.size() - 1), path.get(path.size() - 1));
    } catch (OpenStub.NotAStubException e) {
      return null;
    } catch (ErrnoException e) {
      if (e.errno() == Errno.ENOENT || e.errno() == Errno.ELOOP || e.errno() == Errno.ENOTDIR) {
        return null;
      }
      throw e;
    }
    if (stub.ino != st.ino() || stub.dev != st.dev()) {
      closeQuietly(stub);
      return null;
    }
    return cache(stub);
  }

  private OpenStub openStub(List<String> parent, String name) throws IOException {
    return OpenStub.open(tree, parent, name, meta -> TreeUrls.fileUrl(tree, parent, name, meta), settings.chunkSize());
  }

  /** Puts a freshly opened stub in the cache, or returns (and closes the fresh one) if another got there first. */
  private OpenStub cache(OpenStub fresh) {
    OpenStub raced = stubs.asMap().putIfAbsent(fresh.ino, fresh);
    if (raced != null) {
      closeQuietly(fresh);
      return raced;
    }
    return fresh;
  }

  /**
   * Path in the tree of the file an event fd was opened for, reached through DIR or (content events of a
   * process reading the store directly) through the store's tree; null if it is neither. A file opened through
   * a previous daemon's view, detached since (its group was taken over), shows its path from that mount's root,
   * i.e. from the tree's: it is tried as such. Callers check the inode, so a wrong guess finds nothing.
   */
  private List<String> viewPath(int eventFd) throws IOException {
    String path = Posix.readlink("/proc/self/fd/" + eventFd);
    if (path.equals(view.toString()) || path.equals(storePath)) {
      return List.of();
    }
    String prefix = path.startsWith(viewPrefix) ? viewPrefix : path.startsWith(storePath + "/") ? storePath + "/"
        : path.startsWith("/") ? "/" : null;
    if (prefix == null || path.endsWith(" (deleted)")) {
      return null;
    }
    List<String> parts = Arrays.asList(path.substring(prefix.length()).split("/"));
    for (String p : parts) {
      if (p.isEmpty() || p.equals(".") || p.equals("..")) {
        return null;
      }
    }
    return parts;
  }

  private static String display(List<String> path) {
    return path.isEmpty() ? "." : String.join("/", path);
  }

  private static void closeEventFd(int fd) {
    try {
      FanotifyGroup.closeEventFd(fd);
    } catch (IOException e) {
      LOG.fine("close event fd: " + e.getMessage());
    }
  }

  private static void closeQuietly(AutoCloseable c) {
    try {
      if (c != null) {
        c.close();
      }
    } catch (Exception e) {
      LOG.fine("close: " + e.getMessage());
    }
  }


  /**
   * Clean shutdown: DIR is detached first (no new opens), the handlers answer what they read, then the group is
   * left to the guard, which answers EIO to every event still queued or arriving while any process uses the old
   * view (a reader holding a file gets EIO, never the holes the kernel would show once the group closed). Without
   * a guard holding it, the queue is drained with EIO here before the group closes.
   */
  @Override
  public void close() {
    if (mounted) {
      try {
        Posix.umount(view.toString(), Posix.MNT_DETACH);
        mounted = false;
      } catch (IOException e) {
        LOG.warning("could not unmount " + view + ": " + e.getMessage());
      }
    }
    stopping = true;
    for (Thread t : handlers) {
      try {
        t.join(settings.timeout().toMillis() + 1000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (group != null && !(guard != null && guard.isAlive() && guard.heldGroupFd() >= 0)) {
      try {
        for (List<FanotifyEvent> left = group.poll(Duration.ZERO); !left.isEmpty(); left = group.poll(Duration.ZERO)) {
          for (FanotifyEvent ev : left) {
            answer(ev, e -> Fan.denyErrno(Fan.EIO));
          }
        }
      } catch (IOException e) {
        LOG.fine("drain: " + e.getMessage());
      }
    }
    closeQuietly(group);
    if (guard != null) {
      guard.release();
    }
    prefetchPool.shutdownNow();
    listAheadPool.shutdownNow();
    fetchPool.shutdownNow();
    timers.shutdownNow();
    lister.close();
    stubs.invalidateAll();
    stubs.cleanUp();
    closeQuietly(tree);
    closeQuietly(privateMount);
  }
}
