package dev.lazydir.serve;

import dev.lazydir.internal.posix.Posix;
import dev.lazydir.tree.EntryMeta.DirMeta;
import dev.lazydir.tree.StubTree;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.logging.Logger;

/**
 * The view's mount at DIR: a private shield, the store's tree bound on it read-only, and their removal. Apart from
 * the daemon's wiring because its rules are about the mount table, not about events: the view is copied to no
 * peer of DIR's mount, the store is not trusted through DIR (no devices, no setuid, no symlinks but a tree index's
 * own), and at stop only mounts this daemon made are unmounted, never whatever DIR shows by then. A crash leaves
 * the mounts to the guard, which detaches DIR ({@link Guard}).
 */
final class ViewMount {
  private static final Logger LOG = Logger.getLogger(ViewMount.class.getName());
  private final Path view;
  /** Whether DIR carries the shield mount, and its unique id. */
  private boolean shielded;
  private long shieldMount;
  private boolean mounted;
  /** The view's mount (its unique id and its short one), to notice a `umount DIR` by hand. */
  private long viewMount = -1;
  private long viewMountShort = -1;

  ViewMount(Path view) {
    this.view = view;
  }

  /** Mounts the store's tree (reached through {@code source}) read-only at DIR under a private shield. */
  void mount(String source, StubTree tree) throws IOException {
    boolean links = StubTree.metaOf(tree.root()).orElse(null) instanceof DirMeta d && d.fromIndex();
    String target = view.toString();
    // The shield: DIR bound onto itself and made private, then the view mounted on it. Mounted straight on DIR,
    // the view would be copied at once to every peer and slave of DIR's mount (a systemd host's / is shared):
    // copies without the daemon's mount mark, writable, that outlive a container killed whole and then read holes
    // as zeros. Under a private shield it is copied nowhere (only the shield is: an empty directory).
    Posix.mount(target, target, null, Posix.MS_BIND);
    shielded = true;
    Posix.mount(null, target, null, Posix.MS_PRIVATE);
    shieldMount = Posix.mountIdOf(target);
    Posix.mount(source, target, null, Posix.MS_BIND);
    mounted = true;
    Posix.mount(null, target, null, Posix.MS_PRIVATE);
    // The store is not trusted: a device node or setuid file planted in it is not honoured through DIR, nor a
    // symlink, unless the tree comes from a tree index: then its links are lazydir's own (made only when they stay
    // inside the tree) and must work, and only root, who can do anything, could plant another in the 0700 store.
    Posix.mount(null, target, null, Posix.MS_REMOUNT | Posix.MS_BIND | Posix.MS_RDONLY
        | (links ? 0 : Posix.MS_NOSYMFOLLOW) | Posix.MS_NODEV | Posix.MS_NOSUID);
    viewMount = Posix.mountIdOf(target);
    viewMountShort = Posix.shortMountIdOf(target);
  }

  /** The shield's unique mount id (the guard detaches DIR only while it is still there). */
  long shieldMount() {
    return shieldMount;
  }

  /**
   * Whether DIR no longer shows this daemon's view although the daemon did not unmount it (a `umount DIR` by
   * hand): nothing is served any more, which {@link ServeSession} turns into a stop. A failure to read the mount
   * table counts as mounted: only a positive finding stops the daemon.
   */
  boolean unmountedByHand() {
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
    try (var lines = Files.lines(Path.of("/proc/self/mountinfo"))) {
      String prefix = viewMountShort + " ";
      return lines.noneMatch(l -> l.startsWith(prefix));
    } catch (IOException | java.io.UncheckedIOException e) {
      return false;
    }
  }

  /** Detaches the view (no new opens through DIR), then the shield: only mounts this daemon made. */
  void unmount() {
    if (mounted && unmountedByHand()) {
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
  }
}
