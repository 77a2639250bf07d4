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
    Walk urls = new Walk(tree, path);
    try (Fd dir = tree.openDir(path, urls)) {
      return urls.dirUrl();
    }
  }

  /**
   * The URLs of a walk from the root ({@link StubTree#openDir(TreePath, StubTree.Step)}) as it goes: the
   * directory it reached, and a file in it. One walk opens a directory and names its URL (a stub opened for
   * filling needs both), instead of a second walk from the root for the URL.
   */
  public static final class Walk implements StubTree.Step {
    private final StubTree tree;
    private final TreePath path;
    private HttpUrl url;
    private boolean below;

    /** A walk to {@code path} (named in errors); the URL starts at the root's. */
    public Walk(StubTree tree, TreePath path) throws IOException {
      this.tree = tree;
      this.path = path;
      HttpUrl start = origin(tree);
      if (StubTree.metaOf(tree.root()).orElse(null) instanceof DirMeta rootMeta && rootMeta.url() != null) {
        start = HttpUrl.get(rootMeta.url());
      }
      this.url = start;
    }

    @Override
    public void entered(String name, Fd current) throws IOException {
      DirMeta meta = StubTree.metaOf(current).orElse(null) instanceof DirMeta m ? m : null;
      if (meta == null) {
        throw new TreeException(path + ": not a lazydir directory");
      }
      url = meta.url() != null ? HttpUrl.get(meta.url())
          : url.newBuilder().addEncodedPathSegment(segment(name, meta.listedName())).addPathSegment("").build();
      below = true;
    }

    /** The URL of the directory the walk has reached. */
    public HttpUrl dirUrl() {
      return url;
    }

    /** The URL of the file {@code name} in the directory the walk has reached, described by {@code meta}. */
    public HttpUrl fileUrl(String name, FileMeta meta) throws IOException {
      if (!below && singleFile(tree)) {
        return origin(tree);
      }
      return url.newBuilder().addEncodedPathSegment(segment(name, meta.listedName())).build();
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
