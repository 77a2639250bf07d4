package dev.lazydir.cli;

import dev.lazydir.internal.posix.Errno;
import dev.lazydir.internal.posix.ErrnoException;
import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Posix;
import dev.lazydir.internal.posix.Stat;
import dev.lazydir.tree.EntryMeta.DirMeta;
import dev.lazydir.tree.TreeWalk;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * Makes deep paths of a served view appear. Linux has no lookup event, so the daemon cannot see
 * {@code stat DIR/a/b/c}; but it sees every directory being opened. This command opens each ancestor in turn
 * (each open lists that directory), and with --content reads files through the view (each read fetches).
 *
 * <p>It goes one name at a time through directory fds, never through a full path: a path longer than PATH_MAX
 * (4096 bytes) works like any other.
 */
@Command(name = "populate", mixinStandardHelpOptions = true,
    description = {"List every ancestor of each PATH inside a served view (so deep paths appear), and with"
        + " --content fetch the content of each PATH (every file below it, for a directory)."},
    footer = {"", ExitCodes.HELP})
final class PopulateCommand implements Callable<Integer> {
  // Not a constant (O_DIRECTORY depends on the architecture): read when a command runs, so that building the command
  // line (every command, --help, --version) does not load the libc binding, a tenth of a second of start-up.
  private static int dirFlags() {
    return Posix.O_RDONLY | Posix.O_DIRECTORY;
  }

  @ParentCommand
  LazydirCommand parent;

  @Parameters(arity = "1..*", paramLabel = "PATH", description = "paths inside a view served by lazydir serve")
  List<Path> paths;

  @Option(names = "--content", description = "also fetch the content of files (through the view)")
  boolean content;

  @Override
  public Integer call() throws Exception {
    PrintStream out = parent.out();
    boolean terminal = System.console() != null;
    int missing = 0;
    int failed = 0;
    for (Path path : paths) {
      Path abs = path.toAbsolutePath().normalize();
      try {
        if (!populate(abs, out, terminal)) {
          parent.err().println("lazydir: " + path + ": no such file or directory at the origin");
          missing++;
          continue;
        }
      } catch (NotInAView e) {
        parent.err().println("lazydir: error: " + path + " is not inside a view served by lazydir (" + e.getMessage()
            + "); give a path below a DIR given to lazydir serve");
        failed++;
        continue;
      } catch (IOException e) {
        parent.err().println("lazydir: error: " + path + ": " + reason(e));
        failed++;
        continue;
      }
      out.println("populated " + path);
    }
    return failed > 0 ? ExitCodes.ERROR : missing > 0 ? ExitCodes.PARTIAL : ExitCodes.OK;
  }

  /** What went wrong, without the syscall's own words where a plain one says it. */
  private static String reason(IOException e) {
    if (e instanceof ErrnoException x && x.errno() == Errno.EIO) {
      return "the origin did not give its bytes (input/output error; lazydir status DIR lists the cause)";
    }
    String m = e.getMessage();
    if (m != null && m.contains("Input/output error")) {
      return "the origin did not give its bytes (input/output error; lazydir status DIR lists the cause)";
    }
    return Cli.sentence(e);
  }

  /** The path is not below a directory lazydir made. */
  static final class NotInAView extends IOException {
    NotInAView(String why) {
      super(why);
    }
  }

  private static boolean lazydirs(Fd dir) throws IOException {
    return dir.getXattr(dev.lazydir.tree.EntryMeta.XATTR).isPresent();
  }

  /**
   * Opens each ancestor from the top (each open lists it), then lists or fetches the path itself; false if a
   * name on the way does not exist. Symlinks on the way are the user's own and are followed (the view itself is
   * mounted nosymfollow).
   */
  private boolean populate(Path abs, PrintStream out, boolean terminal) throws IOException {
    if (abs.getNameCount() == 0) {
      return true;
    }
    Fd dir = Posix.open(abs.getRoot().toString(), dirFlags());
    try {
      for (int i = 0; i < abs.getNameCount() - 1; i++) {
        Fd next = openOrNull(dir, abs.getName(i).toString(), dirFlags());
        if (next == null) {
          if (!lazydirs(dir)) {
            throw new NotInAView(abs.subpath(0, i + 1) + " does not exist");
          }
          dir.close();
          dir = null;
          return false;
        }
        dir.close();
        dir = next;
      }
      String name = abs.getFileName().toString();
      Stat st;
      try (Fd handle = openOrNull(dir, name, Posix.O_PATH)) { // no open event: a file stub gets no blocks yet
        if (handle == null) {
          if (!lazydirs(dir)) {
            throw new NotInAView(abs.getParent() + " is not a directory lazydir made");
          }
          return false;
        }
        st = handle.stat();
      }
      if (st.isDirectory()) {
        try (Fd target = openOrNull(dir, name, dirFlags())) { // this open lists it
          if (target == null) {
            return false;
          }
          if (!lazydirs(target) && !lazydirs(dir)) {
            throw new NotInAView(abs + " is not a directory lazydir made");
          }
          if (content) {
            fetchAll(target, out, terminal);
          }
        }
      } else if (!lazydirs(dir)) {
        throw new NotInAView(abs.getParent() + " is not a directory lazydir made");
      } else if (content && st.isRegularFile()) {
        fetch(dir, name, false, st.size(), out, terminal);
      }
      return true;
    } finally {
      if (dir != null) {
        dir.close();
      }
    }
  }

  private static Fd openOrNull(Fd dir, String name, int flags) throws IOException {
    try {
      return dir.openAt(name, flags, 0);
    } catch (ErrnoException e) {
      if (e.errno() == Errno.ENOENT || e.errno() == Errno.ENOTDIR) {
        return null;
      }
      throw e;
    }
  }

  /** Every file below an open directory of the view (each directory is listed as the walk opens it). */
  private static void fetchAll(Fd top, PrintStream out, boolean terminal) throws IOException {
    TreeWalk.walk(top, new TreeWalk.Visitor() {
      @Override
      public void directory(Fd dir, DirMeta meta) {}

      @Override
      public void file(Fd parent, String name, Stat st) throws IOException {
        fetch(parent, name, true, st.size(), out, terminal);
      }
    });
  }

  /**
   * Reads a file through the view. It is opened by a short path through its directory's fd
   * (/proc/self/fd/N/NAME), so its full path never has to fit in PATH_MAX.
   */
  private static void fetch(Fd dir, String name, boolean noFollow, long size, PrintStream out, boolean terminal)
      throws IOException {
    Path file = Path.of("/proc/self/fd/" + dir.intValue(), name);
    long done = 0;
    long lastDraw = 0;
    byte[] buf = new byte[1 << 20];
    try (InputStream in = noFollow ? Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS) : Files.newInputStream(file)) {
      for (int n; (n = in.read(buf)) > 0; ) {
        done += n;
        long now = System.nanoTime();
        if (terminal && now - lastDraw > 100_000_000L) {
          lastDraw = now;
          out.print("\r\033[K" + name + ": " + (size == 0 ? 100 : done * 100 / size) + "% ("
              + (done >> 20) + " of " + (size >> 20) + " MiB)");
          out.flush();
        }
      }
    }
    if (terminal) {
      out.print("\r\033[K");
    }
  }
}
