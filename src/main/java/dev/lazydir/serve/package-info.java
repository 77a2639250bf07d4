/**
 * The daemon behind {@code lazydir serve}: a stub tree in a private store, shown read-only at DIR, filled on
 * demand through one fanotify pre-content group. Two flows, room by room:
 *
 * <pre>
 * event -> bytes (a read, mmap or exec of a file with bytes still to fetch; its inode carries a content mark)
 *   EventLoop      polls the group, hands the event on, answers it exactly once (ALLOW, or EIO/ENOSPC)
 *   Daemon         onEvent: FAN_PRE_ACCESS -> onContent, FAN_OPEN_PERM -> onOpen
 *   OpenStubs      event fd -> OpenStub (path through the view or the store, inode checked; cached by inode)
 *   ContentFiller  the missing segments of the range: one fetch per segment shared by its readers, read-ahead
 *   origin         OriginClient.fetchRange: range GET, version checked, body handed over as it arrives
 *   OpenStub       pwrite through the private clone, segment marked present; the reader is let in
 *   OpenStubs      once a second: syncfs, then the maps; a complete file goes native (no content mark)
 *
 * listing -> stubs (an opendir of a directory not listed yet, or due for a refresh; or the namespace crawl)
 *   EventLoop -> Daemon.onOpen -> DirectoryOpens.onOpen   listed once however many openers wait
 *   crawl.Crawler.relist                                    GET the index page if changed (a 304 or the same
 *                                                           bytes: nothing parsed, no entry looked at), parse,
 *                                                           probe what it lacks
 *   tree.StubTree                                           new stubs made nameless, marked (ContentMarks),
 *                                                           renamed into place; changed files get new inodes
 *   DirectoryOpens                                          open ignore mark until the refresh timeout; list
 *                                                           subdirectories ahead, fetch small files ahead
 *
 * bounds -> eviction (serve --cache-max-size / --min-free-space / --cache-max-age; lazydir evict, pin, unpin)
 *   Daemon.onOpen, ContentFiller   CacheRoom.makeRoom before a stub takes disk; CacheRoom.charged after
 *   CachePolicy                    usage counter and least-recently-used order (recency: FAN_OPEN notices)
 *   Eviction                       content mark back, write lease, "nothing present" recorded, data punched out
 *   ControlSocket                  STORE/run/control: evict, pin, unpin from the command line
 * </pre>
 *
 * <p>{@code lazydir refresh} reaches the daemon through {@link dev.lazydir.serve.ControlSocket} and runs
 * {@link dev.lazydir.serve.TreeRefresh}: the same single-flight listing, then one HEAD per file with bytes on disk.
 *
 * <p>When the daemon dies or stops, {@link dev.lazydir.serve.Guard} holds a copy of the group and answers EIO to
 * whoever still reads the view; the next daemon takes the group over ({@link dev.lazydir.serve.GroupHandOver}).
 */
package dev.lazydir.serve;
