package dev.lazydir.serve;

import dev.lazydir.internal.posix.Fd;
import dev.lazydir.tree.TreePath;
import java.io.IOException;
import java.util.logging.Logger;

/**
 * The commands a running serve answers on its control socket, each a call on the daemon: {@code refresh [PATH...]}
 * (lazydir refresh), {@code evict}, {@code pin} and {@code unpin PATH...}. Paths are relative to the view's root,
 * each name checked to be one plain name.
 */
final class SessionCommands {
  private static final Logger LOG = Logger.getLogger(SessionCommands.class.getName());

  private SessionCommands() {}

  static ControlSocket start(StoreLayout layout, Daemon daemon) throws IOException {
    try (Fd run = layout.openRunDirectory()) {
      return ControlSocket.start(run, java.util.Map.of(
          "refresh", (args, out) -> {
            java.util.List<TreePath> paths = new java.util.ArrayList<>();
            for (String arg : args) {
              paths.add(pathOf(arg));
            }
            TreeRefresh.Report r = daemon.refresh(paths.isEmpty() ? java.util.List.of(TreePath.root()) : paths);
            LOG.info(r.summary());
            out.line("summary " + r.summary());
            out.line("complete " + (r.failed() == 0 && r.filesNotChecked() == 0));
          },
          "evict", (args, out) -> {
            for (String arg : args) {
              out.line(daemon.evict(pathOf(arg)));
            }
          },
          "pin", (args, out) -> {
            for (String arg : args) {
              out.line(daemon.pin(pathOf(arg), true));
            }
          },
          "unpin", (args, out) -> {
            for (String arg : args) {
              out.line(daemon.pin(pathOf(arg), false));
            }
          }));
    }
  }

  /** A path in the view relative to its root ("" for the root), each name checked to be one plain name. */
  private static TreePath pathOf(String relative) {
    return relative.isEmpty() ? TreePath.root() : TreePath.parse(relative);
  }
}
