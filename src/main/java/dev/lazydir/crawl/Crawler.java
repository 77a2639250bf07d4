package dev.lazydir.crawl;

import dev.lazydir.index.IndexApplier;
import dev.lazydir.index.IndexFetch;
import dev.lazydir.index.TreeIndex;
import dev.lazydir.internal.posix.Fd;
import dev.lazydir.origin.Listing;
import dev.lazydir.origin.ListingParser;
import dev.lazydir.origin.MalformedListingException;
import dev.lazydir.origin.OriginClient;
import dev.lazydir.origin.OriginException;
import dev.lazydir.origin.Page;
import dev.lazydir.origin.PercentCodec;
import dev.lazydir.origin.Redact;
import dev.lazydir.origin.RemoteEntry;
import dev.lazydir.origin.RemoteFile;
import dev.lazydir.tree.Access;
import dev.lazydir.tree.EntryMeta;
import dev.lazydir.tree.EntryMeta.DirMeta;
import dev.lazydir.tree.EntryMeta.FileMeta;
import dev.lazydir.tree.LocalName;
import dev.lazydir.tree.StubTree;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Logger;
import okhttp3.HttpUrl;

/**
 * Mirrors an origin's namespace into a {@link StubTree}: lists directories breadth first (up to
 * {@code maxDepth} levels, several at a time), asks the origin for sizes only where the listing does not give
 * them exactly, and reconciles each local directory with its listing. Problems with single entries or
 * directories are warnings (the rest of the tree still lands); failures of the local disk abort the crawl.
 */
public final class Crawler implements java.io.Closeable {
  private static final Logger LOG = Logger.getLogger(Crawler.class.getName());
  /** Stop descending past this path length: a server-side symlink loop must not recurse until PATH_MAX. */
  static final int MAX_RELATIVE_PATH_BYTES = 3072;

  private final OriginClient client;
  private final int maxDepth;
  private final int parallelism;
  private final Progress progress;
  private final Clock clock;

  private final AtomicLong listed = new AtomicLong();
  private final AtomicLong entriesSeen = new AtomicLong();
  private final AtomicLong files = new AtomicLong();
  private final AtomicLong dirs = new AtomicLong();
  private final AtomicLong bytes = new AtomicLong();
  private final AtomicLong created = new AtomicLong();
  private final AtomicLong reset = new AtomicLong();
  private final AtomicLong refined = new AtomicLong();
  private final AtomicLong removed = new AtomicLong();
  private final AtomicLong unchanged = new AtomicLong();
  private final AtomicLong warnings = new AtomicLong();
  private final ListingClock listingClock = new ListingClock();
  private final ExecutorService probePool;
  private Access access = Access.OWNER_ONLY;
  private IndexFetch.Where index;

  public Crawler(OriginClient client, int maxDepth, int parallelism, Progress progress, Clock clock) {
    if (maxDepth < 1) {
      throw new IllegalArgumentException("--depth must be at least 1");
    }
    this.client = client;
    this.maxDepth = maxDepth;
    this.parallelism = parallelism;
    this.progress = progress;
    this.clock = clock;
    this.probePool = Executors.newFixedThreadPool(parallelism, dev.lazydir.internal.Threads.daemon("lazydir-probe"));
  }

  /**
   * Lists one directory of an existing tree now, without descending (what the daemon does when a directory
   * is opened). Returns false if it could not be listed; the reason was logged as a warning.
   */
  public boolean listOne(StubTree tree, List<String> path) throws IOException {
    try (Fd dir = tree.openDir(path)) {
      if (StubTree.metaOf(dir).orElse(null) instanceof DirMeta m && m.fromIndex() && m.listed()) {
        return true; // the tree index is its listing (fetched again at the next start), not an index page
      }
    }
    return crawlDir(tree, new DirTask(path, TreeUrls.dirUrl(tree, path), null, null, Ancestry.NONE), false) != null;
  }

  /** Where {@link #crawl} looks for the origin's tree index first (null: nowhere, list directories). */
  public Crawler index(IndexFetch.Where where) {
    this.index = where;
    return this;
  }

  /** Owner and modes of what this crawler creates in trees it opens (see StubTree#access). */
  public Crawler access(Access access) {
    this.access = access;
    return this;
  }

  @Override
  public void close() {
    probePool.shutdownNow();
  }

  /**
   * One directory to list: where it is below the root, its URL, the mtime its parent's listing gave, and the
   * listings above it (a loop on the server repeats one).
   */
  private record DirTask(List<String> path, HttpUrl url, Instant mtime, Listing prefetched, Ancestry above) {
    DirTask below(Ancestry above) {
      return new DirTask(path, url, mtime, prefetched, above);
    }
  }

  /**
   * Crawls {@code url} into {@code dir}. A listing becomes a tree; a URL that names a single file gives a
   * tree holding that file.
   */
  public CrawlReport crawl(HttpUrl url, Path dir) throws IOException {
    Optional<byte[]> treeIndex = IndexFetch.fetch(client, index);
    if (treeIndex.isPresent()) {
      return fromIndex(treeIndex.get(), url, dir);
    }
    Page page = client.fetchPage(url);
    Optional<Listing> listing = page.html() ? asListing(page) : Optional.empty();
    try {
      if (listing.isEmpty()) {
        singleFile(url, page.file(), dir);
      } else {
        HttpUrl origin = withSlash(withoutCredentials(url));
        try (StubTree tree = StubTree.open(dir, origin.toString())) {
          tree.access(access);
          crawlTree(tree, new DirTask(List.of(), listing.get().url(), null, listing.get(), Ancestry.NONE));
        }
      }
    } finally {
      progress.done();
    }
    return report();
  }

  /**
   * Makes the whole tree from the origin's tree index (validated before anything is made): no listing at all.
   */
  private CrawlReport fromIndex(byte[] gz, HttpUrl url, Path dir) throws IOException {
    TreeIndex.validate(gz);
    IndexApplier.Result r;
    try (StubTree tree = StubTree.open(dir, withSlash(withoutCredentials(url)).toString())) {
      tree.access(access);
      r = IndexApplier.applyValidated(gz, tree, clock.instant());
    } finally {
      progress.done();
    }
    return new CrawlReport(r.directories(), r.files(), r.directories(), r.bytes(), r.created(), r.reset(),
        r.refined(), r.removed(), r.unchanged(), r.warnings(), client.requestCount());
  }

  /**
   * The page as a listing; a page with no entry at a file-like URL is an HTML (or JSON, XML) file, not a
   * listing. A JSON or XML listing that cannot be read whole throws (at a directory URL).
   */
  private Optional<Listing> asListing(Page page) throws MalformedListingException {
    HttpUrl finalUrl = page.finalUrl();
    boolean fileLike = !finalUrl.encodedPath().endsWith("/");
    Listing listing;
    try {
      listing = ListingParser.parse(page.body(), page.mediaType(), page.charset(), withSlash(finalUrl));
    } catch (MalformedListingException e) {
      if (fileLike) {
        return Optional.empty();
      }
      throw e;
    }
    if (fileLike && listing.entries().isEmpty()) {
      Listing plain = ListingParser.parse(page.body(), page.mediaType(), page.charset(), finalUrl);
      if (plain.entries().isEmpty()) {
        return Optional.empty();
      }
      listing = new Listing(withSlash(finalUrl), plain.entries(), plain.rejected(), plain.timesInUtc());
    }
    return Optional.of(listing);
  }

  private void singleFile(HttpUrl url, RemoteFile file, Path dir) throws IOException {
    List<String> segments = url.pathSegments();
    String encoded = url.encodedPathSegments().get(segments.size() - 1);
    Optional<String> name = PercentCodec.decodeStrict(encoded);
    if (name.isEmpty() || LocalName.problem(name.get()).isPresent()) {
      throw new OriginException(Redact.url(url) + " is a single file whose name cannot be a local file name"
          + name.flatMap(LocalName::problem).map(p -> " (" + p + ")").orElse(""), 200);
    }
    if (file.size() < 0) {
      file = client.probe(url);
      if (file.size() < 0) {
        throw new OriginException(Redact.url(url) + ": the origin gives no size for this file", 200);
      }
    }
    RemoteEntry entry = new RemoteEntry(name.get(), encoded, false, -1, null, false, null).withFile(file);
    try (StubTree tree = StubTree.open(dir, withoutCredentials(url).toString()); Fd root = tree.openDir(List.of())) {
      tree.access(access);
      tree.sweepTemporaries(root);
      apply(tree, root, List.of(), file.finalUrl(), entry, new ArrayList<>(), false);
      for (String local : root.list()) {
        if (!local.equals(entry.name()) && !local.startsWith(LocalName.TEMP_PREFIX)) {
          removeVanished(tree, root, List.of(), local);
        }
      }
      tree.updateDirMeta(root, new DirMeta(0, null, null).listedAt(clock.instant(), null), null);
      listed.incrementAndGet();
    }
  }

  private void crawlTree(StubTree tree, DirTask root) throws IOException {
    ExecutorService listPool = Executors.newFixedThreadPool(parallelism, dev.lazydir.internal.Threads.daemon("lazydir-list"));
    try {
      List<DirTask> level = List.of(root);
      for (int depth = 0; !level.isEmpty(); depth++) {
        AtomicLong toGo = new AtomicLong(level.size());
        List<Future<List<DirTask>>> futures = new ArrayList<>();
        for (DirTask task : level) {
          int d = depth;
          futures.add(listPool.submit(() -> {
            List<DirTask> next = crawlDir(tree, task, d + 1 < maxDepth);
            progress.update(listed.get(), entriesSeen.get(), toGo.decrementAndGet());
            return next == null ? List.<DirTask>of() : next;
          }));
        }
        List<DirTask> next = new ArrayList<>();
        for (Future<List<DirTask>> f : futures) {
          next.addAll(await(f));
        }
        level = next;
      }
    } finally {
      listPool.shutdownNow();
    }
  }

  /** Lists and reconciles one directory; returns the subdirectories to list next, or null if not listed. */
  private List<DirTask> crawlDir(StubTree tree, DirTask task, boolean descend) throws IOException {
    String where = task.path().isEmpty() ? "." : String.join("/", task.path());
    Listing listing = task.prefetched();
    if (listing == null) {
      try {
        Page page = client.fetchPage(task.url());
        listing = page.html() ? asListing(page).orElse(null) : null;
        if (listing == null) {
          warn(where + "/: the origin answers " + Redact.url(task.url()) + " with a file, not a listing; left unlisted");
          return null;
        }
      } catch (OriginException e) {
        warn(where + "/: not listed: " + e.getMessage());
        return null;
      }
    }
    for (String rejected : listing.rejected()) {
      warn(where + "/: skipped entry " + rejected);
    }
    entriesSeen.addAndGet(listing.entries().size());
    byte[] digest = descend ? Ancestry.digestOf(listing) : null; // only a crawl that descends needs it
    Optional<List<String>> same = digest == null ? Optional.empty() : task.above().listed(digest);
    if (same.isPresent()) {
      warn(where + "/: lists the same entries as " + (same.get().isEmpty() ? "." : String.join("/", same.get()))
          + "/ above it (a loop on the server?); not descending");
      descend = false;
    }
    listing = inUtc(listing, where);
    Set<String> keep = new HashSet<>();
    List<RemoteEntry> entries = probeWhereNeeded(listing, where, keep);

    List<DirTask> next = new ArrayList<>();
    try (Fd dir = tree.openDir(task.path())) {
      Optional<EntryMeta> own = StubTree.metaOf(dir);
      if (own.isEmpty() || !(own.get() instanceof DirMeta ownMeta)) {
        warn(where + "/: not a lazydir directory any more; left as is");
        return null;
      }
      // Reconciling changes the directory's mtime; keep the origin's (or, if unknown here, the one it had).
      Instant mtime = task.mtime() != null ? task.mtime() : dir.stat().mtime();
      tree.sweepTemporaries(dir);
      // A directory listed for the first time is empty: every entry is new, none needs looking up first.
      boolean fresh = dir.list().isEmpty();
      Set<String> remoteNames = new HashSet<>();
      for (RemoteEntry e : entries) {
        remoteNames.add(e.name());
        apply(tree, dir, task.path(), listing.url(), e, descend ? next : null, fresh);
      }
      for (String local : fresh ? List.<String>of() : dir.list()) {
        if (!remoteNames.contains(local) && !keep.contains(local) && !local.startsWith(LocalName.TEMP_PREFIX)) {
          removeVanished(tree, dir, task.path(), local);
        }
      }
      HttpUrl finalUrl = listing.url().equals(task.url()) ? null : listing.url();
      tree.updateDirMeta(dir, ownMeta.listedAt(clock.instant(), finalUrl == null ? ownMeta.url() : finalUrl.toString()),
          mtime);
    }
    listed.incrementAndGet();
    if (!next.isEmpty()) {
      Ancestry above = task.above().below(task.path(), digest);
      next.replaceAll(t -> t.below(above));
    }
    return next;
  }

  /**
   * The listing with its listed times in UTC. Until the listing clock is known, probes one file whose listing
   * gave a time to learn the server's zone (one request per crawl); that file keeps the probe's answer. A
   * listing whose format says its times are UTC is taken as it is.
   */
  private Listing inUtc(Listing listing, String where) {
    if (listing.timesInUtc()) {
      return listing; // nginx's JSON and XML: GMT by the format, no probe
    }
    if (listingClock.calibrated()) {
      return shifted(listing);
    }
    synchronized (listingClock) {
      if (listingClock.calibrated()) {
        return shifted(listing);
      }
      for (int i = 0; i < listing.entries().size(); i++) {
        RemoteEntry e = listing.entries().get(i);
        if (e.directory() || e.mtime() == null) {
          continue;
        }
        try {
          RemoteFile file = client.probe(listing.url().newBuilder().addEncodedPathSegment(e.encodedName()).build());
          if (file.lastModified() == null || file.size() < 0) {
            continue;
          }
          listingClock.calibrate(e.mtime(), file.lastModified()).ifPresent(offset ->
              LOG.fine("listing times are UTC" + (offset.isZero() ? "" : (offset.isNegative() ? "" : "+") + offset)));
          List<RemoteEntry> entries = new ArrayList<>(shifted(listing).entries());
          entries.set(i, e.withFile(file));
          return new Listing(listing.url(), entries, listing.rejected());
        } catch (OriginException ex) {
          LOG.fine(where + ": could not learn the listing's time zone: " + ex.getMessage());
          return listing;
        }
      }
      return listing;
    }
  }

  private Listing shifted(Listing listing) {
    List<RemoteEntry> out = new ArrayList<>();
    for (RemoteEntry e : listing.entries()) {
      out.add(e.mtime() == null ? e
          : new RemoteEntry(e.name(), e.encodedName(), e.directory(), e.size(), listingClock.toUtc(e.mtime()), e.mtimeExactSeconds(), e.etag()));
    }
    return new Listing(listing.url(), out, listing.rejected());
  }

  /** Fills in size and time for entries the listing left vague, in parallel; see {@link OriginClient#probe}. */
  private List<RemoteEntry> probeWhereNeeded(Listing listing, String where, Set<String> keep) throws IOException {
    ExecutorService pool = probePool;
    List<Future<Optional<RemoteEntry>>> futures = new ArrayList<>();
    for (RemoteEntry e : listing.entries()) {
      if (e.listingIsEnough()) {
        futures.add(java.util.concurrent.CompletableFuture.completedFuture(Optional.of(e)));
        continue;
      }
      futures.add(pool.submit(() -> {
        HttpUrl url = listing.url().newBuilder().addEncodedPathSegment(e.encodedName()).build();
        try {
          RemoteFile file = client.probe(url);
          if (file.html() && file.finalUrl().encodedPath().endsWith("/")) {
            return Optional.of(e.asDirectory());
          }
          if (file.size() < 0) {
            warn(where + "/" + LocalName.printable(e.name()) + ": the origin gives no size; skipped");
            keep.add(e.name());
            return Optional.empty();
          }
          return Optional.of(e.withFile(file));
        } catch (OriginException ex) {
          warn(where + "/" + LocalName.printable(e.name()) + ": " + ex.getMessage()
              + (ex.isNotFound() ? "; listed but missing, skipped" : "; kept as it was"));
          if (!ex.isNotFound()) {
            keep.add(e.name());
          }
          return Optional.empty();
        }
      }));
    }
    List<RemoteEntry> out = new ArrayList<>();
    for (Future<Optional<RemoteEntry>> f : futures) {
      await(f).ifPresent(out::add);
    }
    return out;
  }

  private void apply(StubTree tree, Fd dir, List<String> path, HttpUrl dirUrl, RemoteEntry e, List<DirTask> next,
      boolean fresh) throws IOException {
    String where = String.join("/", StubTree.childPath(path, LocalName.printable(e.name())));
    StubTree.Entry local = fresh ? StubTree.Entry.ABSENT : tree.inspect(dir, e.name());
    if (local.exists() && !local.ours()) {
      warn(where + ": exists and was not made by lazydir; left as is");
      return;
    }
    if (e.directory()) {
      if (!(local.meta() instanceof DirMeta)) {
        if (local.ours() && !removeForReplacement(tree, dir, e.name(), where)) {
          return;
        }
        tree.createDir(dir, e.name(), FileMetas.unlistedDir(e), e.mtime());
        created.incrementAndGet();
      } else {
        unchanged.incrementAndGet();
      }
      dirs.incrementAndGet();
      List<String> childPath = StubTree.childPath(path, e.name());
      if (next != null) {
        if (String.join("/", childPath).getBytes(StandardCharsets.UTF_8).length > MAX_RELATIVE_PATH_BYTES) {
          warn(where + "/: path longer than " + MAX_RELATIVE_PATH_BYTES + " bytes; not descending (a loop on the server?)");
        } else {
          HttpUrl childUrl = dirUrl.newBuilder().addEncodedPathSegment(e.encodedName()).addPathSegment("").build();
          next.add(new DirTask(childPath, childUrl, e.mtime(), null, null));
        }
      } else if (local.meta() instanceof DirMeta && e.mtime() != null) {
        dirSetMtimeIfUnlisted(tree, dir, e);
      }
      return;
    }
    FileMeta meta = FileMetas.fileMeta(e);
    if (local.meta() instanceof FileMeta old) {
      switch (StubChange.decide(old, e)) {
        case UNCHANGED -> unchanged.incrementAndGet();
        case REFINE -> {
          tree.refineStub(dir, e.name(), meta, e.mtime());
          refined.incrementAndGet();
        }
        case RESET -> {
          LOG.info(where + ": changed at the origin; reset to a stub");
          tree.resetStub(dir, e.name(), meta, e.mtime());
          reset.incrementAndGet();
        }
      }
    } else {
      if (local.ours() && !removeForReplacement(tree, dir, e.name(), where)) {
        return;
      }
      tree.createStub(dir, e.name(), meta, e.mtime());
      created.incrementAndGet();
    }
    files.incrementAndGet();
    bytes.addAndGet(e.size());
  }

  /** A directory beyond --depth keeps the time its parent's listing gives, as listed ones do. */
  private void dirSetMtimeIfUnlisted(StubTree tree, Fd dir, RemoteEntry e) throws IOException {
    try (Fd sub = dir.openDirAt(e.name())) {
      if (StubTree.metaOf(sub).orElse(null) instanceof DirMeta m && !m.listed()) {
        sub.setMtime(e.mtime());
      }
    }
  }

  private boolean removeForReplacement(StubTree tree, Fd dir, String name, String where) throws IOException {
    int kept = tree.removeOwned(dir, name);
    if (kept > 0) {
      warn(where + ": changed kind at the origin but holds " + kept + " entries lazydir did not make; left as is");
      return false;
    }
    return true;
  }

  private void removeVanished(StubTree tree, Fd dir, List<String> path, String name) throws IOException {
    StubTree.Entry local = tree.inspect(dir, name);
    if (!local.ours()) {
      return; // foreign entries are the user's: never removed
    }
    String where = String.join("/", StubTree.childPath(path, LocalName.printable(name)));
    int kept = tree.removeOwned(dir, name);
    if (kept > 0) {
      warn(where + ": gone from the origin, but holds " + kept + " entries lazydir did not make; kept");
    } else {
      LOG.info(where + ": gone from the origin; removed");
      removed.incrementAndGet();
    }
  }

  private void warn(String message) {
    warnings.incrementAndGet();
    LOG.warning(message);
  }

  private CrawlReport report() {
    return new CrawlReport(listed.get(), files.get(), dirs.get(), bytes.get(), created.get(), reset.get(),
        refined.get(), removed.get(), unchanged.get(), warnings.get(), client.requestCount());
  }

  private static <T> T await(Future<T> f) throws IOException {
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("crawl interrupted");
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof IOException io) {
        throw io;
      }
      if (cause instanceof UncheckedIOException io) {
        throw io.getCause();
      }
      if (cause instanceof RuntimeException re) {
        throw re;
      }
      throw new IOException(cause);
    }
  }

  static HttpUrl withSlash(HttpUrl url) {
    return url.encodedPath().endsWith("/") ? url : url.newBuilder().addPathSegment("").build();
  }

  /** The URL as recorded in a tree and shown to users: never with credentials. */
  public static HttpUrl withoutCredentials(HttpUrl url) {
    return url.newBuilder().username("").password("").fragment(null).build();
  }

}
