package dev.lazydir.crawl;

/** What a crawl did, for the summary line and for tests. */
public record CrawlReport(long directoriesListed, long files, long directories, long bytes, long created,
    long reset, long refined, long removed, long unchanged, long warnings, long requests) {

  public String summary() {
    return "listed " + directoriesListed + " directories: " + files + " files (" + bytes + " bytes), "
        + directories + " directories; " + created + " created, " + reset + " reset, " + refined + " refined, "
        + removed + " removed, " + unchanged + " unchanged; " + requests + " HTTP requests"
        + (warnings > 0 ? "; " + warnings + " warnings" : "");
  }
}
