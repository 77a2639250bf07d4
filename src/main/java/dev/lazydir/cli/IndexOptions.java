package dev.lazydir.cli;

import dev.lazydir.index.IndexFetch;
import okhttp3.HttpUrl;
import picocli.CommandLine.Option;

/** --index and --no-index, shared by serve and crawl: where the origin's tree index is, or not to use one. */
final class IndexOptions {
  @Option(names = "--index", paramLabel = "URL",
      description = "the origin's tree index (default: URL/" + dev.lazydir.index.TreeIndex.DEFAULT_NAME
          + ", used when the origin has one); given, it must exist")
  String index;

  @Option(names = "--no-index", description = "do not look for a tree index: list directories from their index pages")
  boolean noIndex;

  /** Where to look for the index, or null for nowhere. */
  IndexFetch.Where where(HttpUrl origin) {
    if (noIndex) {
      if (index != null) {
        throw new IllegalArgumentException("--index and --no-index exclude each other");
      }
      return null;
    }
    return index == null ? new IndexFetch.Where(IndexFetch.defaultUrl(origin), false)
        : new IndexFetch.Where(Cli.parseUrl(index), true);
  }
}
