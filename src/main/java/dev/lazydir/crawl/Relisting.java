package dev.lazydir.crawl;

/**
 * What listing one directory did to it, for {@code lazydir refresh} and the daemon's log: whether it was listed
 * at all, whether the listing was the one already applied ({@code unchanged}: a 304, or the same bytes again,
 * so nothing was parsed and no entry was looked at), and what changed below it.
 *
 * @param replaced files that became new empty stubs of a new version (the old inode is kept by its readers)
 */
public record Relisting(boolean listed, boolean unchanged, long created, long replaced, long removed,
    long warnings) {
  public static final Relisting NOT_LISTED = new Relisting(false, false, 0, 0, 0, 1);
  static final Relisting UNCHANGED = new Relisting(true, true, 0, 0, 0, 0);
}
