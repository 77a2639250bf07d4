package dev.lazydir.crawl;

/**
 * What a crawl did, for the summary line and for tests. {@code listingsUnchanged}: directories whose listing was
 * the one applied last (a 304, or the same bytes), so nothing in them was looked at; their entries are not counted
 * in {@code files}, {@code directories}, {@code bytes} or {@code unchanged}. {@code indexUnchanged}: the tree index
 * the tree was made from is still the origin's (a 304), so nothing was done at all.
 */
public record CrawlReport(long directoriesListed, long files, long directories, long bytes, long created,
    long reset, long refined, long removed, long unchanged, long warnings, long requests, long listingsUnchanged,
    boolean indexUnchanged) {

  public String summary() {
    if (indexUnchanged) {
      return "the tree index is unchanged since it was applied (the origin answered 304): nothing to do; "
          + requests + " HTTP request" + (requests == 1 ? "" : "s");
    }
    return "listed " + directoriesListed + " directories"
        + (listingsUnchanged > 0 ? " (" + listingsUnchanged + " unchanged since the last crawl, not read again)" : "")
        + ": " + files + " files (" + bytes + " bytes), "
        + directories + " directories; " + created + " created, " + reset + " reset, " + refined + " refined, "
        + removed + " removed, " + unchanged + " unchanged; " + requests + " HTTP requests"
        + (warnings > 0 ? "; " + warnings + " warnings" : "");
  }
}
