package dev.lazydir.cli;

import dev.lazydir.serve.StoreLayout;
import java.nio.file.Path;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The DIR a serve shows and its store, as the commands that ask about a running serve name them. */
final class ServedView {
  @Parameters(index = "0", paramLabel = "DIR", description = "the view given to lazydir serve")
  Path dir;

  @Option(names = "--store", paramLabel = "PATH", description = "the store, if serve was given --store")
  Path store;

  StoreLayout layout() {
    return store != null ? new StoreLayout(store) : StoreLayout.defaultFor(dir);
  }
}
