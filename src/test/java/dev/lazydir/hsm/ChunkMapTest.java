package dev.lazydir.hsm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.tree.EntryMeta.FileMeta;
import dev.lazydir.tree.EntryMeta.TimePrecision;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class ChunkMapTest {
  static final long MIB = 1 << 20;
  static final String TAG = "abcd";

  @Test
  void mapOfAnotherVersionOfTheFileIsNotTrusted() {
    FileMeta v1 = new FileMeta(10 * MIB, Instant.parse("2024-01-01T10:00:30Z"), TimePrecision.SECONDS, "\"e1\"", null);
    FileMeta v2 = new FileMeta(10 * MIB, Instant.parse("2024-01-01T10:00:30Z"), TimePrecision.SECONDS, "\"e2\"", null);
    FileMeta nextMinute = new FileMeta(10 * MIB, Instant.parse("2024-01-01T10:01:30Z"), TimePrecision.SECONDS, "\"e1\"",
        null);
    ChunkMap m = ChunkMap.empty(10 * MIB, MIB, ChunkMap.tagOf(v1));
    m.mark(0);
    assertFalse(ChunkMap.decode(m.encode(), 10 * MIB, ChunkMap.tagOf(v2)).isPresent(), "new ETag: stale map void");
    assertFalse(ChunkMap.decode(m.encode(), 10 * MIB, ChunkMap.tagOf(nextMinute)).isPresent(), "new time: void");
  }

  /**
   * A listing gives the time to the minute; the first answer's Last-Modified refines it to the second (OpenStub
   * records that). The same version, so the map written before the refinement still counts after it.
   */
  @Test
  void mapSurvivesTheRefinementOfAListedMinuteToTheServedSecond() {
    FileMeta listed = new FileMeta(10 * MIB, Instant.parse("2024-01-01T10:00:00Z"), TimePrecision.MINUTES, null, null);
    FileMeta refined = new FileMeta(10 * MIB, Instant.parse("2024-01-01T10:00:30Z"), TimePrecision.SECONDS, null, null);
    ChunkMap m = ChunkMap.empty(10 * MIB, MIB, ChunkMap.tagOf(listed));
    m.mark(0);
    ChunkMap back = ChunkMap.decode(m.encode(), 10 * MIB, ChunkMap.tagOf(refined)).orElseThrow();
    assertTrue(back.has(0) && !back.has(1), "the same version: the map holds");
  }

  @Test
  void roundTripsPartialAndCompleteMaps() {
    ChunkMap m = ChunkMap.empty(10 * MIB + 5, MIB, TAG);
    assertEquals(11, m.chunkCount());
    m.mark(0);
    m.mark(10);
    ChunkMap back = ChunkMap.decode(m.encode(), 10 * MIB + 5, TAG).orElseThrow();
    assertTrue(back.has(0) && back.has(10) && !back.has(5));
    assertEquals(MIB + 5, back.presentBytes(), "the last chunk is 5 bytes long");
    for (int i = 0; i < 11; i++) {
      m.mark(i);
    }
    assertTrue(m.isComplete());
    assertEquals("v=1 c=1048576 n=11 t=abcd full", new String(m.encode(), StandardCharsets.US_ASCII));
    assertTrue(ChunkMap.decode(m.encode(), 10 * MIB + 5, TAG).orElseThrow().isComplete());
  }

  @Test
  void mapOfAnotherSizeOrGarbageIsNotTrusted() {
    ChunkMap m = ChunkMap.empty(10 * MIB, MIB, TAG);
    m.mark(3);
    assertFalse(ChunkMap.decode(m.encode(), 20 * MIB, TAG).isPresent(), "file changed size: map is void");
    assertFalse(ChunkMap.decode("all".getBytes(), 10 * MIB, TAG).isPresent());
    assertFalse(ChunkMap.decode("v=2 c=1048576 n=10 t=abcd full".getBytes(), 10 * MIB, TAG).isPresent());
    assertFalse(ChunkMap.decode("v=1 c=100 n=1 t=abcd full".getBytes(), 10, TAG).isPresent(), "chunk below 4 KiB");
    byte[] tooManyBits = ("v=1 c=1048576 n=10 t=abcd\n").getBytes();
    byte[] withBits = new byte[tooManyBits.length + 2];
    System.arraycopy(tooManyBits, 0, withBits, 0, tooManyBits.length);
    withBits[withBits.length - 1] = (byte) 0x80; // bit 15 set, beyond 10 chunks
    assertFalse(ChunkMap.decode(withBits, 10 * MIB, TAG).isPresent());
  }

  @Test
  void hugeFilesGetBiggerChunksSoTheMapFitsOneXattrBlock() {
    ChunkMap m = ChunkMap.empty(1L << 40, MIB, TAG);
    assertTrue(m.chunkCount() <= ChunkMap.MAX_CHUNKS);
    assertTrue(m.encode().length < 4000);
    for (int i = 0; i < m.chunkCount(); i += 2) {
      m.mark(i);
    }
    assertTrue(m.encode().length < 4000, "half-populated map still fits");
  }

  @Test
  void emptyFileIsOneChunk() {
    ChunkMap m = ChunkMap.empty(0, MIB, TAG);
    assertEquals(1, m.chunkCount());
    assertEquals(0, m.chunkLength(0));
    m.mark(0);
    assertTrue(m.isComplete());
    assertArrayEquals("v=1 c=1048576 n=1 t=abcd full".getBytes(), m.encode());
  }

  @Test
  void chunkArithmetic() {
    ChunkMap m = ChunkMap.empty(3 * MIB + 1, MIB, TAG);
    assertEquals(0, m.chunkOf(0));
    assertEquals(1, m.chunkOf(MIB));
    assertEquals(3, m.chunkOf(3 * MIB));
    assertEquals(3, m.chunkOf(100 * MIB), "past EOF clamps to the last chunk");
    assertEquals(1, m.chunkLength(3));
    assertEquals(2 * MIB, m.chunkStart(2));
  }
}
