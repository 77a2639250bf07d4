package dev.lazydir.serve;

import dev.lazydir.fanotify.Fan;
import dev.lazydir.fanotify.FanotifyEvent;
import dev.lazydir.internal.posix.Stat;
import java.io.IOException;
import java.util.logging.Logger;

/**
 * The room of an open event (FAN_OPEN_PERM through DIR's mount mark): a directory goes to {@link DirectoryOpens}
 * (listed on opendir); a file stub with bytes to fetch gets its disk blocks before the opener sees it, within the
 * store's bounds ({@link CacheRoom}), so copiers read it instead of skipping its holes. A complete stub leaves the
 * cache and reads natively from then on. Apart from the content events because it decides about disk, not bytes.
 */
final class OpenEvents implements EventLoop.Handler {
  private static final Logger LOG = Logger.getLogger(OpenEvents.class.getName());
  private final DirectoryOpens directories;
  private final OpenStubs stubs;
  private final CacheRoom room;

  OpenEvents(DirectoryOpens directories, OpenStubs stubs, CacheRoom room) {
    this.directories = directories;
    this.stubs = stubs;
    this.room = room;
  }

  /** Lists a directory on opendir; gives a file stub its blocks so copiers do not skip holes. */
  @Override
  public int handle(FanotifyEvent ev, Stat file) throws IOException {
    LOG.finest(() -> "open event " + ev);
    // The kernel does not set FAN_ONDIR in the mask of a directory's permission event: ask the inode.
    if (file.isDirectory()) {
      return directories.onOpen(ev.fd(), ev.pid());
    }
    for (int attempt = 1; ; attempt++) {
      OpenStub stub = stubs.of(ev.fd(), file);
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
}
