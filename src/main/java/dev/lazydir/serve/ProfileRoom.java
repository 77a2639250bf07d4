package dev.lazydir.serve;

import dev.lazydir.internal.posix.Fd;
import dev.lazydir.tree.EntryMeta.DirMeta;
import dev.lazydir.tree.StubTree;
import dev.lazydir.tree.TreePath;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * A daemon's access profiles ({@code serve --record-profile}, {@code --profile}): the recorder, written every few
 * seconds while it changes and at stop, and the prefetch of a profile's ranges, each directory on the way listed
 * first. Apart from the daemon's wiring because a profile is an option of its own, started after the daemon runs
 * and stopped before its stubs close; nothing of it is on the path of a reader's event.
 */
final class ProfileRoom implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(ProfileRoom.class.getName());
  static final int WRITE_SECONDS = 5;
  private final StubTree tree;
  private final OpenStubs stubs;
  private final ContentFiller filler;
  private final DirectoryOpens directories;
  private volatile ProfileRecorder recorder;
  private volatile ProfilePrefetch prefetch;

  ProfileRoom(StubTree tree, OpenStubs stubs, ContentFiller filler, DirectoryOpens directories) {
    this.tree = tree;
    this.stubs = stubs;
    this.filler = filler;
    this.directories = directories;
  }

  /** Records which ranges readers ask for into {@code file} from now on, written on {@code timers}. */
  void record(Path file, ScheduledExecutorService timers) {
    ProfileRecorder r = new ProfileRecorder(file);
    recorder = r;
    filler.recordTo(r);
    r.write(true); // a file that cannot be written is named now, not at stop
    timers.scheduleWithFixedDelay(() -> r.write(false), WRITE_SECONDS, WRITE_SECONDS, TimeUnit.SECONDS);
  }

  /** Fetches the profile's ranges in the background, in its order, on {@code streams}; returns at once. */
  void prefetch(AccessProfile profile, int streams, Duration timeout) {
    LOG.info("access profile: " + profile.ranges().size() + " ranges, " + profile.bytes() + " bytes to fetch ahead");
    prefetch = ProfilePrefetch.start(profile, stubs, filler, this::listIfUnlisted, streams, timeout);
  }

  /** Lists a directory of the tree unless it is listed already (a profile's path, maybe ahead of the crawl). */
  private void listIfUnlisted(TreePath path) throws IOException {
    try (Fd dir = tree.openDir(path)) {
      if (StubTree.metaOf(dir).orElse(null) instanceof DirMeta d && d.listed()) {
        return;
      }
    }
    directories.ensureListed(path);
  }

  /** Stops the prefetch and writes the recorder's last ranges. */
  @Override
  public void close() {
    OpenStubs.closeQuietly(prefetch);
    ProfileRecorder r = recorder;
    if (r != null) {
      r.write(true);
    }
  }
}
