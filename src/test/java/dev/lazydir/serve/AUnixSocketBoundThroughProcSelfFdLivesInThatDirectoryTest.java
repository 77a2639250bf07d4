package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Posix;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fact (Linux): a Unix socket bound at {@code /proc/self/fd/N/NAME}, N an open directory, is made in that
 * directory, and a connect through another process's open fd of the same directory reaches it, however long the
 * directory's own path (a socket address holds at most 108 bytes). ControlSocket relies on it for stores with
 * long paths (RefreshTest goes through it end to end).
 */
class AUnixSocketBoundThroughProcSelfFdLivesInThatDirectoryTest {
  @TempDir Path tmp;

  @Test
  void aSocketBoundThroughTheFdOfADirectoryWithALongPathIsMadeThereAndAnswers() throws Exception {
    Path deep = tmp.resolve("a".repeat(100)).resolve("b".repeat(100));
    Files.createDirectories(deep);
    assertTrue(deep.toString().length() > 108);
    try (Fd dir = Posix.open(deep.toString(), Posix.O_RDONLY | Posix.O_DIRECTORY);
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      server.bind(ControlSocket.address(dir));
      Map<String, Object> st = Files.readAttributes(deep.resolve(ControlSocket.NAME), "unix:mode", LinkOption.NOFOLLOW_LINKS);
      assertEquals(0140000, (Integer) st.get("mode") & 0170000, "a socket, in that directory");
      try (Fd other = Posix.open(deep.toString(), Posix.O_RDONLY | Posix.O_DIRECTORY);
          SocketChannel client = SocketChannel.open(StandardProtocolFamily.UNIX)) {
        client.connect(ControlSocket.address(other));
        try (SocketChannel accepted = server.accept()) {
          client.write(ByteBuffer.wrap(new byte[] {42}));
          ByteBuffer got = ByteBuffer.allocate(1);
          accepted.read(got);
          assertEquals(42, got.get(0));
        }
      }
    }
  }
}
