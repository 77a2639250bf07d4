package dev.lazydir.serve;

import dev.lazydir.fanotify.Fan;
import dev.lazydir.fanotify.FanotifyEvent;
import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Posix;
import dev.lazydir.internal.posix.Stat;
import dev.lazydir.origin.VersionChangedException;
import dev.lazydir.tree.EntryMeta.FileMeta;
import dev.lazydir.tree.StubTree;
import java.io.IOException;
import java.util.function.Consumer;
import java.util.logging.Logger;

/**
 * The room of a content event (FAN_PRE_ACCESS: a read, mmap, exec or copy of a stub with bytes still to fetch):
 * {@link EventLoop} hands it the event, it finds the stub ({@link OpenStubs}), has the range made present
 * ({@link ContentFiller}) and says ALLOW, or throws what the reader is to get (EIO). Its own room so that one
 * content event is followed from poll to answer through few files: loop, this, the stubs, the filler, the origin.
 * Never a file of two versions: a changed file fails the read and has its directory listed again.
 */
final class ContentEvents implements EventLoop.Handler {
  private static final Logger LOG = Logger.getLogger(ContentEvents.class.getName());
  private final StubTree tree;
  private final OpenStubs stubs;
  private final ContentFiller filler;
  private final long segmentSize;
  /** Lists the directory of a stub (by its label) again soon: its file changed at the origin. */
  private final Consumer<String> relistSoon;

  ContentEvents(StubTree tree, OpenStubs stubs, ContentFiller filler, long segmentSize, Consumer<String> relistSoon) {
    this.tree = tree;
    this.stubs = stubs;
    this.filler = filler;
    this.segmentSize = segmentSize;
    this.relistSoon = relistSoon;
  }

  /** Makes the event's range present before the read (or mmap, exec, copy) proceeds. */
  @Override
  public int handle(FanotifyEvent ev, Stat file) throws IOException {
    LOG.finest(() -> "content event " + ev);
    long offset = ev.hasRange() ? ev.offset() : 0;
    long count = ev.hasRange() ? ev.count() : 0;
    for (int attempt = 1; ; attempt++) {
      OpenStub stub = stubs.of(ev.fd(), file);
      if (stub == null) {
        return onOrphan(ev.fd(), file, offset, count);
      }
      try {
        filler.ensure(stub, offset, count);
        return Fan.FAN_ALLOW;
      } catch (VersionChangedException e) {
        // Never a file of two versions: this read fails, and the directory is listed again so that the name
        // gets a new stub of the new version (readers holding this one keep the bytes already fetched).
        relistSoon.accept(stub.label);
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
  private int onOrphan(int eventFd, Stat st, long offset, long count) throws IOException {
    if (st.dev() != tree.device() || !st.isRegularFile()) {
      return Fan.FAN_ALLOW;
    }
    try (Fd fd = Fd.dupOf(eventFd)) {
      if (!(StubTree.metaOf(fd).orElse(null) instanceof FileMeta meta)) {
        return Fan.FAN_ALLOW;
      }
      boolean present = StubSegments.recorded(fd, meta, segmentSize)
          .map(m -> m.covers(offset, count)).orElse(meta.size() == 0);
      if (present) {
        return Fan.FAN_ALLOW;
      }
    }
    throw new Denied(Fan.EIO, Posix.readlink("/proc/self/fd/" + eventFd) + ": changed at the origin while a reader"
        + " held it open; bytes it had not fetched cannot be served; reopen the file to read the new version");
  }
}
