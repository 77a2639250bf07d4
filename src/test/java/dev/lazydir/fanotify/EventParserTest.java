package dev.lazydir.fanotify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** EventParser on hand-built buffers (no root, no kernel). */
class EventParserTest {
  private static final long PRE = Fan.FAN_PRE_ACCESS;

  /** Builds a read() buffer event by event, in native byte order. */
  static final class Buf {
    final ByteBuffer b = ByteBuffer.allocate(4096).order(ByteOrder.nativeOrder());

    Buf event(long mask, int fd, int pid, byte[]... infos) {
      int len = Fan.FAN_EVENT_METADATA_LEN;
      for (byte[] i : infos) {
        len += i.length;
      }
      return raw(len, 3, Fan.FAN_EVENT_METADATA_LEN, mask, fd, pid, infos);
    }

    Buf raw(long eventLen, int vers, int metadataLen, long mask, int fd, int pid, byte[]... infos) {
      b.putInt((int) eventLen).put((byte) vers).put((byte) 0).putShort((short) metadataLen).putLong(mask).putInt(fd)
          .putInt(pid);
      for (int i = Fan.FAN_EVENT_METADATA_LEN; i < metadataLen; i++) {
        b.put((byte) 0);
      }
      for (byte[] i : infos) {
        b.put(i);
      }
      return this;
    }

    Buf bytes(byte... extra) {
      b.put(extra);
      return this;
    }

    ByteBuffer done() {
      ByteBuffer out = b.duplicate().order(ByteOrder.nativeOrder());
      out.flip();
      return out;
    }
  }

  static byte[] range(long offset, long count) {
    return ByteBuffer.allocate(24).order(ByteOrder.nativeOrder()).put((byte) Fan.FAN_EVENT_INFO_TYPE_RANGE)
        .put((byte) 0).putShort((short) 24).putInt(0).putLong(offset).putLong(count).array();
  }

  static byte[] info(int type, int len) {
    ByteBuffer i = ByteBuffer.allocate(Math.max(len, 4)).order(ByteOrder.nativeOrder());
    i.put((byte) type).put((byte) 0).putShort((short) len);
    while (i.hasRemaining()) {
      i.put((byte) 0x5a);
    }
    return i.array();
  }

  static List<FanotifyEvent> parse(ByteBuffer b) throws Exception {
    return assertTimeoutPreemptively(Duration.ofSeconds(5), () -> EventParser.parse(b));
  }

  static MalformedEventException refused(ByteBuffer b, String messagePart) {
    MalformedEventException e = assertThrows(MalformedEventException.class,
        () -> assertTimeoutPreemptively(Duration.ofSeconds(5), () -> EventParser.parse(b)));
    assertTrue(e.getMessage().contains(messagePart), "message <" + e.getMessage() + "> should mention " + messagePart);
    return e;
  }

  @Test
  void singleEventWithRange() throws Exception {
    ByteBuffer b = new Buf().event(PRE, 7, 1234, range(4096, 131072)).done();
    List<FanotifyEvent> events = parse(b);
    assertEquals(List.of(FanotifyEvent.withRange(PRE, 7, 1234, 4096, 131072)), events);
    FanotifyEvent e = events.get(0);
    assertTrue(e.isPreAccess() && e.isPermission() && e.needsResponse() && e.hasRange());
    assertFalse(e.isDir() || e.isOpenPerm() || e.isAccessPerm());
    assertEquals(4096 + 131072, e.rangeEnd());
    assertEquals(0, b.position(), "position untouched");
    assertEquals(48, b.limit(), "limit untouched");
  }

  @Test
  void singleEventWithoutRange() throws Exception {
    List<FanotifyEvent> events = parse(new Buf().event(Fan.FAN_OPEN_PERM | Fan.FAN_ONDIR, 9, 42).done());
    assertEquals(1, events.size());
    FanotifyEvent e = events.get(0);
    assertFalse(e.hasRange());
    assertEquals(-1, e.offset());
    assertEquals(-1, e.count());
    assertEquals(-1, e.rangeEnd());
    assertTrue(e.isOpenPerm() && e.isDir() && e.isPermission());
  }

  @Test
  void severalEventsInOneBuffer() throws Exception {
    ByteBuffer b = new Buf()
        .event(PRE, 5, 100, range(0, 4096))
        .event(Fan.FAN_OPEN_PERM | Fan.FAN_ONDIR, 6, 101)
        .event(PRE, -13, 102, range(8192, 4096)) // FAN_REPORT_FD_ERROR: -EACCES
        .event(Fan.FAN_Q_OVERFLOW, Fan.FAN_NOFD, 0)
        .event(Fan.FAN_ACCESS_PERM | Fan.FAN_ONDIR, 8, 103)
        .done();
    List<FanotifyEvent> events = parse(b);
    assertEquals(List.of(
        FanotifyEvent.withRange(PRE, 5, 100, 0, 4096),
        FanotifyEvent.of(Fan.FAN_OPEN_PERM | Fan.FAN_ONDIR, 6, 101),
        FanotifyEvent.withRange(PRE, -13, 102, 8192, 4096),
        FanotifyEvent.of(Fan.FAN_Q_OVERFLOW, -1, 0),
        FanotifyEvent.of(Fan.FAN_ACCESS_PERM | Fan.FAN_ONDIR, 8, 103)), events);
    assertFalse(events.get(2).needsResponse(), "negative fd: the kernel already denied it");
    assertTrue(events.get(3).isOverflow() && !events.get(3).isPermission());
    assertTrue(events.get(4).isAccessPerm());
  }

  @Test
  void parsesFromThePositionWhateverTheBufferOrder() throws Exception {
    ByteBuffer inner = new Buf().event(PRE, 5, 100, range(12, 34)).done();
    ByteBuffer b = ByteBuffer.allocate(100).order(ByteOrder.nativeOrder() == ByteOrder.BIG_ENDIAN
        ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN);
    b.position(10);
    b.put(inner);
    b.limit(b.position()).position(10);
    assertEquals(List.of(FanotifyEvent.withRange(PRE, 5, 100, 12, 34)), parse(b));
    assertEquals(10, b.position());
  }

  @Test
  void emptyBufferHasNoEvents() throws Exception {
    assertEquals(List.of(), parse(ByteBuffer.allocate(0)));
  }

  @Test
  void ficloneRangeMeansWholeFile() throws Exception {
    FanotifyEvent e = parse(new Buf().event(PRE, 5, 1, range(0, 0)).done()).get(0);
    assertTrue(e.hasRange() && e.isWholeFileRange());
  }

  @Test
  void unknownInfoTypesAreSkipped() throws Exception {
    ByteBuffer b = new Buf()
        .event(PRE, 5, 100, info(1, 12), range(65536, 8192), info(200, 4))
        .event(PRE, 6, 100, info(99, 40))
        .done();
    assertEquals(List.of(
        FanotifyEvent.withRange(PRE, 5, 100, 65536, 8192),
        FanotifyEvent.of(PRE, 6, 100)), parse(b));
  }

  @Test
  void longerMetadataIsSkippedToTheInfoRecords() throws Exception {
    ByteBuffer b = new Buf().raw(32 + 24, 3, 32, PRE, 5, 100, range(1, 2)).done();
    assertEquals(List.of(FanotifyEvent.withRange(PRE, 5, 100, 1, 2)), parse(b));
  }

  @Test
  void wrongVersionIsRefused() {
    refused(new Buf().raw(24, 2, 24, PRE, 5, 1).done(), "version 2");
    refused(new Buf().raw(24, 0, 24, PRE, 5, 1).done(), "version 0");
  }

  @Test
  void eventLenShorterThanMetadataIsRefused() {
    refused(new Buf().raw(16, 3, 24, PRE, 5, 1).bytes(new byte[16]).done(), "shorter than metadata_len");
    refused(new Buf().raw(0, 3, 24, PRE, 5, 1).done(), "event_len 0");
  }

  @Test
  void metadataLenShorterThanTheStructIsRefused() {
    refused(new Buf().raw(24, 3, 8, PRE, 5, 1).done(), "metadata_len 8");
  }

  @Test
  void eventLenOverrunningTheBufferIsRefused() {
    refused(new Buf().raw(48, 3, 24, PRE, 5, 1).done(), "overruns the buffer");
    refused(new Buf().raw(0xffffffffL, 3, 24, PRE, 5, 1).done(), "overruns the buffer");
  }

  @Test
  void truncatedMetadataIsRefused() {
    refused(new Buf().event(PRE, 5, 1).bytes((byte) 24, (byte) 0, (byte) 0, (byte) 0, (byte) 3).done(),
        "truncated event metadata");
  }

  @Test
  void zeroLengthInfoRecordIsRefused() {
    ByteBuffer b = new Buf().raw(24 + 24, 3, 24, PRE, 5, 1, info(6, 0), new byte[20]).done();
    refused(b, "length 0");
  }

  @Test
  void infoRecordShorterThanItsHeaderIsRefused() {
    refused(new Buf().raw(24 + 4, 3, 24, PRE, 5, 1, info(7, 2)).done(), "shorter than its header");
  }

  @Test
  void infoRecordOverrunningItsEventIsRefused() {
    // a 24-byte range record in an event that only has room for 16 bytes of info, followed by another event
    byte[] r = range(0, 4096);
    byte[] cut = new byte[16];
    System.arraycopy(r, 0, cut, 0, 16);
    ByteBuffer b = new Buf().raw(24 + 16, 3, 24, PRE, 5, 1, cut).event(PRE, 6, 1).done();
    refused(b, "overruns its event");
  }

  @Test
  void truncatedInfoHeaderIsRefused() {
    refused(new Buf().raw(24 + 2, 3, 24, PRE, 5, 1, new byte[] {6, 0}).done(), "truncated info record header");
  }

  @Test
  void shortRangeRecordIsRefused() {
    refused(new Buf().raw(24 + 8, 3, 24, PRE, 5, 1, info(6, 8)).done(), "range info record");
  }

  @Test
  void eventsBeforeTheFaultAreKeptForAnswering() {
    ByteBuffer b = new Buf().event(PRE, 5, 1, range(0, 4096)).event(PRE, 6, 1).raw(24, 9, 24, PRE, 7, 1).done();
    MalformedEventException e = refused(b, "version 9");
    assertEquals(List.of(FanotifyEvent.withRange(PRE, 5, 1, 0, 4096), FanotifyEvent.of(PRE, 6, 1)),
        e.parsedBefore());
    assertTrue(e.getMessage().contains("offset 72"), e.getMessage());
  }

  @Test
  void randomGarbageNeverLoopsOrOverreads() {
    assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
      java.util.Random random = new java.util.Random(42);
      for (int i = 0; i < 20000; i++) {
        byte[] junk = new byte[random.nextInt(200)];
        random.nextBytes(junk);
        if (junk.length >= 8 && random.nextBoolean()) {
          junk[4] = 3; // right version, so the length checks get exercised
        }
        try {
          EventParser.parse(ByteBuffer.wrap(junk));
        } catch (MalformedEventException expected) {
          // fine: refused with a message
        }
      }
    });
  }
}
