package dev.lazydir.serve;

import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Posix;
import dev.lazydir.internal.posix.Stat;
import dev.lazydir.tree.EntryMeta;
import dev.lazydir.tree.EntryMeta.DirMeta;
import dev.lazydir.tree.EntryMeta.FileMeta;
import dev.lazydir.tree.StubTree;
import dev.lazydir.tree.TreeWalk;
import java.io.IOException;
import java.nio.file.Path;

/**
 * What a store holds, counted by walking its tree through the store path: what status shows of a store no daemon
 * serves (a serving daemon keeps the same counts without a walk, {@link TreeCounts}). The walk sends no event:
 * the open mark is on DIR's mount and content marks only watch reads. It goes by directory fds, so a tree deeper
 * than PATH_MAX counts like any other.
 */
public record TreeStatus(long dirsListed, long dirsKnown, long filesComplete, long filesPartial, long filesStub,
    long bytesPresent, long bytesTotal) {

  public static TreeStatus of(Path tree) throws IOException {
    try (Fd root = Posix.open(tree.toString(), Posix.O_RDONLY | Posix.O_DIRECTORY)) {
      return of(root);
    }
  }

  public static TreeStatus of(Fd root) throws IOException {
    long[] c = new long[7];
    TreeWalk.walk(root, new TreeWalk.Visitor() {
      @Override
      public void directory(Fd dir, DirMeta meta) {
        c[1]++;
        if (meta.listed()) {
          c[0]++;
        }
      }

      @Override
      public void file(Fd parent, String name, Stat st) throws IOException {
        try (Fd fd = TreeWalk.open(parent, name, st)) {
          if (fd == null || !(StubTree.metaOf(fd).orElse(null) instanceof FileMeta m)) {
            return;
          }
          TreeCounts.File f = TreeCounts.classify(m, fd.getXattr(EntryMeta.MAP_XATTR));
          c[6] += f.size();
          c[5] += f.present();
          c[2 + f.state()]++; // complete, partial, stub
        }
      }
    });
    return new TreeStatus(c[0], c[1], c[2], c[3], c[4], c[5], c[6]);
  }
}
