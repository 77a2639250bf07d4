/**
 * The daemon behind {@code lazydir serve}: a stub tree in a private store, shown read-only at DIR, filled on
 * demand through one fanotify pre-content group. Two flows, room by room:
 *
 * <pre>
 * event -> bytes (a read, mmap or exec of a file with bytes still to fetch; its inode carries a content mark)
 *   EventLoop       polls the group, takes the event fd's statx once; a FAN_PRE_ACCESS goes straight to
 *                   ContentEvents; answers it exactly once (nothing native again until the answer)
 *   ContentEvents   event fd -> stub (OpenStubs: the cache by inode; a miss opens it, one walk from the root
 *                   giving the directory and the URL), then the range -> ContentFiller; ALLOW, or EIO
 *   ContentFiller   the missing segments of the range: one SegmentFetch per run, shared by its readers; the
 *                   reader waits (bounded) for its own bytes, not the whole segment
 *   SegmentFetch    one stream, on a fetch thread: OriginClient.fetchRange with itself as the sink
 *   OriginClient    the server (origin or mirror), the retries, resumption after the bytes handed over
 *   PlainRangeFetch the range GET on a kept-alive socket; head read and version checked before the body
 *   BodyHandOver    the body into the sink: SegmentFetch.write pwrites through the private clone, marks the
 *                   segments written whole present (StubSegments) and lets the waiting reader in
 *   (beside it: ReadAhead keeps a sequential reader's streams ahead; CacheRoom is charged for the disk; once a
 *   second OpenStubs syncs and records the maps, and a complete file goes native: no content mark)
 *
 * listing -> stubs (an opendir of a directory not listed yet, or due for a refresh; or the namespace crawl)
 *   EventLoop -> OpenEvents -> DirectoryOpens.onOpen      listed once however many openers wait
 *   crawl.Crawler.relist                                    GET the index page if changed (a 304 or the same
 *                                                           bytes: nothing parsed, no entry looked at), parse,
 *                                                           probe what it lacks
 *   tree.StubTree                                           new stubs made nameless, marked (ContentMarks),
 *                                                           renamed into place; changed files get new inodes
 *   DirectoryOpens                                          open ignore mark until the refresh timeout; list
 *                                                           subdirectories ahead
 *   SmallFilePrefetch                                       the directory's small files fetched ahead (also when
 *                                                           one of them is opened by name, over a network)
 *
 * bounds -> eviction (serve --cache-max-size / --min-free-space / --cache-max-age; lazydir evict, pin, unpin)
 *   OpenEvents, ContentFiller      CacheRoom.makeRoom before a stub takes disk; CacheRoom.charged after
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
