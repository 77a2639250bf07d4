package dev.lazydir.serve;

import dev.lazydir.testing.FakeOrigin.Fault;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.testing.Commands.Result;
import dev.lazydir.testing.FakeOrigin;
import dev.lazydir.testing.LocalTree;
import java.nio.charset.StandardCharsets;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `lazydir serve` on a real kernel: readers are real programs (ls, cat, sha256sum, tar, cp, python mmap, a
 * script) reading through the view; the origin is in-process so requests can be counted and faults injected.
 */
class ServeTest {
  static final Instant T = Instant.parse("2024-06-01T12:34:56Z");
  static final Map<String, byte[]> FILES = new LinkedHashMap<>();
  @TempDir static Path shared;
  @TempDir Path tmp;
  FakeOrigin origin;
  ServeBed bed;

  @BeforeAll
  static void content() throws Exception {
    Random r = new Random(11);
    byte[] random = new byte[20 << 20];
    r.nextBytes(random);
    FILES.put("/README.txt", "served by a test origin\n".getBytes(StandardCharsets.UTF_8));
    FILES.put("/data/random.bin", random);
    byte[] small = new byte[300_000];
    r.nextBytes(small);
    FILES.put("/data/small.bin", small);
    FILES.put("/bin/hello.sh", "#!/bin/sh\necho hello from the view\n".getBytes(StandardCharsets.UTF_8));
    FILES.put("/deep/a/b/c/d/e/f/g/h/treasure.txt", "eight levels down\n".getBytes(StandardCharsets.UTF_8));
    FILES.put("/names/with space & ünï.txt", "tricky\n".getBytes(StandardCharsets.UTF_8));
    // A real gzip'd tar of incompressible members, so its bytes arrive as slowly as the origin sends them.
    Path src = shared.resolve("tarsrc");
    Files.createDirectories(src);
    for (int i = 0; i < 48; i++) {
      byte[] member = new byte[512 * 1024];
      r.nextBytes(member);
      Files.write(src.resolve(String.format("member-%02d.bin", i)), member);
    }
    ServeBed.run(60, "tar", "czf", shared.resolve("big.tar.gz").toString(), "-C", src.toString(), ".");
    FILES.put("/archive/big.tar.gz", Files.readAllBytes(shared.resolve("big.tar.gz")));
  }

  @BeforeEach
  void setUp() throws Exception {
    origin = new FakeOrigin();
    FILES.forEach((p, b) -> origin.file(p, b, T));
    origin.file("/errors/broken.bin", new byte[1000], T).file("/errors/gone.bin", new byte[1000], T);
    origin.fault("/errors/broken.bin", Fault.status(500).on("GET"));
    origin.fault("/errors/gone.bin", Fault.status(404).on("GET"));
    bed = new ServeBed(tmp);
  }

  @AfterEach
  void tearDown() throws Exception {
    bed.close();
    origin.close();
  }

  Path v(String originPath) {
    return bed.view.resolve(originPath.substring(1));
  }

  static String sha256(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }

  @Test
  void lsShowsTheTreeAndEveryFileReadsAsTheOriginsBytes() throws Exception {
    bed.serve(origin.url("/").toString());
    Result ls = ServeBed.run(60, "ls", "-lR", bed.view.toString());
    assertEquals(0, ls.exit(), ls.err());
    assertTrue(ls.text().contains("treasure.txt") && ls.text().contains("with space & ünï.txt"), ls.text());
    for (Map.Entry<String, byte[]> f : FILES.entrySet()) {
      Result sum = ServeBed.run(60, "sha256sum", v(f.getKey()).toString());
      assertEquals(0, sum.exit(), f.getKey() + ": " + sum.err());
      assertEquals(sha256(f.getValue()), sum.text().split(" ")[0], f.getKey());
      Result cat = ServeBed.run(60, "cat", v(f.getKey()).toString());
      assertArrayEquals(f.getValue(), cat.out(), f.getKey());
    }
    assertEquals(FILES.get("/data/random.bin").length, Files.size(v("/data/random.bin")));
    assertEquals(T, Files.getLastModifiedTime(v("/data/random.bin")).toInstant(), "origin mtime after filling");
  }

  @Test
  void tarListsItsFirstEntryLongBeforeTheBodyIsDown() throws Exception {
    byte[] tgz = FILES.get("/archive/big.tar.gz");
    origin.fault("/archive/big.tar.gz", Fault.drip(256 * 1024, 100)); // 2.5 MB/s: the whole file takes ~10 s
    bed.serve(origin.url("/").toString(), "--dl-seg-size", "1");
    Result head = ServeBed.sh(60, "ls " + bed.view + "/archive >/dev/null; tar tzf " + bed.view
        + "/archive/big.tar.gz | head -1");
    assertEquals(0, head.exit(), head.err());
    assertEquals("./", head.text().split("\n")[0], "the archive's first entry");
    SegmentMap segments = recordedMap("/archive/big.tar.gz");
    assertFalse(segments.isComplete(), "tar printed its first entry before the file was down");
    assertTrue(segments.presentBytes() < tgz.length / 2, "fetched " + segments.presentBytes() + " of " + tgz.length);
  }

  @Test
  void copiesOfUnpopulatedAndHalfPopulatedFilesAreExact() throws Exception {
    bed.serve(origin.url("/").toString(), "--dl-seg-size", "1", "--readahead", "0", "--prefetch-small", "0");
    Path copy1 = tmp.resolve("copy1");
    assertEquals(0, ServeBed.run(60, "cp", v("/data/small.bin").toString(), copy1.toString()).exit());
    assertArrayEquals(FILES.get("/data/small.bin"), Files.readAllBytes(copy1), "a copy of a file never read");

    Result half = ServeBed.sh(60, "head -c 1500000 '" + v("/data/random.bin") + "' > /dev/null");
    assertEquals(0, half.exit(), half.err());
    SegmentMap map = recordedMap("/data/random.bin");
    assertTrue(map.presentBytes() > 0 && !map.isComplete(), "two of twenty segments are here: " + map.presentBytes());
    Path copy2 = tmp.resolve("copy2");
    assertEquals(0, ServeBed.run(60, "cp", v("/data/random.bin").toString(), copy2.toString()).exit());
    assertArrayEquals(FILES.get("/data/random.bin"), Files.readAllBytes(copy2), "a copy of a half-fetched file");
  }

  /** The segment map the daemon recorded for a file, once it has (it records once a second). */
  SegmentMap recordedMap(String originPath) throws Exception {
    Path stub = bed.store.resolve("tree" + originPath);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (true) {
      java.util.Optional<byte[]> map = LocalTree.xattrBytes(stub, "user.lazydir.map");
      byte[] meta = LocalTree.xattrBytes(stub, "user.lazydir").orElseThrow();
      var fileMeta = (dev.lazydir.tree.EntryMeta.FileMeta) dev.lazydir.tree.EntryMeta.decode(meta).orElseThrow();
      if (map.isPresent()) {
        return SegmentMap.decode(map.get(), fileMeta.size(), SegmentMap.tagOf(fileMeta)).orElseThrow();
      }
      assertTrue(System.nanoTime() < deadline, originPath + ": no segment map recorded within 10 s");
      Thread.sleep(100);
    }
  }

  @Test
  void mmapReadsTheOriginsBytes() throws Exception {
    bed.serve(origin.url("/").toString());
    ServeBed.run(30, "ls", v("/data").toString());
    Result r = ServeBed.run(60, "python3", "-c", "import mmap,hashlib,sys\n"
        + "f=open(sys.argv[1],'rb'); m=mmap.mmap(f.fileno(),0,prot=mmap.PROT_READ)\n"
        + "print(hashlib.sha256(m[:]).hexdigest())", v("/data/random.bin").toString());
    assertEquals(0, r.exit(), r.err());
    assertEquals(sha256(FILES.get("/data/random.bin")), r.text().trim());
  }

  @Test
  void programsRunFromTheView() throws Exception {
    bed.serve(origin.url("/").toString(), "--file-mode", "0755");
    ServeBed.run(30, "ls", v("/bin").toString());
    Result r = ServeBed.run(30, v("/bin/hello.sh").toString());
    assertEquals(0, r.exit(), r.err());
    assertEquals("hello from the view", r.text().trim());
  }

  @Test
  void aDeepPathReadsRightAfterReadyWithoutOpeningItsAncestors() throws Exception {
    Process daemon = bed.serve(origin.url("/").toString());
    // What a user or a benchmark that knows nothing of lazydir does first.
    Result cat = ServeBed.run(30, "cat", v("/deep/a/b/c/d/e/f/g/h/treasure.txt").toString());
    assertEquals(0, cat.exit(), cat.err());
    assertEquals("eight levels down\n", cat.text());
    Result head = ServeBed.run(30, "head", "-c", "100", v("/data/random.bin").toString());
    assertArrayEquals(java.util.Arrays.copyOf(FILES.get("/data/random.bin"), 100), head.out());
    int listings = listingRequests();
    assertTrue(listings >= 12, "every directory was listed before ready: " + listings);
    assertEquals(0, bed.stop(daemon));

    bed.serve(origin.url("/").toString()); // a restart is ready from the stored tree: no listing is fetched again
    assertEquals("eight levels down\n", ServeBed.run(30, "cat", v("/deep/a/b/c/d/e/f/g/h/treasure.txt").toString())
        .text());
    assertEquals(listings, listingRequests(), "no listing asked of the origin again after a restart");
  }

  @Test
  void populateMakesADeepPathAppear() throws Exception {
    bed.serve(origin.url("/").toString(), "--lazy-dirs");
    Path deep = v("/deep/a/b/c/d/e/f/g/h/treasure.txt");
    assertFalse(Files.exists(deep), "no lookup event: unlisted ancestors hide the path");
    Result pop = ServeBed.run(60, Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), "dev.lazydir.cli.Main", "populate", "--content", deep.toString());
    assertEquals(0, pop.exit(), pop.err());
    assertEquals("eight levels down\n", Files.readString(bed.store.resolve("tree/deep/a/b/c/d/e/f/g/h/treasure.txt")),
        "--content fetched the bytes into the store");
    assertEquals("eight levels down\n", ServeBed.run(30, "cat", deep.toString()).text());
  }

  @Test
  void withLazyDirectoriesWaitReturnsOnceTheBackgroundCrawlHasListedEverything() throws Exception {
    // A listing deep down held until the test lets it go: the crawl is still running at ready, and wait waits.
    FakeOrigin.Hold held = origin.fault("/deep/a/b/c/d/", FakeOrigin.Fault.hold().on("GET"));
    bed.serve(origin.url("/").toString(), "--lazy-dirs", "--crawl");
    Path deep = v("/deep/a/b/c/d/e/f/g/h/treasure.txt");
    assertFalse(Files.exists(deep), "ready came before the crawl got down there");

    java.util.concurrent.CompletableFuture<Result> wait = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
      try {
        return lazydir("wait", "--store", bed.store.toString(), bed.view.toString());
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    assertTrue(held.awaitHeld(1), "the crawl reached the held listing");
    held.release(); // wait cannot have returned complete: four levels below this one were still to list

    Result done = wait.get(60, java.util.concurrent.TimeUnit.SECONDS);
    assertEquals(0, done.exit(), done.err());
    assertTrue(done.text().startsWith("namespace complete: "), done.text());
    assertTrue(Files.exists(deep), "serve --crawl listed down to the deep file");
  }

  @Test
  void waitSaysWhenNothingListsTheWholeNamespace() throws Exception {
    bed.serve(origin.url("/").toString(), "--lazy-dirs");
    Result wait = lazydir("wait", "--store", bed.store.toString(), bed.view.toString());
    assertEquals(1, wait.exit());
    assertTrue(wait.err().contains("--lazy-dirs and without --crawl"), wait.err());
  }

  @Test
  void writesTruncatesAndOTruncAreRefusedAndChangeNothing() throws Exception {
    bed.serve(origin.url("/").toString());
    Path readme = v("/README.txt");
    Result write = ServeBed.sh(10, "echo x >> '" + readme + "'");
    assertNotEquals(0, write.exit());
    assertTrue(write.err().contains("Read-only file system"), write.err());
    Result trunc = ServeBed.run(10, "truncate", "-s", "0", readme.toString());
    assertNotEquals(0, trunc.exit());
    Result otrunc = ServeBed.run(10, "python3", "-c", "import os,sys; os.open(sys.argv[1], os.O_WRONLY|os.O_TRUNC)",
        readme.toString());
    assertNotEquals(0, otrunc.exit());
    assertTrue(otrunc.err().contains("Read-only file system"), otrunc.err());
    assertArrayEquals(FILES.get("/README.txt"), ServeBed.run(10, "cat", readme.toString()).out());
  }

  @Test
  void originFailuresBecomeErrnosNeverZeros() throws Exception {
    bed.serve(origin.url("/").toString());
    ServeBed.run(30, "ls", v("/errors").toString());
    for (String p : new String[] {"/errors/broken.bin", "/errors/gone.bin"}) {
      Result cat = ServeBed.run(30, "cat", v(p).toString());
      assertNotEquals(0, cat.exit(), p);
      assertTrue(cat.err().contains("Input/output error"), p + ": " + cat.err());
      assertEquals(0, cat.out().length, p + ": no bytes handed out");
    }
  }

  @Test
  void killedDaemonLeavesNoZerosBehind() throws Exception {
    Process daemon = bed.serve(origin.url("/").toString());
    ServeBed.run(30, "ls", v("/data").toString());
    daemon.destroyForcibly();
    daemon.waitFor(10, TimeUnit.SECONDS);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (bed.viewMounted() && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    assertFalse(bed.viewMounted(), "the guard detached the view");
    Result cat = ServeBed.run(10, "cat", v("/data/random.bin").toString());
    assertNotEquals(0, cat.exit());
    assertEquals(0, cat.out().length, "no zeros handed out");
    assertTrue(cat.err().contains("No such file"), cat.err());
  }

  @Test
  void restartResumesWithoutFetchingAgain() throws Exception {
    Process first = bed.serve(origin.url("/").toString());
    ServeBed.run(30, "ls", v("/data").toString());
    assertArrayEquals(FILES.get("/data/random.bin"), ServeBed.run(60, "cat", v("/data/random.bin").toString()).out());
    assertEquals(0, bed.stop(first), "SIGTERM is a clean stop");
    assertFalse(bed.viewMounted(), "a stopped daemon leaves no mount");
    int gets = origin.count("GET", "/data/random.bin");
    int listings = origin.count("GET", "/data/");
    bed.serve(origin.url("/").toString());
    ServeBed.run(30, "ls", v("/data").toString());
    assertArrayEquals(FILES.get("/data/random.bin"), ServeBed.run(60, "cat", v("/data/random.bin").toString()).out());
    assertEquals(gets, origin.count("GET", "/data/random.bin"), "nothing fetched again");
    assertEquals(listings, origin.count("GET", "/data/"), "a fresh listing is not fetched again either");
  }

  @Test
  void restartInTheMiddleOfAFileServesTheRestExactly() throws Exception {
    Process first = bed.serve(origin.url("/").toString(), "--readahead", "0", "--prefetch-small", "0");
    assertEquals(0, ServeBed.sh(30, "head -c 100000 '" + v("/data/random.bin") + "' > /dev/null").exit());
    assertEquals(0, bed.stop(first));
    long sentBefore = origin.bodyBytesSent();
    bed.serve(origin.url("/").toString(), "--prefetch-small", "0");
    assertArrayEquals(FILES.get("/data/random.bin"), ServeBed.run(60, "cat", v("/data/random.bin").toString()).out(),
        "the part fetched before the restart and the part after, no holes read as zeros");
    assertEquals(FILES.get("/data/random.bin").length - (4 << 20), origin.bodyBytesSent() - sentBefore,
        "after the restart only what was not fetched before (all but the first 4 MiB segment)");
  }

  @Test
  void aCompleteFileHasNoContentMarkLeftSoItsReadsBypassTheDaemon() throws Exception {
    Process daemon = bed.serve(origin.url("/").toString(), "--prefetch-small", "0");
    ServeBed.run(30, "ls", v("/data").toString());
    long small = inode(bed.store.resolve("tree/data/small.bin"));
    long random = inode(bed.store.resolve("tree/data/random.bin"));
    assertTrue(contentMarkedInodes(daemon).containsAll(java.util.List.of(small, random)), "stubs to fetch are marked");
    assertArrayEquals(FILES.get("/data/small.bin"), ServeBed.run(30, "cat", v("/data/small.bin").toString()).out());
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (contentMarkedInodes(daemon).contains(small) && System.nanoTime() < deadline) {
      Thread.sleep(100);
    }
    java.util.Set<Long> marked = contentMarkedInodes(daemon);
    assertFalse(marked.contains(small), "the complete file lost its content mark");
    assertTrue(marked.contains(random), "the file still to fetch keeps its mark");
    int events = origin.count("GET", "/data/small.bin");
    assertArrayEquals(FILES.get("/data/small.bin"), ServeBed.run(30, "cat", v("/data/small.bin").toString()).out());
    assertEquals(events, origin.count("GET", "/data/small.bin"));
  }

  static long inode(Path p) throws Exception {
    return ((Number) Files.getAttribute(p, "unix:ino")).longValue();
  }

  /** Inodes on which the daemon holds a FAN_PRE_ACCESS mark, read from its fanotify fds' fdinfo. */
  static java.util.Set<Long> contentMarkedInodes(Process daemon) throws Exception {
    java.util.Set<Long> inodes = new java.util.HashSet<>();
    try (var fds = Files.list(Path.of("/proc", Long.toString(daemon.pid()), "fdinfo"))) {
      for (Path info : (Iterable<Path>) fds::iterator) {
        String text;
        try {
          text = Files.readString(info);
        } catch (java.io.IOException e) {
          continue; // closed meanwhile
        }
        for (String line : text.split("\n")) {
          var m = java.util.regex.Pattern.compile("^fanotify ino:([0-9a-f]+) .* mask:([0-9a-f]+) ").matcher(line);
          if (m.find() && (Long.parseLong(m.group(2), 16) & 0x00100000L) != 0) {
            inodes.add(Long.parseLong(m.group(1), 16));
          }
        }
      }
    }
    return inodes;
  }

  @Test
  void aSymlinkPlantedInTheStoreIsNeverFollowedThroughTheView() throws Exception {
    bed.serve(origin.url("/").toString());
    ServeBed.run(30, "ls", v("/data").toString());
    Path secret = Files.writeString(bed.root.resolve("secret.txt"), "not for the view\n");
    Files.createSymbolicLink(bed.store.resolve("tree/data/planted"), secret);

    Result cat = ServeBed.run(10, "cat", v("/data/planted").toString());

    assertNotEquals(0, cat.exit());
    assertEquals(0, cat.out().length, "nothing of the link's target");
    assertTrue(cat.err().contains("Too many levels of symbolic links"), cat.err());
    // The topmost mount at DIR (mountinfo lists later mounts later): the view, over the shield under it.
    String options = Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
        .filter(l -> l.split(" ")[4].equals(bed.view.toString())).reduce((a, b) -> b).orElseThrow().split(" ")[5];
    for (String o : new String[] {"ro", "nosuid", "nodev", "nosymfollow"}) {
      assertTrue(java.util.Arrays.asList(options.split(",")).contains(o), "the view is mounted " + o + ": " + options);
    }
  }

  @Test
  void aDeviceNodePlantedInTheStoreIsNeverOpenedThroughTheView() throws Exception {
    bed.serve(origin.url("/").toString());
    ServeBed.run(30, "ls", v("/data").toString());
    assertEquals(0, ServeBed.run(10, "mknod", bed.store.resolve("tree/data/planted-null").toString(), "c", "1", "3")
        .exit());

    Result dev = ServeBed.run(10, "sh", "-c", "echo x > '" + v("/data/planted-null") + "'");

    assertNotEquals(0, dev.exit(), "a planted device node is not reachable through the view (nodev)");
    assertTrue(dev.err().contains("Permission denied"), dev.err());
  }

  @Test
  void listingADirectoryAgainWhileItsFileIsBeingFetchedNeverBreaksTheReader() throws Exception {
    origin.fault("/data/random.bin", Fault.drip(128 * 1024, 50)); // ~2.6 MB/s a request, two at a time: ~4 s for 20 MiB
    // Two at a time: more streams (the default --max-conns) would have the file down before it is listed again.
    bed.serve(origin.url("/").toString(), "--refresh-timeout", "1", "--dl-seg-size", "1", "--readahead", "1",
        "--max-conns", "2");
    ServeBed.run(30, "ls", v("/data").toString());
    CompletableFuture<Result> cat = CompletableFuture.supplyAsync(() -> {
      try {
        return ServeBed.run(120, "cat", v("/data/random.bin").toString());
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    int relisted = 0;
    while (!cat.isDone()) {
      Thread.sleep(1100); // past the refresh timeout: the next open lists /data again and lets go of its stubs
      ServeBed.run(30, "ls", v("/data").toString());
      relisted++;
    }
    Result r = cat.get();
    assertEquals(0, r.exit(), r.err());
    assertArrayEquals(FILES.get("/data/random.bin"), r.out());
    assertTrue(relisted >= 2, "the directory was listed again while the file was fetched (" + relisted + ")");
    assertTrue(origin.count("GET", "/data/") >= 3, "listings: " + origin.count("GET", "/data/"));
  }

  @Test
  void readingTheStoreDirectlyFillsItToo() throws Exception {
    bed.serve(origin.url("/").toString());
    ServeBed.run(30, "ls", v("/data").toString());
    assertArrayEquals(FILES.get("/data/random.bin"),
        ServeBed.run(60, "cat", bed.store.resolve("tree/data/random.bin").toString()).out());
  }

  @Test
  void aReaderHoldingAFileThatChangedAtTheOriginGetsOldBytesOrAnErrorNeverZerosOrNewBytes() throws Exception {
    bed.serve(origin.url("/").toString(), "--refresh-timeout", "1", "--readahead", "0");
    ServeBed.run(30, "ls", v("/data").toString());
    byte[] old = FILES.get("/data/random.bin");
    byte[] changed = new byte[old.length];
    new Random(7).nextBytes(changed);
    try (java.nio.channels.FileChannel held = java.nio.channels.FileChannel.open(v("/data/random.bin"))) {
      java.nio.ByteBuffer head = java.nio.ByteBuffer.allocate(4096);
      held.read(head, 0);
      assertArrayEquals(java.util.Arrays.copyOf(old, 4096), head.array());
      origin.file("/data/random.bin", changed, T.plusSeconds(3600));
      Thread.sleep(1500);
      ServeBed.run(30, "ls", v("/data").toString()); // listed again: the file is replaced by a new stub
      java.nio.ByteBuffer tail = java.nio.ByteBuffer.allocate(4096);
      long at = old.length - 8192;
      java.nio.ByteBuffer headAgain = java.nio.ByteBuffer.allocate(4096);
      held.read(headAgain, 0);
      assertArrayEquals(java.util.Arrays.copyOf(old, 4096), headAgain.array(),
          "what it had fetched of its version reads again after the replacement");
      try {
        held.read(tail, at);
        assertArrayEquals(java.util.Arrays.copyOfRange(old, (int) at, (int) at + 4096), tail.array(),
            "a held file gives its own version's bytes");
      } catch (java.io.IOException e) {
        assertTrue(String.valueOf(e.getMessage()).contains("Input/output error"), e.toString());
      }
    }
    assertArrayEquals(changed, ServeBed.run(60, "cat", v("/data/random.bin").toString()).out(), "opened anew: the new version");
  }

  @Test
  void twoReadersWaitingForOneSegmentTogetherCauseOneFetch() throws Exception {
    FakeOrigin.Hold held = origin.fault("/data/small.bin", Fault.hold().on("GET")); // until both readers wait
    bed.serve(origin.url("/").toString(), "--readahead", "0", "--prefetch-small", "0");
    String[] reader = {"python3", "-c", "import sys; sys.stdout.buffer.write(open(sys.argv[1], 'rb').read(100))",
        v("/data/small.bin").toString()};
    Process a = new ProcessBuilder(reader).start();
    assertTrue(held.awaitHeld(1), "the first reader's segment was asked for");
    Process b = new ProcessBuilder(reader).start();
    awaitBlockedInFanotify(b);
    held.release();
    for (Process p : new Process[] {a, b}) {
      assertTrue(p.waitFor(30, TimeUnit.SECONDS));
      assertArrayEquals(java.util.Arrays.copyOf(FILES.get("/data/small.bin"), 100), p.getInputStream().readAllBytes());
    }
    assertEquals(1, origin.count("GET", "/data/small.bin"), "the second reader joined the first one's fetch");
  }

  /** Waits until a process sleeps in the kernel waiting for a fanotify answer (its wchan names fanotify). */
  static void awaitBlockedInFanotify(Process p) throws Exception {
    Path wchan = Path.of("/proc/" + p.pid() + "/wchan");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    String seen = "";
    while (System.nanoTime() < deadline && p.isAlive()) {
      seen = Files.readString(wchan);
      if (seen.contains("fanotify") || seen.contains("fsnotify")) {
        return;
      }
      Thread.sleep(10);
    }
    throw new AssertionError("pid " + p.pid() + " never waited for a fanotify answer (wchan " + seen + ")");
  }

  @Test
  void secondDaemonOnTheSameStoreIsRefused() throws Exception {
    bed.serve(origin.url("/").toString());
    Result second = ServeBed.run(30, Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), "dev.lazydir.cli.Main", "serve", "--store",
        bed.store.toString(), origin.url("/").toString(), tmp.resolve("other").toString());
    assertEquals(1, second.exit());
    assertTrue(second.err().contains("another lazydir serve"), second.err());
  }

  @Test
  void listedDirectoriesStayListedUntilTheRefreshTimeout() throws Exception {
    bed.serve(origin.url("/").toString(), "--refresh-timeout", "2");
    assertFalse(ServeBed.run(30, "ls", v("/data").toString()).text().contains("new.txt"));
    origin.file("/data/new.txt", "new", T);
    int listings = origin.count("GET", "/data/");
    assertFalse(ServeBed.run(30, "ls", v("/data").toString()).text().contains("new.txt"), "still the first listing");
    assertEquals(listings, origin.count("GET", "/data/"), "a fresh listing costs no request");
    Thread.sleep(2500);
    assertTrue(ServeBed.run(30, "ls", v("/data").toString()).text().contains("new.txt"), "listed again after 2 s");
  }

  @Test
  void aFileChangedAtTheOriginIsServedAnewAfterTheRefresh() throws Exception {
    bed.serve(origin.url("/").toString(), "--refresh-timeout", "1");
    ServeBed.run(30, "ls", v("/data").toString());
    assertArrayEquals(FILES.get("/data/small.bin"), ServeBed.run(30, "cat", v("/data/small.bin").toString()).out());
    byte[] changed = new byte[FILES.get("/data/small.bin").length];
    new Random(99).nextBytes(changed);
    origin.file("/data/small.bin", changed, T.plusSeconds(3600));
    Thread.sleep(1500);
    ServeBed.run(30, "ls", v("/data").toString()); // due for a refresh: listed again, the file reset
    assertArrayEquals(changed, ServeBed.run(30, "cat", v("/data/small.bin").toString()).out(),
        "the new version, not the old bytes and not zeros");
  }

  @Test
  void smallFilesOfAnOpenedDirectoryArriveBeforeTheyAreRead() throws Exception {
    bed.serve(origin.url("/").toString());
    ServeBed.run(30, "ls", v("/names").toString());
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    Path stored = bed.store.resolve("tree/names/with space & ünï.txt");
    while (!LocalTree.xattr(stored, "user.lazydir").orElse("").contains("\nc=1") && System.nanoTime() < deadline) {
      Thread.sleep(100);
    }
    assertTrue(LocalTree.xattr(stored, "user.lazydir").orElse("").contains("\nc=1"), "prefetched and recorded");
    assertFalse(LocalTree.xattr(stored, "user.lazydir.map").isPresent(), "a complete file keeps no segment map");
    int gets = origin.count("GET", "/names/with space & ünï.txt");
    assertArrayEquals(FILES.get("/names/with space & ünï.txt"), ServeBed.run(30, "cat", v("/names/with space & ünï.txt").toString()).out());
    assertEquals(gets, origin.count("GET", "/names/with space & ünï.txt"), "the read needed no request");
  }

  @Test
  void aFileCompleteBeforeARestartIsReadNativelyOnceOpened() throws Exception {
    Process first = bed.serve(origin.url("/").toString());
    ServeBed.run(30, "ls", v("/names").toString());
    Path stored = bed.store.resolve("tree/names/with space & ünï.txt");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!LocalTree.xattr(stored, "user.lazydir").orElse("").contains("\nc=1")) {
      assertTrue(System.nanoTime() < deadline, "prefetched and recorded within 10 s");
      Thread.sleep(50);
    }
    assertEquals(0, bed.stop(first));
    Process daemon = bed.serve(origin.url("/").toString());
    assertArrayEquals(FILES.get("/names/with space & ünï.txt"),
        ServeBed.run(30, "cat", v("/names/with space & ünï.txt").toString()).out());
    // The daemon's group, as the kernel shows its marks: the file's content mark gone, its opens ignored.
    long ino = (Long) Files.getAttribute(stored, "unix:ino");
    String inode = "ino:" + Long.toHexString(ino) + " ";
    deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    for (String mark = ""; ; mark = fanotifyMarkOf(daemon.pid(), inode)) {
      if (mark.contains(" mask:0 ") && mark.matches(".* ignored_mask:[0-9a-f]*1[0-9a-f]{4}( .*|$)")) {
        break; // mask 0: no FAN_PRE_ACCESS; ignored_mask holds FAN_OPEN_PERM (0x10000)
      }
      assertTrue(System.nanoTime() < deadline, "within 10 s the file reads natively; its mark: " + mark);
      Thread.sleep(50);
    }
  }

  /** The line of /proc/PID/fdinfo of the process's fanotify group for the inode ("ino:HEX "), or "". */
  static String fanotifyMarkOf(long pid, String inode) throws IOException {
    try (var fds = Files.list(Path.of("/proc/" + pid + "/fd"))) {
      for (Path fd : fds.toList()) {
        String target;
        try {
          target = Files.readSymbolicLink(fd).toString();
        } catch (IOException e) {
          continue;
        }
        if (target.equals("anon_inode:[fanotify]")) {
          for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/fdinfo/" + fd.getFileName()))) {
            if (line.startsWith("fanotify " + inode)) {
              return line;
            }
          }
        }
      }
    }
    return "";
  }

  @Test
  void aCompleteSmallFileTakesNoDiskBeyondItsData() throws Exception {
    bed.serve(origin.url("/").toString());
    ServeBed.run(30, "ls", bed.view.toString());
    assertArrayEquals(FILES.get("/README.txt"), ServeBed.run(30, "cat", v("/README.txt").toString()).out());
    Path stored = bed.store.resolve("tree/README.txt");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!LocalTree.xattr(stored, "user.lazydir").orElse("").contains("\nc=1") && System.nanoTime() < deadline) {
      Thread.sleep(100);
    }
    assertTrue(LocalTree.xattr(stored, "user.lazydir").orElse("").contains("\nc=1"), "recorded complete in its metadata");
    assertEquals(4096, LocalTree.allocatedBytes(stored), "one data block; no block for a segment map");
  }

  @Test
  void aCompleteFileStaysCompleteWhenAListingRefinesItsTime() throws Exception {
    bed.serve(origin.url("/").toString(), "--refresh-timeout", "1");
    ServeBed.run(30, "ls", v("/data").toString());
    assertArrayEquals(FILES.get("/data/small.bin"), ServeBed.run(30, "cat", v("/data/small.bin").toString()).out());
    Path stored = bed.store.resolve("tree/data/small.bin");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!LocalTree.xattr(stored, "user.lazydir").orElse("").contains("\nc=1") && System.nanoTime() < deadline) {
      Thread.sleep(100);
    }
    Thread.sleep(1100);
    ServeBed.run(30, "ls", v("/data").toString()); // listed again
    int gets = origin.count("GET", "/data/small.bin");
    assertArrayEquals(FILES.get("/data/small.bin"), ServeBed.run(30, "cat", v("/data/small.bin").toString()).out());
    assertEquals(gets, origin.count("GET", "/data/small.bin"), "nothing fetched again");
    assertTrue(LocalTree.xattr(stored, "user.lazydir").orElse("").contains("\nc=1"));
  }

  @Test
  void statusCountsWhatIsLocalAndWhatWasFetched() throws Exception {
    Process daemon = bed.serve(origin.url("/").toString(), "--lazy-dirs");
    ServeBed.run(30, "ls", v("/data").toString());
    assertEquals(0, ServeBed.run(60, "cat", v("/data/small.bin").toString()).exit());
    // The daemon records segments and writes its counters every second: status catches up within a few.
    String expected = "\"fetched_bytes\":" + FILES.get("/data/small.bin").length + ",";
    Result st = null;
    for (int i = 0; i < 10 && (st == null || !st.text().contains(expected) || !st.text().contains("\"files_populated\":1,")); i++) {
      Thread.sleep(500);
      st = lazydir("status", "--json", "--store", bed.store.toString(), bed.view.toString());
    }
    assertEquals(0, st.exit(), st.err());
    String json = st.text();
    assertTrue(json.contains("\"running\":true") && json.contains("\"pid\":" + daemon.pid()), json);
    assertTrue(json.contains("\"files_populated\":1,"), json);
    assertTrue(json.contains("\"bytes_populated\":" + FILES.get("/data/small.bin").length + ","), json);
    assertTrue(json.contains("\"fetched_bytes\":" + FILES.get("/data/small.bin").length + ","), json);
    assertTrue(json.contains("\"dirs_listed\":2,"), json);
    bed.stop(daemon);
    Result after = lazydir("status", "--store", bed.store.toString(), bed.view.toString());
    assertTrue(after.text().contains("(not served)"), after.text());
  }

  @Test
  void aFileThatChangesAtTheOriginMidReadFailsThatReadThenServesTheNewVersionWhole() throws Exception {
    bed.serve(origin.url("/").toString(), "--readahead", "0", "--dl-seg-size", "1");
    ServeBed.run(30, "ls", v("/data").toString());
    assertEquals(0, ServeBed.sh(30, "head -c 4096 '" + v("/data/random.bin") + "' >/dev/null").exit());
    byte[] changed = new byte[FILES.get("/data/random.bin").length];
    new Random(99).nextBytes(changed);
    origin.file("/data/random.bin", changed, T.plusSeconds(7200)); // same size, new ETag and time

    Result mixed = ServeBed.run(60, "cat", v("/data/random.bin").toString());
    assertNotEquals(0, mixed.exit(), "never a file made of two versions");
    assertTrue(mixed.err().contains("Input/output error"), mixed.err());

    Result again = null;
    for (int i = 0; i < 20 && (again == null || again.exit() != 0); i++) {
      Thread.sleep(250); // the directory is listed again in the background
      again = ServeBed.run(60, "cat", v("/data/random.bin").toString());
    }
    assertEquals(0, again.exit(), again.err());
    assertArrayEquals(changed, again.out(), "opened anew: the new version, whole");
  }

  @Test
  void statusNamesTheFileAndTheCauseOfARecentDenial() throws Exception {
    bed.serve(origin.url("/").toString());
    ServeBed.run(30, "ls", v("/errors").toString());
    assertNotEquals(0, ServeBed.run(60, "cat", v("/errors/broken.bin").toString()).exit());
    Result st = null;
    for (int i = 0; i < 10 && (st == null || !st.text().contains("denied ")); i++) {
      Thread.sleep(500); // the daemon writes its state every second
      st = lazydir("status", "--store", bed.store.toString(), bed.view.toString());
    }
    String line = st.text().lines().filter(l -> l.trim().startsWith("denied ")).findFirst().orElse(st.text());
    assertTrue(line.contains("EIO") && line.contains("broken.bin") && line.contains("500"), line);
  }

  /** GETs of the test tree's directories so far. */
  int listingRequests() {
    java.util.Set<String> dirs = new java.util.TreeSet<>(java.util.List.of("/", "/errors/"));
    for (String file : FILES.keySet()) {
      for (int i = file.indexOf('/', 1); i > 0; i = file.indexOf('/', i + 1)) {
        dirs.add(file.substring(0, i + 1));
      }
    }
    return dirs.stream().mapToInt(d -> origin.count("GET", d)).sum();
  }

  static Result lazydir(String... args) throws Exception {
    java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp", System.getProperty("java.class.path"),
        "dev.lazydir.cli.Main"));
    cmd.addAll(java.util.List.of(args));
    return ServeBed.run(60, cmd.toArray(String[]::new));
  }

  private static Result sh(String script) {
    try {
      return ServeBed.sh(60, script);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
