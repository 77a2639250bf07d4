package dev.lazydir.hsm;

import dev.lazydir.internal.posix.Fd;
import dev.lazydir.tree.EntryMeta.DirMeta;
import dev.lazydir.tree.StubTree;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.logging.Logger;

/**
 * {@code serve --crawl}: lists the whole namespace breadth first, a few directories at a time, through the
 * daemon's own single-flight listing, so deep paths appear without anyone opening their ancestors.
 */
public final class BackgroundCrawl implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(BackgroundCrawl.class.getName());
  private final ExecutorService pool;
  private final Thread driver;

  private BackgroundCrawl(StubTree tree, Daemon daemon, int parallelism) {
    this.pool = Executors.newFixedThreadPool(parallelism, dev.lazydir.internal.Threads.daemon("lazydir-crawl"));
    this.driver = new Thread(() -> run(tree, daemon), "lazydir-crawl-driver");
    driver.setDaemon(true);
  }

  public static BackgroundCrawl start(StubTree tree, Daemon daemon, int parallelism) {
    BackgroundCrawl c = new BackgroundCrawl(tree, daemon, parallelism);
    c.driver.start();
    return c;
  }

  private void run(StubTree tree, Daemon daemon) {
    List<List<String>> level = List.of(List.of());
    long dirs = 0;
    try {
      while (!level.isEmpty()) {
        List<Future<List<List<String>>>> futures = new ArrayList<>();
        for (List<String> path : level) {
          futures.add(pool.submit(() -> {
            if (!isListed(tree, path)) {
              daemon.ensureListed(path);
            }
            return subdirectories(tree, path);
          }));
        }
        List<List<String>> next = new ArrayList<>();
        for (Future<List<List<String>>> f : futures) {
          try {
            next.addAll(f.get());
          } catch (java.util.concurrent.ExecutionException e) {
            LOG.warning("background crawl: " + e.getCause().getMessage());
          }
        }
        dirs += level.size();
        level = next;
      }
      LOG.info("background crawl done: " + dirs + " directories");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static boolean isListed(StubTree tree, List<String> path) throws IOException {
    try (Fd dir = tree.openDir(path)) {
      return StubTree.metaOf(dir).orElse(null) instanceof DirMeta m && m.listed();
    }
  }

  private static List<List<String>> subdirectories(StubTree tree, List<String> path) throws IOException {
    List<List<String>> out = new ArrayList<>();
    try (Fd dir = tree.openDir(path)) {
      for (String name : dir.list()) {
        StubTree.Entry e = tree.inspect(dir, name);
        if (e.meta() instanceof DirMeta) {
          List<String> child = StubTree.childPath(path, name);
          out.add(child);
        }
      }
    }
    return out;
  }

  @Override
  public void close() {
    driver.interrupt();
    pool.shutdownNow();
  }
}
