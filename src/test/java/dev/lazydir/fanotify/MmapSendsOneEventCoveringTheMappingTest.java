package dev.lazydir.fanotify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.fanotify.FanotifyBed.Handler;
import dev.lazydir.fanotify.FanotifyBed.Result;
import dev.lazydir.fanotify.FanotifyBed.Seen;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Fact (c): mmap of a file through the view sends ONE pre-access event, at mmap() time, covering the whole mapping;
 * touching the mapped pages sends nothing more. A deny answer makes mmap() itself fail with the errno.
 */
class MmapSendsOneEventCoveringTheMappingTest extends PrivilegedFanotifyTest {
  /** Maps the whole file read-only, says so, then touches every page and prints the sha-256 of the content. */
  private static final String MMAP = String.join("\n",
      "import hashlib, mmap, os, sys",
      "fd = os.open(sys.argv[1], os.O_RDONLY)",
      "try:",
      "    m = mmap.mmap(fd, 0, prot=mmap.PROT_READ)",
      "except OSError as e:",
      "    print('mmap-errno', e.errno)",
      "    sys.exit(3)",
      "h = hashlib.sha256()",
      "for off in range(0, len(m), 4096):",
      "    h.update(m[off:off + 4096])",
      "print(h.hexdigest())");

  @Test
  void mmapSendsOneEventCoveringTheMapping() throws Exception {
    int size = 300 * 1024 + 123;
    bed.sparse("mmap/data.bin", size);
    FanotifyGroup group = bed.markedGroup(Fan.FAN_PRE_ACCESS);
    Handler h = bed.handle(group, 1, (e, path) -> {
      FanotifyBed.fillThroughPrivatePath(bed.toPrivate(path), e.offset(), e.count());
      return Fan.FAN_ALLOW;
    });

    Result r = bed.read(FanotifyBed.python(), "-c", MMAP, bed.view("mmap/data.bin").toString());

    h.assertNoErrors();
    assertEquals(0, r.exit(), r.stderr());
    String expected = HexFormat.of().formatHex(
        MessageDigest.getInstance("SHA-256").digest(FanotifyBed.pattern(0, size)));
    assertEquals(expected, r.out().trim(), "the mapping shows the handler's bytes");
    List<Seen> seen = h.seen(s -> s.event().pid() == r.pid());
    assertEquals(1, seen.size(), "exactly one event for mmap + touching every page: " + seen);
    FanotifyEvent e = seen.get(0).event();
    assertTrue(e.isPreAccess() && e.hasRange(), e.toString());
    assertEquals(0, e.offset(), "the range starts at the mapping's start");
    assertTrue(e.count() >= size, "the range covers the whole mapping: " + e);
    assertEquals(seen.size(), h.seen().size(), "no event from anyone else: " + h.seen());
    System.out.println("mmap of " + size + " bytes: one event " + e);
  }

  @Test
  void deniedMmapFailsWithTheErrno() throws Exception {
    bed.sparse("mmap/denied.bin", 64 << 10);
    FanotifyGroup group = bed.markedGroup(Fan.FAN_PRE_ACCESS);
    Handler h = bed.handle(group, 1, (e, path) -> Fan.denyErrno(Fan.EIO));
    Result r = bed.read(FanotifyBed.python(), "-c", MMAP, bed.view("mmap/denied.bin").toString());
    h.assertNoErrors();
    assertEquals(3, r.exit(), r.out() + r.stderr());
    assertEquals("mmap-errno 5", r.out().trim(), "mmap() itself fails with EIO");
  }
}
