package dev.lazydir.cli;

import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Posix;
import dev.lazydir.serve.ControlSocket;
import dev.lazydir.serve.StoreLayout;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A path inside a served view, as the store's daemon names it: the view's root is the nearest ancestor whose
 * directory carries the store's location ({@code user.lazydir.store}, set on the tree's root), and the path is the
 * names below it. Used by evict, pin and unpin, which ask the daemon over its control socket.
 */
final class ViewPath {
  private ViewPath() {}

  /** Sends {@code command} for {@code path} to the daemon serving it; its answer. */
  static String ask(String command, Path path) throws IOException {
    Path abs = path.toAbsolutePath().normalize();
    for (Path root = abs; root != null; root = root.getParent()) {
      Optional<String> store = storeOf(root);
      if (store.isPresent()) {
        List<String> names = new ArrayList<>();
        root.relativize(abs).forEach(p -> {
          if (!p.toString().isEmpty()) {
            names.add(p.toString());
          }
        });
        try (dev.lazydir.internal.posix.Fd run = new StoreLayout(Path.of(store.get())).openRunDirectory()) {
          return String.join("; ", ControlSocket.ask(run, command, List.of(String.join("/", names))));
        } catch (ControlSocket.NotServedException | java.nio.file.NoSuchFileException e) {
          throw new IOException(path + ": no lazydir serve is running for " + root + " (start lazydir serve, then"
              + " run " + command + " again)");
        }
      }
    }
    throw new IllegalArgumentException(path + " is not inside a view served by lazydir serve");
  }

  private static Optional<String> storeOf(Path dir) {
    try (Fd fd = Posix.open(dir.toString(), Posix.O_RDONLY | Posix.O_DIRECTORY)) {
      return fd.getXattrString("user.lazydir.store");
    } catch (IOException e) {
      return Optional.empty(); // not a directory, or unreadable: look further up
    }
  }
}
