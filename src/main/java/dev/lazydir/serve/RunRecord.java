package dev.lazydir.serve;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import java.util.Set;

/**
 * A record in {@code STORE/run} that a daemon leaves for the next one on the store (which guard holds the group,
 * which mount is its shield, when each file was last used). Written whole or not at all (an exclusive temporary, then a rename), and never
 * through a link planted in the store: the next daemon acts on what it reads, so it must be what a daemon wrote.
 */
final class RunRecord {
  private RunRecord() {}

  /** A one-line record. */
  static void write(Path run, String name, String line) throws IOException {
    writeText(run, name, line + "\n");
  }

  static void writeText(Path run, String name, String text) throws IOException {
    Path tmp = run.resolve(name + ".tmp");
    Files.deleteIfExists(tmp); // a link or file left by a crash: unlink never follows it
    // CREATE_NEW is O_CREAT|O_EXCL: never opens a planted symlink's target.
    try (SeekableByteChannel ch = Files.newByteChannel(tmp, Set.of(StandardOpenOption.CREATE_NEW,
        StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS))) {
      ByteBuffer buf = ByteBuffer.wrap(text.getBytes(StandardCharsets.US_ASCII));
      while (buf.hasRemaining()) {
        ch.write(buf);
      }
    }
    Files.move(tmp, run.resolve(name), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  /** A one-line record's line, stripped; empty if there is none. A record that cannot be read is an IOException. */
  static Optional<String> read(Path run, String name) throws IOException {
    try (SeekableByteChannel ch = Files.newByteChannel(run.resolve(name), Set.of(StandardOpenOption.READ,
        LinkOption.NOFOLLOW_LINKS))) {
      ByteBuffer buf = ByteBuffer.allocate(128);
      ch.read(buf);
      return Optional.of(new String(buf.array(), 0, buf.position(), StandardCharsets.US_ASCII).strip());
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
  }

  static void remove(Path run, String name) {
    try {
      Files.deleteIfExists(run.resolve(name));
    } catch (IOException e) {
      // a stale record names a mount or a process that no longer is: its reader checks before acting
    }
  }
}
