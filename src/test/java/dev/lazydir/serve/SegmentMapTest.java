package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.tree.EntryMeta.FileMeta;
import dev.lazydir.tree.EntryMeta.TimePrecision;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class SegmentMapTest {
  static final long MIB = 1 << 20;
  static final String TAG = "abcd";

  @Test
  void mapOfAnotherVersionOfTheFileIsNotTrusted() {
    FileMeta v1 = new FileMeta(10 * MIB, Instant.parse("2024-01-01T10:00:30Z"), TimePrecision.SECONDS, "\"e1\"", null);
    FileMeta v2 = new FileMeta(10 * MIB, Instant.parse("2024-01-01T10:00:30Z"), TimePrecision.SECONDS, "\"e2\"", null);
    FileMeta nextMinute = new FileMeta(10 * MIB, Instant.parse("2024-01-01T10:01:30Z"), TimePrecision.SECONDS, "\"e1\"",
        null);
    SegmentMap m = SegmentMap.empty(10 * MIB, MIB, SegmentMap.tagOf(v1));
    m.mark(0);
    assertFalse(SegmentMap.decode(m.encode(), 10 * MIB, SegmentMap.tagOf(v2)).isPresent(), "new ETag: stale map void");
    assertFalse(SegmentMap.decode(m.encode(), 10 * MIB, SegmentMap.tagOf(nextMinute)).isPresent(), "new time: void");
  }

  /**
   * A listing gives the time to the minute; the first answer's Last-Modified refines it to the second (OpenStub
   * records that). The same version, so the map written before the refinement still counts after it.
   */
  @Test
  void mapSurvivesTheRefinementOfAListedMinuteToTheServedSecond() {
    FileMeta listed = new FileMeta(10 * MIB, Instant.parse("2024-01-01T10:00:00Z"), TimePrecision.MINUTES, null, null);
    FileMeta refined = new FileMeta(10 * MIB, Instant.parse("2024-01-01T10:00:30Z"), TimePrecision.SECONDS, null, null);
    SegmentMap m = SegmentMap.empty(10 * MIB, MIB, SegmentMap.tagOf(listed));
    m.mark(0);
    SegmentMap back = SegmentMap.decode(m.encode(), 10 * MIB, SegmentMap.tagOf(refined)).orElseThrow();
    assertTrue(back.has(0) && !back.has(1), "the same version: the map holds");
  }

  @Test
  void roundTripsPartialAndCompleteMaps() {
    SegmentMap m = SegmentMap.empty(10 * MIB + 5, MIB, TAG);
    assertEquals(11, m.segmentCount());
    m.mark(0);
    m.mark(10);
    SegmentMap back = SegmentMap.decode(m.encode(), 10 * MIB + 5, TAG).orElseThrow();
    assertTrue(back.has(0) && back.has(10) && !back.has(5));
    assertEquals(MIB + 5, back.presentBytes(), "the last segment is 5 bytes long");
    for (int i = 0; i < 11; i++) {
      m.mark(i);
    }
    assertTrue(m.isComplete());
    assertEquals("v=1 c=1048576 n=11 t=abcd full", new String(m.encode(), StandardCharsets.US_ASCII));
    assertTrue(SegmentMap.decode(m.encode(), 10 * MIB + 5, TAG).orElseThrow().isComplete());
  }

  @Test
  void mapOfAnotherSizeOrGarbageIsNotTrusted() {
    SegmentMap m = SegmentMap.empty(10 * MIB, MIB, TAG);
    m.mark(3);
    assertFalse(SegmentMap.decode(m.encode(), 20 * MIB, TAG).isPresent(), "file changed size: map is void");
    assertFalse(SegmentMap.decode("all".getBytes(), 10 * MIB, TAG).isPresent());
    assertFalse(SegmentMap.decode("v=2 c=1048576 n=10 t=abcd full".getBytes(), 10 * MIB, TAG).isPresent());
    assertFalse(SegmentMap.decode("v=1 c=100 n=1 t=abcd full".getBytes(), 10, TAG).isPresent(), "segment below 4 KiB");
    byte[] tooManyBits = ("v=1 c=1048576 n=10 t=abcd\n").getBytes();
    byte[] withBits = new byte[tooManyBits.length + 2];
    System.arraycopy(tooManyBits, 0, withBits, 0, tooManyBits.length);
    withBits[withBits.length - 1] = (byte) 0x80; // bit 15 set, beyond 10 segments
    assertFalse(SegmentMap.decode(withBits, 10 * MIB, TAG).isPresent());
  }

  @Test
  void hugeFilesGetBiggerSegmentsSoTheMapFitsOneXattrBlock() {
    SegmentMap m = SegmentMap.empty(1L << 40, MIB, TAG);
    assertTrue(m.segmentCount() <= SegmentMap.MAX_SEGMENTS);
    assertTrue(m.encode().length < 4000);
    for (int i = 0; i < m.segmentCount(); i += 2) {
      m.mark(i);
    }
    assertTrue(m.encode().length < 4000, "half-populated map still fits");
  }

  @Test
  void emptyFileIsOneSegment() {
    SegmentMap m = SegmentMap.empty(0, MIB, TAG);
    assertEquals(1, m.segmentCount());
    assertEquals(0, m.segmentLength(0));
    m.mark(0);
    assertTrue(m.isComplete());
    assertArrayEquals("v=1 c=1048576 n=1 t=abcd full".getBytes(), m.encode());
  }

  @Test
  void segmentArithmetic() {
    SegmentMap m = SegmentMap.empty(3 * MIB + 1, MIB, TAG);
    assertEquals(0, m.segmentOf(0));
    assertEquals(1, m.segmentOf(MIB));
    assertEquals(3, m.segmentOf(3 * MIB));
    assertEquals(3, m.segmentOf(100 * MIB), "past EOF clamps to the last segment");
    assertEquals(1, m.segmentLength(3));
    assertEquals(2 * MIB, m.segmentStart(2));
  }
}
