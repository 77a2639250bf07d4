package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.tree.TreePath;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The access profile's text: what the recorder writes reads back the same; anything else is refused by line. */
class AccessProfileFormatTest {
  @TempDir Path tmp;

  static AccessProfile parse(String text) throws Exception {
    return AccessProfile.parse(text.getBytes(StandardCharsets.UTF_8), "p");
  }

  @Test
  void theRecorderWritesFirstAccessesFirstAndOneRangePerSequentialReader() throws Exception {
    ProfileRecorder r = new ProfileRecorder(tmp.resolve("p"));
    for (long at = 0; at < 64 << 20; at += 128 << 10) { // cat of a 64 MiB file: 512 reads
      r.accessed("jdk/lib/modules", at, at + (128 << 10));
    }
    r.accessed("jdk/conf/security/java.security", 0, 4096);
    r.accessed("jdk/lib/modules", 100 << 20, (100 << 20) + 4096); // elsewhere in the same file: a range of its own
    r.accessed("jdk/lib/modules", 4096, 8192); // inside the first: nothing new
    r.accessed("odd\\name\tx", 0, 1);
    r.write(true);
    AccessProfile p = AccessProfile.parse(Files.readAllBytes(tmp.resolve("p")), "p");
    assertEquals(List.of(
        new AccessProfile.Range(TreePath.of(List.of("jdk", "lib", "modules")), 0, 64 << 20),
        new AccessProfile.Range(TreePath.of(List.of("jdk", "conf", "security", "java.security")), 0, 4096),
        new AccessProfile.Range(TreePath.of(List.of("jdk", "lib", "modules")), 100 << 20, 4096),
        new AccessProfile.Range(TreePath.of(List.of("odd\\name\tx")), 0, 1)), p.ranges());
    assertTrue(Files.readString(tmp.resolve("p")).contains("odd\\\\name\\x09x"), "escaped as in the tree index");
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "lazydir-index 1\nend 0\n",
      "lazydir-profile 1\n0\t10\t/etc/passwd\nend 1\n",
      "lazydir-profile 1\n0\t10\ta/../../x\nend 1\n",
      "lazydir-profile 1\n0\t10\ta//b\nend 1\n",
      "lazydir-profile 1\n-1\t10\ta\nend 1\n",
      "lazydir-profile 1\n0\t0\ta\nend 1\n",
      "lazydir-profile 1\n9223372036854775807\t10\ta\nend 1\n",
      "lazydir-profile 1\nzero\t10\ta\nend 1\n",
      "lazydir-profile 1\n0\t10\ta\n",
      "lazydir-profile 1\n0\t10\ta\nend 2\n",
      "lazydir-profile 1\n0\t10\ta\nend 1\nmore\n",
      "lazydir-profile 1\n0 10 a\nend 1\n"})
  void aProfileThatIsNotOneIsRefusedNamingWhy(String text) {
    AccessProfile.ProfileException e = assertThrows(AccessProfile.ProfileException.class, () -> parse(text));
    assertTrue(e.getMessage().startsWith("p"), e.getMessage());
  }

  @Test
  void anEmptyProfileIsOne() throws Exception {
    assertEquals(List.of(), parse("lazydir-profile 1\nend 0\n").ranges());
  }
}
