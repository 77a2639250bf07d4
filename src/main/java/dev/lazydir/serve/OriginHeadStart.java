package dev.lazydir.serve;

import dev.lazydir.index.IndexFetch;
import dev.lazydir.internal.Failures;
import dev.lazydir.internal.StartTrace;
import dev.lazydir.origin.OriginClient;
import dev.lazydir.origin.OriginConfig;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import okhttp3.HttpUrl;

/**
 * The network's part of a first start, begun before the local part: on a thread of its own, the origin client is
 * made while the caller checks the machine; once the checks passed ({@link #go}: a refused start asks the origin
 * nothing), the top level's listing is asked for ({@link OriginClient#expectPage}) and, at the same time, the tree
 * index at its default place or where --index says. Over a network each of these is a round trip or two (a new
 * connection's handshake, then the answer) that used to wait for the store, the fanotify group and each other; they
 * now run while the caller makes the store and opens the fanotify group. Nothing here touches the disk. A restart
 * (the store exists) asks the index with the validators of the one it applied, which only the store knows: then only
 * the client is made ahead.
 */
final class OriginHeadStart {
  /** What the thread asks once the checks passed: the index (null: none) and whether this is a first start. */
  private record Plan(IndexFetch.Where index, boolean firstStart) {}

  private static final Plan NOTHING = new Plan(null, false);
  private final CompletableFuture<OriginClient> client = new CompletableFuture<>();
  private final CompletableFuture<Plan> go = new CompletableFuture<>();
  private final CompletableFuture<IndexFetch.Fetched> index = new CompletableFuture<>();
  private volatile boolean indexAhead;

  private OriginHeadStart() {}

  /** Starts making the client for {@code url} now; nothing is sent before {@link #go}. */
  static OriginHeadStart begin(OriginConfig config, HttpUrl url) {
    OriginHeadStart ahead = new OriginHeadStart();
    Thread t = new Thread(() -> ahead.run(config, url), "lazydir-head-start");
    t.setDaemon(true);
    t.start();
    return ahead;
  }

  /**
   * The checks passed: on a first start, asks for the listing at the URL and for the tree index at {@code where}
   * (null: none is looked for); else only warms the connections.
   */
  void go(IndexFetch.Where where, boolean firstStart) {
    indexAhead = firstStart && where != null;
    go.complete(new Plan(where, firstStart));
  }

  private void run(OriginConfig config, HttpUrl url) {
    try {
      ask(config, url);
    } finally {
      // Whatever ended this thread (an Error too: no thread left for a page ahead), nobody waits forever.
      if (!client.isDone()) {
        client.completeExceptionally(new IOException("the origin client could not be made"));
      }
      if (!index.isDone()) {
        index.completeExceptionally(new IOException("the tree index asked for ahead got no answer"));
      }
    }
  }

  private void ask(OriginConfig config, HttpUrl url) {
    OriginClient c;
    try {
      c = new OriginClient(config, url);
    } catch (Throwable e) {
      client.completeExceptionally(e);
      index.completeExceptionally(e);
      return;
    }
    client.complete(c);
    StartTrace.mark("client made");
    Plan plan = go.join();
    if (plan == NOTHING) {
      return;
    }
    if (plan.firstStart()) {
      c.expectPage(url); // on its own connection, while the index is asked for on this one
      StartTrace.mark("top level asked for");
    }
    c.warmConnections(); // the first file read costs one round trip
    if (indexAhead) {
      try {
        index.complete(IndexFetch.fetch(c, plan.index(), null));
      } catch (Throwable e) {
        index.completeExceptionally(e);
      }
      StartTrace.mark("index answered");
    }
  }

  /** The client, once made (the caller closes it). */
  OriginClient client() throws IOException {
    return await(client);
  }

  /**
   * The tree index as the origin answered the request made ahead, if one was made and {@code applied} (the
   * index the store's tree was made from) is none; else asks now, with its validators.
   */
  IndexFetch.Fetched index(OriginClient c, IndexFetch.Where where, IndexFetch.Applied applied) throws IOException {
    return indexAhead && applied == null ? await(index) : IndexFetch.fetch(c, where, applied);
  }

  /** Sends nothing more, and closes the client when it is made (a start that failed before it took it). */
  void abandon() {
    go.complete(NOTHING);
    client.thenAccept(OriginClient::close);
  }

  private static <T> T await(CompletableFuture<T> f) throws IOException {
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while the start waited for the origin");
    } catch (ExecutionException e) {
      throw Failures.asIOException(e.getCause());
    }
  }
}
