package dev.lazydir.hsm;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;

/**
 * Where a served tree lives: {@code STORE/tree} (the stub tree, bind-mounted read-only at DIR) and
 * {@code STORE/run} (lock, daemon state). The default store of DIR is {@code .NAME.lazydir} beside it, on the
 * same filesystem; it is private (0700) because reading it directly bypasses the daemon.
 */
public record StoreLayout(Path store) {
  public static StoreLayout defaultFor(Path dir) {
    Path abs = dir.toAbsolutePath().normalize();
    Path parent = abs.getParent() == null ? abs : abs.getParent();
    return new StoreLayout(parent.resolve("." + abs.getFileName() + ".lazydir"));
  }

  public Path tree() {
    return store.resolve("tree");
  }

  public Path run() {
    return store.resolve("run");
  }

  public Path stateFile() {
    return run().resolve("state");
  }

  public void create() throws IOException {
    Files.createDirectories(store);
    Files.setPosixFilePermissions(store, PosixFilePermissions.fromString("rwx------"));
    Files.createDirectories(run());
  }

  /** Takes the store's lock for this process; fails if another daemon holds it. */
  public FileLock lock() throws IOException {
    Path lockFile = run().resolve("lock");
    FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    FileLock lock = ch.tryLock();
    if (lock == null) {
      ch.close();
      String pid = readState().map(s -> s.lines().filter(l -> l.startsWith("pid=")).findFirst().orElse("pid=?"))
          .orElse("pid=?").substring(4);
      throw new IOException("another lazydir serve (pid " + pid + ") is serving " + store);
    }
    return lock;
  }

  public Optional<String> readState() throws IOException {
    Path state = stateFile();
    return Files.exists(state) ? Optional.of(Files.readString(state, StandardCharsets.UTF_8)) : Optional.empty();
  }

  /** Replaces the state file atomically so a reader never sees half of it. */
  public void writeState(String content) throws IOException {
    Path tmp = run().resolve("state.tmp");
    Files.writeString(tmp, content, StandardCharsets.UTF_8);
    Files.move(tmp, stateFile(), java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
  }
}
