package dev.lazydir.hsm;

import dev.lazydir.tree.EntryMeta;
import dev.lazydir.tree.EntryMeta.DirMeta;
import dev.lazydir.tree.EntryMeta.FileMeta;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.Optional;

/** What a store holds, counted by walking its tree through the store path (which sends no event). */
public record TreeStatus(long dirsListed, long dirsKnown, long filesComplete, long filesPartial, long filesStub,
    long bytesPresent, long bytesTotal) {

  public static TreeStatus of(Path tree) throws IOException {
    long[] c = new long[7];
    Files.walkFileTree(tree, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
        if (xattr(dir, "lazydir").flatMap(EntryMeta::decode).orElse(null) instanceof DirMeta m) {
          c[1]++;
          if (m.listed()) {
            c[0]++;
          }
          return FileVisitResult.CONTINUE;
        }
        return FileVisitResult.SKIP_SUBTREE;
      }

      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        if (!attrs.isRegularFile()
            || !(xattr(file, "lazydir").flatMap(EntryMeta::decode).orElse(null) instanceof FileMeta m)) {
          return FileVisitResult.CONTINUE;
        }
        c[6] += m.size();
        Optional<ChunkMap> map = ChunkMap.recorded(m, xattr(file, "lazydir.map"), m.size());
        long present = map.map(ChunkMap::presentBytes).orElse(0L);
        c[5] += present;
        if (map.isPresent() && map.get().isComplete()) {
          c[2]++;
        } else if (map.isPresent() && map.get().presentCount() > 0) {
          c[3]++;
        } else {
          c[4]++;
        }
        return FileVisitResult.CONTINUE;
      }
    });
    return new TreeStatus(c[0], c[1], c[2], c[3], c[4], c[5], c[6]);
  }

  private static Optional<byte[]> xattr(Path p, String name) throws IOException {
    UserDefinedFileAttributeView view =
        Files.getFileAttributeView(p, UserDefinedFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
    if (!view.list().contains(name)) {
      return Optional.empty();
    }
    ByteBuffer buf = ByteBuffer.allocate(view.size(name));
    view.read(name, buf);
    return Optional.of(java.util.Arrays.copyOf(buf.array(), buf.position()));
  }
}
