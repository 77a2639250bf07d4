package dev.lazydir.cli;

/**
 * A serve's first classes, made ready on a second thread while the main thread parses the command line (picocli
 * builds every command's options first): meanwhile this thread binds libc through jnr-ffi (which generates its
 * stubs' bytecode at run time, so no class-data-sharing archive holds them), initializes OkHttp with the JVM's TLS
 * trust store, and loads the crawler and the stub tree, all of which the start needs next. It only loads and initializes classes: it opens nothing, sends nothing, and a failure here
 * is the main thread's to meet when it gets there.
 */
final class StartAhead {
  private StartAhead() {}

  static void begin(String[] args) {
    if (!java.util.Arrays.asList(args).contains("serve")) {
      return;
    }
    Thread t = new Thread(StartAhead::load, "lazydir-start-ahead");
    t.setDaemon(true);
    t.start();
  }

  private static void load() {
    try {
      // In the order the main thread needs them: the URL argument, the checks (libc, fanotify), the client.
      ClassLoader loader = StartAhead.class.getClassLoader();
      okhttp3.HttpUrl.get("http://localhost/");
      Class.forName("dev.lazydir.internal.posix.Posix", true, loader); // the libc binding
      Class.forName("dev.lazydir.fanotify.FanotifyNative", true, loader);
      new okhttp3.OkHttpClient.Builder().build(); // the platform's TLS defaults, shared by every client
      for (String name : new String[] {"dev.lazydir.origin.OriginClient", "dev.lazydir.crawl.Crawler",
          "dev.lazydir.tree.StubTree", "dev.lazydir.serve.Daemon", "dev.lazydir.serve.NamespaceCrawl"}) {
        Class.forName(name, true, loader);
      }
    } catch (Throwable e) {
      // only a head start: the main thread loads what it needs itself, and says what fails
    }
  }
}
