package dev.lazydir.crawl;

import dev.lazydir.internal.posix.Fd;
import dev.lazydir.origin.PercentCodec;
import dev.lazydir.tree.EntryMeta;
import dev.lazydir.tree.EntryMeta.DirMeta;
import dev.lazydir.tree.EntryMeta.FileMeta;
import dev.lazydir.tree.StubTree;
import dev.lazydir.tree.TreeException;
import dev.lazydir.tree.TreePath;
import java.io.IOException;
import okhttp3.HttpUrl;

/**
 * The origin URL of an entry of the tree, derived from the root's origin and each ancestor's metadata: a
 * directory's own final URL when a listing redirected, else parent URL + the listed (or canonical) segment.
 */
public final class TreeUrls {
  private TreeUrls() {}

  public static HttpUrl origin(StubTree tree) throws IOException {
    String origin = tree.root().getXattrString(EntryMeta.ORIGIN_XATTR)
        .orElseThrow(() -> new TreeException(tree.path() + " has no origin recorded"));
    return HttpUrl.get(origin);
  }

  /** Whether the tree holds a single file (crawled from a file URL) rather than a listing. */
  public static boolean singleFile(StubTree tree) throws IOException {
    return !origin(tree).encodedPath().endsWith("/");
  }

  /** The URL of a directory: the root's, then each ancestor's own or its parent's plus its segment. */
  public static HttpUrl dirUrl(StubTree tree, TreePath path) throws IOException {
    HttpUrl start = origin(tree);
    if (StubTree.metaOf(tree.root()).orElse(null) instanceof DirMeta rootMeta && rootMeta.url() != null) {
      start = HttpUrl.get(rootMeta.url());
    }
    HttpUrl[] url = {start};
    try (Fd dir = tree.openDir(path, (name, current) -> {
      DirMeta meta = StubTree.metaOf(current).orElse(null) instanceof DirMeta m ? m : null;
      if (meta == null) {
        throw new TreeException(path + ": not a lazydir directory");
      }
      url[0] = meta.url() != null ? HttpUrl.get(meta.url())
          : url[0].newBuilder().addEncodedPathSegment(segment(name, meta.listedName())).addPathSegment("").build();
    })) {
      return url[0];
    }
  }

  /** The URL of the file {@code name} in the directory at {@code parent}, described by {@code meta}. */
  public static HttpUrl fileUrl(StubTree tree, TreePath parent, String name, FileMeta meta) throws IOException {
    if (parent.isRoot() && singleFile(tree)) {
      return origin(tree);
    }
    return dirUrl(tree, parent).newBuilder().addEncodedPathSegment(segment(name, meta.listedName())).build();
  }

  private static String segment(String name, String listed) {
    return listed != null ? listed : PercentCodec.canonicalSegment(name);
  }
}
