package dev.lazydir.fanotify;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Parses what one read() of a fanotify group fd returned. Pure Java: no native call, testable on any machine.
 *
 * <p>Layout (native byte order): each event is a 24-byte {@code struct fanotify_event_metadata}
 * {@code {u32 event_len; u8 vers; u8 reserved; u16 metadata_len; u64 mask; s32 fd; s32 pid}} followed, up to
 * event_len, by info records {@code {u8 type; u8 pad; u16 len; ...}}. The range record (type 6) is
 * {@code {u8 type; u8 pad; u16 len; u32 pad; u64 offset; u64 count}}. Unknown info types are skipped.
 *
 * <p>Every length is checked before it is used and every loop advances by at least one header, so garbage ends in a
 * {@link MalformedEventException}, never in an endless loop or an out-of-bounds read.
 */
public final class EventParser {
  // offsets in struct fanotify_event_metadata (FanotifyAbiLayoutTest checks them against linux/fanotify.h)
  static final int META_VERS = 4;
  static final int META_METADATA_LEN = 6;
  static final int META_MASK = 8;
  static final int META_FD = 16;
  static final int META_PID = 20;
  private static final int INFO_HEADER_LEN = 4;
  private static final int RANGE_INFO_LEN = 24;

  private EventParser() {}

  /**
   * Parses the bytes between the buffer's position and limit (read in native byte order whatever the buffer's own
   * order). The buffer's position, limit and order are left unchanged.
   */
  public static List<FanotifyEvent> parse(ByteBuffer buffer) throws MalformedEventException {
    ByteBuffer b = buffer.duplicate().order(ByteOrder.nativeOrder());
    int start = b.position();
    int limit = b.limit();
    List<FanotifyEvent> events = new ArrayList<>();
    int p = start;
    while (p < limit) {
      int left = limit - p;
      int rel = p - start;
      if (left < Fan.FAN_EVENT_METADATA_LEN) {
        throw bad("truncated event metadata at offset " + rel + ": " + left + " bytes left, "
            + Fan.FAN_EVENT_METADATA_LEN + " needed", events);
      }
      long eventLen = b.getInt(p) & 0xffffffffL;
      int vers = b.get(p + META_VERS) & 0xff;
      int metadataLen = b.getShort(p + META_METADATA_LEN) & 0xffff;
      if (vers != Fan.FANOTIFY_METADATA_VERSION) {
        throw bad("unsupported fanotify metadata version " + vers + " at offset " + rel + " (expected "
            + Fan.FANOTIFY_METADATA_VERSION + ")", events);
      }
      if (metadataLen < Fan.FAN_EVENT_METADATA_LEN) {
        throw bad("metadata_len " + metadataLen + " at offset " + rel + " is shorter than the "
            + Fan.FAN_EVENT_METADATA_LEN + "-byte metadata", events);
      }
      if (eventLen < metadataLen) {
        throw bad("event_len " + eventLen + " at offset " + rel + " is shorter than metadata_len " + metadataLen,
            events);
      }
      if (eventLen > left) {
        throw bad("event_len " + eventLen + " at offset " + rel + " overruns the buffer (" + left
            + " bytes left)", events);
      }
      long mask = b.getLong(p + META_MASK);
      int fd = b.getInt(p + META_FD);
      int pid = b.getInt(p + META_PID);
      int end = p + (int) eventLen;
      boolean hasRange = false;
      long offset = FanotifyEvent.NO_RANGE;
      long count = FanotifyEvent.NO_RANGE;
      int q = p + metadataLen;
      while (q < end) {
        int qrel = q - start;
        if (end - q < INFO_HEADER_LEN) {
          throw bad("truncated info record header at offset " + qrel + " (" + (end - q)
              + " bytes left in the event)", events);
        }
        int type = b.get(q) & 0xff;
        int len = b.getShort(q + 2) & 0xffff;
        if (len == 0) {
          throw bad("info record of type " + type + " at offset " + qrel + " has length 0", events);
        }
        if (len < INFO_HEADER_LEN) {
          throw bad("info record of type " + type + " at offset " + qrel + " has length " + len
              + ", shorter than its header", events);
        }
        if (len > end - q) {
          throw bad("info record of type " + type + " at offset " + qrel + " (length " + len
              + ") overruns its event (" + (end - q) + " bytes left)", events);
        }
        if (type == Fan.FAN_EVENT_INFO_TYPE_RANGE && !hasRange) {
          if (len < RANGE_INFO_LEN) {
            throw bad("range info record at offset " + qrel + " has length " + len + ", " + RANGE_INFO_LEN
                + " needed", events);
          }
          hasRange = true;
          offset = b.getLong(q + 8);
          count = b.getLong(q + 16);
        }
        q += len;
      }
      events.add(new FanotifyEvent(mask, fd, pid, hasRange, offset, count));
      p = end; // advances by eventLen >= metadataLen >= 24: the loop always ends
    }
    return events;
  }

  private static MalformedEventException bad(String message, List<FanotifyEvent> parsedBefore) {
    return new MalformedEventException("malformed fanotify event buffer: " + message, parsedBefore);
  }
}
