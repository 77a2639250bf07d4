package dev.lazydir.testing;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * What the C compiler and the libc/kernel headers say: native-shim/abi-layout.c compiled with the machine's cc
 * and run once per test JVM, as name -> value. The ABI tests compare the Java constants with it.
 */
public final class AbiLayout {
  private static Map<String, Long> values;

  private AbiLayout() {}

  public static synchronized Map<String, Long> values() throws Exception {
    if (values == null) {
      Path dir = Files.createTempDirectory("abi-layout");
      Path exe = dir.resolve("abi-layout");
      try {
        run("cc", "-o", exe.toString(), "native-shim/abi-layout.c");
        Map<String, Long> c = new HashMap<>();
        for (String line : run(exe.toString()).split("\n")) {
          String[] kv = line.split("=", 2);
          c.put(kv[0], Long.parseLong(kv[1].trim()));
        }
        values = Map.copyOf(c);
      } finally {
        Files.deleteIfExists(exe);
        Files.deleteIfExists(dir);
      }
    }
    return values;
  }

  private static String run(String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.waitFor() != 0) {
      throw new AssertionError(String.join(" ", cmd) + " failed:\n" + out);
    }
    return out;
  }
}
