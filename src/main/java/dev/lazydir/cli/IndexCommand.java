package dev.lazydir.cli;

import dev.lazydir.index.IndexBuilder;
import dev.lazydir.index.TreeIndex;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "index", sortOptions = false, mixinStandardHelpOptions = true,
    description = {"Write the tree index of a local directory: every entry's path, type, size, mtime, mode,"
        + " symlink target, and SHA-256 digests of each file and of its blocks, in one gzip file.",
        "Published at the root of an origin as " + TreeIndex.DEFAULT_NAME + " (nginx hides dotfiles from listings"
            + " but serves them by name), it lets serve and crawl make the whole tree from one request."},
    footer = {"", ExitCodes.HELP})
final class IndexCommand implements Callable<Integer> {
  @ParentCommand
  LazydirCommand parent;

  @Parameters(index = "0", paramLabel = "SRC", description = "the directory to describe")
  Path src;

  @Option(names = {"-o", "--output"}, paramLabel = "FILE",
      description = "where to write the index (default: SRC/" + TreeIndex.DEFAULT_NAME + "; never listed in it)")
  Path output;

  @Option(names = "--block-size", paramLabel = "KiB",
      description = "size of the blocks digested one by one, in KiB, a power of two (default: ${DEFAULT-VALUE})")
  int blockKiB = TreeIndex.DEFAULT_BLOCK_SIZE >> 10;

  @Override
  public Integer call() throws Exception {
    if (blockKiB < 4 || Integer.bitCount(blockKiB) != 1 || blockKiB > (1 << 20)) {
      throw new IllegalArgumentException("--block-size must be a power of two between 4 and 1048576 KiB");
    }
    Path out = output != null ? output : src.resolve(TreeIndex.DEFAULT_NAME);
    IndexBuilder.Summary s = new IndexBuilder(src, out, blockKiB << 10).build();
    parent.out().println("wrote " + out + ": " + s.entries() + " entries, " + s.files() + " files (" + s.bytes()
        + " bytes)" + (s.warnings() > 0 ? "; " + s.warnings() + " skipped" : ""));
    return s.warnings() > 0 ? ExitCodes.PARTIAL : ExitCodes.OK;
  }
}
