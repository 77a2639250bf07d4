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
import dev.lazydir.tree.EntryMeta.ListingVersion;
import dev.lazydir.tree.LocalName;
import dev.lazydir.tree.StubTree;
import dev.lazydir.tree.TreePath;
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
  /** Listings found to be the ones already applied (a 304, or the same bytes): nothing parsed, nothing walked. */
  private final AtomicLong listingsUnchanged = new AtomicLong();
  /** Listings parsed (a test counts them: an unchanged listing must cost none). */
  private final AtomicLong listingsParsed = new AtomicLong();
  private final ListingClock listingClock = new ListingClock();
  private final ExecutorService probePool;
  private Access access = Access.OWNER_ONLY;
  private IndexFetch.Where index;
  private boolean singleFileOnly;

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
  public boolean listOne(StubTree tree, TreePath path) throws IOException {
    return relist(tree, path).listed();
  }

  /**
   * As {@link #listOne}, saying what the listing changed. The origin is asked with the validators of the listing
   * applied last (If-None-Match, If-Modified-Since): a 304, or a full answer whose bytes are the same as that
   * listing's, is not parsed and no entry is looked at. A directory made from the tree index is not listed
   * (the index, fetched again at the next start, is its listing): unchanged.
   */
  public Relisting relist(StubTree tree, TreePath path) throws IOException {
    try (Fd dir = tree.openDir(path)) {
      if (StubTree.metaOf(dir).orElse(null) instanceof DirMeta m && m.fromIndex() && m.listed()) {
        return Relisting.UNCHANGED; // the tree index is its listing (fetched again at the next start)
      }
    }
    return crawlDir(tree, new DirTask(path, TreeUrls.dirUrl(tree, path), null, null, Ancestry.NONE), false)
        .relisting();
  }

  /** What checking the files with bytes on disk of one directory found: how many were asked for, and replaced. */
  public record FileChecks(long checked, long replaced, long failed) {}

  /**
   * Asks the origin (HEAD, see {@link OriginClient#probe}) for the version of each file of a directory that has
   * bytes on disk (complete, or with a segment map) and is named by {@code wanted}, and replaces each whose size,
   * ETag or time (at the precision both sides know) changed with an empty stub of the new version: a new inode,
   * so a reader holding the old one keeps its bytes. Files with no bytes here are not asked for: every answer
   * that fills them is checked against their version anyway. Files from a tree index are pinned by its digests
   * and are not asked for either. The directory keeps its mtime, so a listing recorded as applied still stands.
   * A listing gives sizes and times to the minute at best, and no ETag: this is the check that sees a file
   * rewritten within the minute at the same size.
   */
  public FileChecks checkLocalFiles(StubTree tree, TreePath path, java.util.function.Predicate<String> wanted)
      throws IOException {
    String where = path.toString();
    List<Future<Optional<RemoteFile>>> futures = new ArrayList<>();
    List<String> names = new ArrayList<>();
    try (Fd dir = tree.openDir(path)) {
      for (String name : dir.list()) {
        if (name.startsWith(LocalName.TEMP_PREFIX) || !wanted.test(name)) {
          continue;
        }
        StubTree.Entry local = tree.inspect(dir, name);
        if (!(local.meta() instanceof FileMeta meta) || !local.stat().isRegularFile()
            || meta.mtimePrecision() == EntryMeta.TimePrecision.NANOS || !hasLocalBytes(dir, name, meta)) {
          continue;
        }
        HttpUrl url = TreeUrls.fileUrl(tree, path, name, meta);
        names.add(name);
        futures.add(probePool.submit(() -> {
          try {
            return Optional.of(client.probe(url));
          } catch (OriginException e) {
            LOG.warning(where + "/" + LocalName.printable(name) + ": version not checked: " + e.getMessage());
            return Optional.empty();
          }
        }));
      }
      long replaced = 0;
      long failed = 0;
      Instant dirMtime = dir.stat().mtime();
      for (int i = 0; i < futures.size(); i++) {
        String name = names.get(i);
        RemoteFile file = await(futures.get(i)).orElse(null);
        if (file == null || file.size() < 0 || file.html()) {
          failed++;
          continue;
        }
        if (!(tree.inspect(dir, name).meta() instanceof FileMeta meta)) {
          continue; // replaced or removed meanwhile (a listing)
        }
        String encoded = meta.listedName() != null ? meta.listedName() : PercentCodec.canonicalSegment(name);
        RemoteEntry remote = new RemoteEntry(name, encoded, false, -1, null, false, null).withFile(file);
        // Times are compared only with a time that came from a Last-Modified too (a probe, or the fill's answers):
        // a listing's time may be off by its zone when that could not be learnt, and must not reset a file at
        // every refresh.
        RemoteEntry compared = meta.mtimePrecision() == EntryMeta.TimePrecision.SECONDS ? remote
            : new RemoteEntry(name, encoded, false, remote.size(), null, false, remote.etag());
        if (StubChange.decide(meta, compared) == StubChange.RESET) {
          LOG.info(where + "/" + LocalName.printable(name) + ": changed at the origin; replaced by a stub of the new version");
          tree.resetStub(dir, name, FileMetas.fileMeta(remote), remote.mtime());
          replaced++;
        }
      }
      if (replaced > 0) {
        dir.setMtime(dirMtime); // the rename moved it; the listing recorded as applied still describes the rest
      }
      return new FileChecks(futures.size(), replaced, failed);
    }
  }

  /** Whether some of the file's bytes are on disk: complete, or a segment map recorded. */
  private static boolean hasLocalBytes(Fd dir, String name, FileMeta meta) throws IOException {
    if (meta.complete()) {
      return true;
    }
    try (Fd fd = dir.openAt(name, dev.lazydir.internal.posix.Posix.O_RDONLY | dev.lazydir.internal.posix.Posix.O_NOFOLLOW
        | dev.lazydir.internal.posix.Posix.O_NONBLOCK, 0)) {
      return fd.getXattr(EntryMeta.MAP_XATTR).isPresent();
    }
  }

  /** Listings parsed so far by this crawler. */
  public long listingsParsed() {
    return listingsParsed.get();
  }

  /** Where {@link #crawl} looks for the origin's tree index first (null: nowhere, list directories). */
  /**
   * URL names one file, whatever it holds (httpdirfs' --single-file-mode): it is probed (HEAD), never fetched
   * and read as a listing, so an HTML file or a large file at a file-like URL makes a tree holding that file.
   */
  public Crawler singleFile(boolean only) {
    this.singleFileOnly = only;
    return this;
  }

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
  private record DirTask(TreePath path, HttpUrl url, Instant mtime, Fetched prefetched, Ancestry above) {
    DirTask below(Ancestry above) {
      return new DirTask(path, url, mtime, prefetched, above);
    }
  }

  /**
   * A directory's listing as fetched: {@code page} null for a 304 (the listing applied last still holds);
   * {@code listing} the page parsed, if it was already.
   */
  private record Fetched(Page page, Listing listing) {
    static final Fetched NOT_MODIFIED = new Fetched(null, null);

    /** Whether this is the listing the directory was last made from: a 304, or the same media type and bytes. */
    boolean sameAs(ListingVersion applied) {
      if (page == null) {
        return true;
      }
      return applied != null && applied.digest() != null && page.html() && page.body() != null
          && applied.digest().equals(ListingVersion.digestOf(page.mediaType(), page.body()));
    }

    /** What identifies this listing, to be recorded once it is applied. */
    ListingVersion version(ListingVersion applied) {
      if (page == null) {
        return applied;
      }
      return new ListingVersion(page.file().etag(), page.file().lastModified(),
          page.body() == null ? null : ListingVersion.digestOf(page.mediaType(), page.body()),
          applied == null ? null : applied.dirMtime());
    }
  }

  /** What listing one directory gave: the subdirectories to list next, and what it changed. */
  private record DirResult(List<DirTask> next, Relisting relisting) {
    static final DirResult NOT_LISTED = new DirResult(List.of(), Relisting.NOT_LISTED);
  }

  /**
   * Crawls {@code url} into {@code dir}. A listing becomes a tree; a URL that names a single file gives a
   * tree holding that file.
   */
  public CrawlReport crawl(HttpUrl url, Path dir) throws IOException {
    if (singleFileOnly) {
      if (url.encodedPath().endsWith("/")) {
        throw new IllegalArgumentException("--single-file-mode: " + Redact.url(url) + " ends with '/', so it names a"
            + " directory, not one file; give the file's URL, or leave out --single-file-mode to serve the directory");
      }
      try {
        singleFile(url, client.probe(url), dir);
      } finally {
        progress.done();
      }
      return report();
    }
    HttpUrl origin = withSlash(withoutCredentials(url));
    IndexFetch.Fetched treeIndex = IndexFetch.fetch(client, index, appliedIndex(dir, origin.toString()));
    if (treeIndex.unchanged()) {
      progress.done();
      return new CrawlReport(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, client.requestCount(), 0, true);
    }
    if (treeIndex.body().isPresent()) {
      return fromIndex(treeIndex.body().get(), url, dir, treeIndex.validators());
    }
    ListingVersion applied = appliedRootListing(dir, origin.toString());
    Optional<Page> answer = client.fetchPageIfChanged(url, applied == null ? null : applied.etag(),
        applied == null ? null : applied.lastModified());
    try {
      Fetched fetched = answer.map(p -> new Fetched(p, null)).orElse(Fetched.NOT_MODIFIED);
      if (applied != null && fetched.sameAs(applied)) {
        // The top listing is the one this tree was made from: a listing, not parsed again.
        try (StubTree tree = StubTree.open(dir, origin.toString())) {
          tree.access(access);
          crawlTree(tree, new DirTask(TreePath.root(), url, null, fetched, Ancestry.NONE));
        }
        return report();
      }
      Page page = answer.orElseThrow();
      Optional<Listing> listing = page.html() ? asListing(page) : Optional.empty();
      if (listing.isEmpty()) {
        singleFile(url, page.file(), dir);
      } else {
        try (StubTree tree = StubTree.open(dir, origin.toString())) {
          tree.access(access);
          crawlTree(tree, new DirTask(TreePath.root(), listing.get().url(), null, new Fetched(page, listing.get()),
              Ancestry.NONE));
        }
      }
    } finally {
      progress.done();
    }
    return report();
  }

  /**
   * The listing the root of an existing tree of this origin at {@code dir} was last made from, if it is known;
   * nothing is created or changed by asking.
   */
  private static ListingVersion appliedRootListing(Path dir, String origin) throws IOException {
    if (!java.nio.file.Files.isDirectory(dir)) {
      return null;
    }
    try (Fd root = dev.lazydir.internal.posix.Posix.open(dir.toString(),
        dev.lazydir.internal.posix.Posix.O_RDONLY | dev.lazydir.internal.posix.Posix.O_DIRECTORY)) {
      if (!root.getXattrString(EntryMeta.ORIGIN_XATTR).map(origin::equals).orElse(false)) {
        return null;
      }
      return StubTree.metaOf(root).orElse(null) instanceof DirMeta m && m.listed() && !m.fromIndex()
          ? m.listing() : null;
    }
  }

  /**
   * Makes the whole tree from the origin's tree index (validated before anything is made): no listing at all.
   */
  private CrawlReport fromIndex(byte[] gz, HttpUrl url, Path dir, IndexFetch.Applied validators) throws IOException {
    TreeIndex.validate(gz);
    IndexApplier.Result r;
    try (StubTree tree = StubTree.open(dir, withSlash(withoutCredentials(url)).toString())) {
      tree.access(access);
      tree.root().removeXattr(IndexFetch.APPLIED_XATTR); // a crash while applying leaves no claim it was applied
      r = IndexApplier.applyValidated(gz, tree, clock.instant());
      tree.root().setXattr(IndexFetch.APPLIED_XATTR, validators.encode());
    } finally {
      progress.done();
    }
    return new CrawlReport(r.directories(), r.files(), r.directories(), r.bytes(), r.created(), r.reset(),
        r.refined(), r.removed(), r.unchanged(), r.warnings(), client.requestCount(), 0, false);
  }

  /** The tree index an existing tree of this origin at {@code dir} was made from, if any (nothing is changed). */
  private static IndexFetch.Applied appliedIndex(Path dir, String origin) throws IOException {
    if (!java.nio.file.Files.isDirectory(dir)) {
      return null;
    }
    try (Fd root = dev.lazydir.internal.posix.Posix.open(dir.toString(),
        dev.lazydir.internal.posix.Posix.O_RDONLY | dev.lazydir.internal.posix.Posix.O_DIRECTORY)) {
      if (!root.getXattrString(EntryMeta.ORIGIN_XATTR).map(origin::equals).orElse(false)
          || !(StubTree.metaOf(root).orElse(null) instanceof DirMeta m && m.fromIndex())) {
        return null;
      }
      return IndexFetch.Applied.of(root).orElse(null);
    }
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
    try (StubTree tree = StubTree.open(dir, withoutCredentials(url).toString()); Fd root = tree.openDir(TreePath.root())) {
      tree.access(access);
      tree.sweepTemporaries(root);
      Tally tally = new Tally();
      apply(tree, root, TreePath.root(), file.finalUrl(), entry, new ArrayList<>(), false, tally);
      for (String local : root.list()) {
        if (!local.equals(entry.name()) && !local.startsWith(LocalName.TEMP_PREFIX)) {
          removeVanished(tree, root, TreePath.root(), local, tally);
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
            List<DirTask> next = crawlDir(tree, task, d + 1 < maxDepth).next();
            progress.update(listed.get(), entriesSeen.get(), toGo.decrementAndGet());
            return next;
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

  /** Lists and reconciles one directory; returns the subdirectories to list next and what it changed. */
  private DirResult crawlDir(StubTree tree, DirTask task, boolean descend) throws IOException {
    String where = task.path().toString();
    Tally tally = new Tally();
    DirMeta before;
    try (Fd dir = tree.openDir(task.path())) {
      if (!(StubTree.metaOf(dir).orElse(null) instanceof DirMeta m)) {
        warn(tally, where + "/: not a lazydir directory any more; left as is");
        return DirResult.NOT_LISTED;
      }
      before = m;
    }
    // Only a listing applied whole, to a directory nobody changed since (its mtime is still the one that
    // listing left: a crawl's DIR is the user's), stands for what is on disk.
    ListingVersion applied = before.listed() ? before.listing() : null;
    Fetched fetched = task.prefetched();
    if (fetched == null) {
      try {
        Optional<Page> page = client.fetchPageIfChanged(task.url(), applied == null ? null : applied.etag(),
            applied == null ? null : applied.lastModified());
        fetched = page.map(p -> new Fetched(p, null)).orElse(Fetched.NOT_MODIFIED);
      } catch (OriginException e) {
        warn(tally, where + "/: not listed: " + e.getMessage());
        return DirResult.NOT_LISTED;
      }
    }
    if (applied != null && fetched.sameAs(applied)) {
      DirResult kept = unchanged(tree, task, before, fetched.version(applied), descend);
      if (kept != null) {
        return kept;
      }
    }
    Listing listing = fetched.listing();
    if (listing == null) {
      Page page = fetched.page();
      if (page == null) {
        // a 304 to a request without validators (never sent), or for a directory changed here: ask again
        try {
          page = client.fetchPage(task.url());
        } catch (OriginException e) {
          warn(tally, where + "/: not listed: " + e.getMessage());
          return DirResult.NOT_LISTED;
        }
        fetched = new Fetched(page, null);
      }
      try {
        listing = page.html() ? asListing(page).orElse(null) : null;
      } catch (OriginException e) {
        warn(tally, where + "/: not listed: " + e.getMessage());
        return DirResult.NOT_LISTED;
      }
      if (listing == null) {
        warn(tally, where + "/: the origin answers " + Redact.url(task.url()) + " with a file, not a listing; left unlisted");
        return DirResult.NOT_LISTED;
      }
    }
    listingsParsed.incrementAndGet();
    for (String rejected : listing.rejected()) {
      warn(tally, where + "/: skipped entry " + rejected);
    }
    long warningsBefore = tally.warnings.get(); // entries the listing itself rejects are rejected again next time
    entriesSeen.addAndGet(listing.entries().size());
    byte[] digest = descend ? Ancestry.digestOf(listing) : null; // only a crawl that descends needs it
    Optional<TreePath> same = digest == null ? Optional.empty() : task.above().listed(digest);
    if (same.isPresent()) {
      warn(tally, where + "/: lists the same entries as " + same.get() + "/ above it (a loop on the server?); not descending");
      warningsBefore++;
      descend = false;
    }
    // Only a listing that gives every file's size and time itself stands for its files' versions: where files
    // are probed (bare links, rounded sizes), the same page says nothing about them, and is applied in full.
    boolean selfDescribing = listing.entries().stream().allMatch(RemoteEntry::listingIsEnough);
    listing = inUtc(listing, where);
    Set<String> keep = new HashSet<>();
    List<RemoteEntry> entries = probeWhereNeeded(listing, where, keep, tally);

    List<DirTask> next = new ArrayList<>();
    try (Fd dir = tree.openDir(task.path())) {
      Optional<EntryMeta> own = StubTree.metaOf(dir);
      if (own.isEmpty() || !(own.get() instanceof DirMeta ownMeta)) {
        warn(tally, where + "/: not a lazydir directory any more; left as is");
        return DirResult.NOT_LISTED;
      }
      // Reconciling changes the directory's mtime; keep the origin's (or, if unknown here, the one it had).
      Instant mtime = task.mtime() != null ? task.mtime() : dir.stat().mtime();
      tree.sweepTemporaries(dir);
      // A directory listed for the first time is empty: every entry is new, none needs looking up first.
      boolean fresh = dir.list().isEmpty();
      Set<String> remoteNames = new HashSet<>();
      for (RemoteEntry e : entries) {
        remoteNames.add(e.name());
        apply(tree, dir, task.path(), listing.url(), e, descend ? next : null, fresh, tally);
      }
      for (String local : fresh ? List.<String>of() : dir.list()) {
        if (!remoteNames.contains(local) && !keep.contains(local) && !local.startsWith(LocalName.TEMP_PREFIX)) {
          removeVanished(tree, dir, task.path(), local, tally);
        }
      }
      HttpUrl finalUrl = listing.url().equals(task.url()) ? null : listing.url();
      // A listing applied with a problem (an entry left as is, say) is not recorded as applied: the next listing
      // is applied in full again, whatever the origin says about it.
      ListingVersion version = selfDescribing && tally.warnings.get() == warningsBefore ? fetched.version(applied) : null;
      tree.updateDirMeta(dir, ownMeta.listedAt(clock.instant(), finalUrl == null ? ownMeta.url() : finalUrl.toString()),
          mtime);
      if (version != null) {
        // the mtime as it is now (set above, to the nanosecond the filesystem keeps), with the listing applied
        StubTree.writeDirMeta(dir, ((DirMeta) StubTree.metaOf(dir).orElseThrow()).withListing(version.at(dir.stat().mtime())),
            null);
      }
    }
    listed.incrementAndGet();
    if (!next.isEmpty()) {
      Ancestry above = task.above().below(task.path(), digest);
      next.replaceAll(t -> t.below(above));
    }
    return new DirResult(next, tally.relisting());
  }

  /**
   * A directory whose listing is the one applied last: only its listing time (and version: validators may come
   * new with the same bytes) is recorded, and its origin mtime if its parent's listing gave a new one; no entry
   * is looked at. A crawl that descends finds the subdirectories on disk. Null when the directory changed here
   * since (a crawl's DIR is the user's: an entry removed by hand is made again by a full reconcile).
   */
  private DirResult unchanged(StubTree tree, DirTask task, DirMeta before, ListingVersion version, boolean descend)
      throws IOException {
    List<DirTask> next = new ArrayList<>();
    byte[] digest;
    try (Fd dir = tree.openDir(task.path())) {
      Instant mtime = dir.stat().mtime();
      if (version == null || !mtime.equals(version.dirMtime())) {
        return null;
      }
      if (task.mtime() != null && !task.mtime().equals(mtime)) {
        dir.setMtime(task.mtime()); // its parent's listing gives it another time: the directory's own inode only
        mtime = dir.stat().mtime();
      }
      StubTree.writeDirMeta(dir, before.listedAt(clock.instant(), before.url()).withListing(version.at(mtime)), null);
      HttpUrl base = before.url() != null ? HttpUrl.get(before.url()) : task.url();
      digest = descend ? subdirectories(tree, dir, task.path(), base, next) : null;
    }
    listingsUnchanged.incrementAndGet();
    listed.incrementAndGet();
    if (digest != null) {
      Optional<TreePath> same = task.above().listed(digest);
      if (same.isPresent()) {
        warn(new Tally(), task.path() + "/: lists the same entries as " + same.get() + "/ above it (a loop on the server?); not descending");
        next.clear();
      } else if (!next.isEmpty()) {
        Ancestry above = task.above().below(task.path(), digest);
        next.replaceAll(t -> t.below(above));
      }
    }
    return new DirResult(next, Relisting.UNCHANGED);
  }

  /**
   * The subdirectories of a directory as they are on disk (to list next), and a digest of its entries (as
   * {@link Ancestry#digestOnDisk}: directories by name, files by size and time).
   */
  private byte[] subdirectories(StubTree tree, Fd dir, TreePath path, HttpUrl base, List<DirTask> next)
      throws IOException {
    return Ancestry.digestOnDisk(tree, dir, (name, m) -> {
      TreePath childPath = path.child(name);
      if (childPath.toString().getBytes(StandardCharsets.UTF_8).length <= MAX_RELATIVE_PATH_BYTES) {
        HttpUrl childUrl = m.url() != null ? HttpUrl.get(m.url()) : base.newBuilder()
            .addEncodedPathSegment(m.listedName() != null ? m.listedName() : PercentCodec.canonicalSegment(name))
            .addPathSegment("").build();
        next.add(new DirTask(childPath, childUrl, null, null, null));
      }
    });
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
  private List<RemoteEntry> probeWhereNeeded(Listing listing, String where, Set<String> keep, Tally tally)
      throws IOException {
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
            warn(tally, where + "/" + LocalName.printable(e.name()) + ": the origin gives no size; skipped");
            keep.add(e.name());
            return Optional.empty();
          }
          return Optional.of(e.withFile(file));
        } catch (OriginException ex) {
          warn(tally, where + "/" + LocalName.printable(e.name()) + ": " + ex.getMessage()
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

  private void apply(StubTree tree, Fd dir, TreePath path, HttpUrl dirUrl, RemoteEntry e, List<DirTask> next,
      boolean fresh, Tally tally) throws IOException {
    String where = where(path, e.name());
    StubTree.Entry local = fresh ? StubTree.Entry.ABSENT : tree.inspect(dir, e.name());
    if (local.exists() && !local.ours()) {
      warn(tally, where + ": exists and was not made by lazydir; left as is");
      return;
    }
    if (e.directory()) {
      if (!(local.meta() instanceof DirMeta)) {
        if (local.ours() && !removeForReplacement(tree, dir, e.name(), where, tally)) {
          return;
        }
        tree.createDir(dir, e.name(), FileMetas.unlistedDir(e), e.mtime());
        count(created, tally.created);
      } else {
        count(unchanged, tally.unchanged);
      }
      dirs.incrementAndGet();
      if (next != null) {
        TreePath childPath = path.child(e.name());
        if (childPath.toString().getBytes(StandardCharsets.UTF_8).length > MAX_RELATIVE_PATH_BYTES) {
          warn(tally, where + "/: path longer than " + MAX_RELATIVE_PATH_BYTES + " bytes; not descending (a loop on the server?)");
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
        case UNCHANGED -> count(unchanged, tally.unchanged);
        case REFINE -> {
          tree.refineStub(dir, e.name(), meta, e.mtime());
          count(refined, tally.refined);
        }
        case RESET -> {
          LOG.info(where + ": changed at the origin; reset to a stub");
          tree.resetStub(dir, e.name(), meta, e.mtime());
          count(reset, tally.reset);
        }
      }
    } else {
      if (local.ours() && !removeForReplacement(tree, dir, e.name(), where, tally)) {
        return;
      }
      tree.createStub(dir, e.name(), meta, e.mtime());
      count(created, tally.created);
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

  private boolean removeForReplacement(StubTree tree, Fd dir, String name, String where, Tally tally)
      throws IOException {
    int kept = tree.removeOwned(dir, name);
    if (kept > 0) {
      warn(tally, where + ": changed kind at the origin but holds " + kept + " entries lazydir did not make; left as is");
      return false;
    }
    return true;
  }

  /** An entry of the directory at {@code dir} as messages name it: the path, its last name made printable. */
  private static String where(TreePath dir, String name) {
    return (dir.isRoot() ? "" : dir + "/") + LocalName.printable(name);
  }

  private void removeVanished(StubTree tree, Fd dir, TreePath path, String name, Tally tally)
      throws IOException {
    StubTree.Entry local = tree.inspect(dir, name);
    if (!local.ours()) {
      return; // foreign entries are the user's: never removed
    }
    String where = where(path, name);
    int kept = tree.removeOwned(dir, name);
    if (kept > 0) {
      warn(tally, where + ": gone from the origin, but holds " + kept + " entries lazydir did not make; kept");
    } else {
      LOG.info(where + ": gone from the origin; removed");
      count(removed, tally.removed);
    }
  }

  private void warn(Tally tally, String message) {
    count(warnings, tally.warnings);
    LOG.warning(message);
  }

  private static void count(AtomicLong total, AtomicLong one) {
    total.incrementAndGet();
    one.incrementAndGet();
  }

  private CrawlReport report() {
    return new CrawlReport(listed.get(), files.get(), dirs.get(), bytes.get(), created.get(), reset.get(),
        refined.get(), removed.get(), unchanged.get(), warnings.get(), client.requestCount(), listingsUnchanged.get(),
        false);
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
