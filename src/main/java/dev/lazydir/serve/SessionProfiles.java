package dev.lazydir.serve;

import dev.lazydir.index.IndexFetch;
import dev.lazydir.origin.OriginClient;
import dev.lazydir.tree.EntryMeta.DirMeta;
import dev.lazydir.tree.StubTree;
import java.io.IOException;
import java.util.logging.Logger;

/**
 * A start's access profiles: the one to record, and the one to prefetch, given as a file, named by URL (fetched and
 * refused at start) or looked for at the origin's default place in the background once the daemon runs (where a
 * missing or unreadable one is a warning, and costs a request only when the tree cannot tell it is absent).
 */
final class SessionProfiles {
  private static final Logger LOG = Logger.getLogger(SessionProfiles.class.getName());

  private SessionProfiles() {}

  /** The profile to prefetch that is known before the daemon starts: given, or named by URL (fetched now). */
  static AccessProfile beforeStart(OriginClient client, ServeSession.Profiles profiles) throws IOException {
    IndexFetch.Where published = profiles.published();
    return profiles.given() != null ? profiles.given()
        : published != null && published.explicit() ? published(client, published) : null;
  }

  /** Records and prefetches as {@code profiles} says, once the daemon runs; {@code profile}: from beforeStart. */
  static void start(Daemon daemon, OriginClient client, StubTree tree, ServeSession.Profiles profiles,
      AccessProfile profile) throws IOException {
    if (profiles.recordTo() != null) {
      daemon.recordProfile(profiles.recordTo());
    }
    IndexFetch.Where published = profiles.published();
    if (profile != null) {
      daemon.prefetchProfile(profile);
    } else if (published != null && !published.explicit() && mayPublish(tree)) {
      Thread ask = new Thread(() -> {
        try {
          AccessProfile p = published(client, published);
          if (p != null) {
            daemon.prefetchProfile(p);
          }
        } catch (IOException | RuntimeException e) {
          LOG.fine("access profile: " + e.getMessage());
        }
      }, "lazydir-profile-fetch");
      ask.setDaemon(true);
      ask.start();
    }
  }

  /**
   * Whether the origin may publish a profile at the default place: a tree made from a tree index says (the index
   * lists the profile like any file beside it), so only a tree from listings (where nginx hides dotfiles) costs a
   * request to find out.
   */
  private static boolean mayPublish(StubTree tree) throws IOException {
    boolean fromIndex = StubTree.metaOf(tree.root()).orElse(null) instanceof DirMeta d && d.fromIndex();
    return !fromIndex || tree.root().statAt(AccessProfile.DEFAULT_NAME).isPresent();
  }

  /**
   * The access profile the origin publishes, or null if it has none (404 or 410 at the default place). One named
   * with {@code --prefetch-profile URL} must be there and valid; at the default place another failure, or a profile
   * that does not read, is a warning and nothing is prefetched.
   */
  private static AccessProfile published(OriginClient client, IndexFetch.Where where) throws IOException {
    if (where == null) {
      return null;
    }
    String name = dev.lazydir.origin.Redact.url(where.url());
    try {
      java.util.Optional<byte[]> body = client.fetchSmallFile(where.url(), AccessProfile.MAX_BYTES);
      if (body.isEmpty()) {
        if (where.explicit()) {
          throw new IOException("--prefetch-profile " + name + ": not found at the origin");
        }
        return null;
      }
      return AccessProfile.parse(body.get(), name);
    } catch (IOException e) {
      if (where.explicit()) {
        throw e;
      }
      LOG.warning("access profile " + name + ": " + e.getMessage() + "; nothing is fetched ahead");
      return null;
    }
  }
}
