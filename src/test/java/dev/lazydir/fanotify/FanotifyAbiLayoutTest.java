package dev.lazydir.fanotify;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lazydir.testing.AbiLayout;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The struct layouts the fanotify side reads by offset (struct pollfd, struct fanotify_event_metadata, struct
 * fanotify_response) and its poll/eventfd flags are the C compiler's (native-shim/abi-layout.c). The range info
 * record and the 6.14 flags are newer than the machine's headers and are pinned by the privileged tests instead.
 */
class FanotifyAbiLayoutTest {
  static Map<String, Long> c;

  @BeforeAll
  static void compileAndRun() throws Exception {
    c = AbiLayout.values();
  }

  @Test
  void pollfdAndFlagsMatch() {
    assertEquals(c.get("pollfd.size"), (long) FanotifyNative.POLLFD_SIZE);
    assertEquals(c.get("pollfd.events"), (long) FanotifyNative.POLLFD_EVENTS);
    assertEquals(c.get("pollfd.revents"), (long) FanotifyNative.POLLFD_REVENTS);
    assertEquals(c.get("POLLIN"), (long) FanotifyNative.POLLIN);
    assertEquals(c.get("POLLERR"), (long) FanotifyNative.POLLERR);
    assertEquals(c.get("POLLNVAL"), (long) FanotifyNative.POLLNVAL);
    assertEquals(c.get("EFD_CLOEXEC"), (long) FanotifyNative.EFD_CLOEXEC);
    assertEquals(c.get("EFD_NONBLOCK"), (long) FanotifyNative.EFD_NONBLOCK);
  }

  @Test
  void eventMetadataAndResponseMatch() {
    assertEquals(c.get("fanotify_event_metadata.size"), (long) Fan.FAN_EVENT_METADATA_LEN);
    assertEquals(c.get("fanotify_event_metadata.vers"), (long) EventParser.META_VERS);
    assertEquals(c.get("fanotify_event_metadata.metadata_len"), (long) EventParser.META_METADATA_LEN);
    assertEquals(c.get("fanotify_event_metadata.mask"), (long) EventParser.META_MASK);
    assertEquals(c.get("fanotify_event_metadata.fd"), (long) EventParser.META_FD);
    assertEquals(c.get("fanotify_event_metadata.pid"), (long) EventParser.META_PID);
    assertEquals(c.get("FANOTIFY_METADATA_VERSION"), (long) Fan.FANOTIFY_METADATA_VERSION);
    assertEquals(c.get("fanotify_response.size"), (long) Fan.FAN_RESPONSE_LEN);
  }
}
