package dev.lazydir.serve;

import dev.lazydir.index.IndexFetch;
import dev.lazydir.internal.StartTrace;
import dev.lazydir.origin.OriginClient;
import dev.lazydir.origin.OriginConfig;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import okhttp3.HttpUrl;

/**
 * The network's part of a first start, begun before the local part: on a thread of its own, the origin client is
 * made, the top level's listing is asked for ({@link OriginClient#expectPage}) and, at the same time, the tree index
 * at its default place or where --index says. Over a network each of these is a round trip or two (a new connection's
 * handshake, then the answer) that used to wait for the checks, the store, the fanotify group and each other; they
 * now run while this thread's caller makes the store and opens the fanotify group (after its checks: a refused start
 * asks the origin nothing). Nothing here touches the disk. A restart (the store exists) asks the index with the
 * validators of the one it applied, which only the store knows: then only the client is made ahead.
 */
final class OriginHeadStart {
  private final CompletableFuture<OriginClient> client = new CompletableFuture<>();
  private final CompletableFuture<IndexFetch.Fetched> index = new CompletableFuture<>();
  private final boolean indexAhead;

  private OriginHeadStart(boolean indexAhead) {
    this.indexAhead = indexAhead;
  }

  /**
   * Starts making the client for {@code url}; firstStart: also asks for the listing at {@code url} and for the tree
   * index at {@code index} (null: none is looked for).
   */
  static OriginHeadStart begin(OriginConfig config, HttpUrl url, IndexFetch.Where index, boolean firstStart) {
    OriginHeadStart ahead = new OriginHeadStart(firstStart && index != null);
    Thread t = new Thread(() -> ahead.run(config, url, index, firstStart), "lazydir-head-start");
    t.setDaemon(true);
    t.start();
    return ahead;
  }

  private void run(OriginConfig config, HttpUrl url, IndexFetch.Where where, boolean firstStart) {
    OriginClient c;
    try {
      c = new OriginClient(config, url);
    } catch (Throwable e) {
      client.completeExceptionally(e);
      index.completeExceptionally(e);
      return;
    }
    if (firstStart) {
      c.expectPage(url); // on its own connection, while the index is asked for on this one
    }
    client.complete(c);
    StartTrace.mark("client made, top level asked for");
    c.warmConnections(); // the first file read costs one round trip
    if (indexAhead) {
      try {
        index.complete(IndexFetch.fetch(c, where, null));
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

  /** Closes the client when it is made (a start that failed before it asked for it). */
  void abandon() {
    client.thenAccept(OriginClient::close);
  }

  private static <T> T await(CompletableFuture<T> f) throws IOException {
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while the start waited for the origin");
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof IOException io) {
        throw io;
      }
      if (cause instanceof RuntimeException re) {
        throw re;
      }
      if (cause instanceof Error err) {
        throw err;
      }
      throw new IOException(cause);
    }
  }
}
