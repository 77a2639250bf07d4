package dev.lazydir.cli;

import dev.lazydir.origin.OriginConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;
import okhttp3.HttpUrl;
import picocli.CommandLine.Option;

/** Options for reaching the origin; names follow httpdirfs where the concept is the same. */
final class OriginOptions {
  private static final Logger LOG = Logger.getLogger(OriginOptions.class.getName());
  static final String PASSWORD_ENV = "LAZYDIR_PASSWORD";
  static final String PROXY_PASSWORD_ENV = "LAZYDIR_PROXY_PASSWORD";

  @Option(names = {"-u", "--username"}, description = "HTTP user name")
  String username;

  @Option(names = {"-p", "--password"}, description = "HTTP password (visible in ps: prefer --password-file or $"
      + PASSWORD_ENV + ")")
  String password;

  @Option(names = "--password-file", paramLabel = "FILE", description = "read the HTTP password from FILE (first line)")
  Path passwordFile;

  @Option(names = {"-P", "--proxy"}, paramLabel = "URL", description = "proxy: [http://|socks5://]host:port")
  String proxy;

  @Option(names = "--proxy-username", description = "proxy user name")
  String proxyUsername;

  @Option(names = "--proxy-password", description = "proxy password (prefer --proxy-password-file or $"
      + PROXY_PASSWORD_ENV + ")")
  String proxyPassword;

  @Option(names = "--proxy-password-file", paramLabel = "FILE", description = "read the proxy password from FILE")
  Path proxyPasswordFile;

  @Option(names = "--cacert", paramLabel = "FILE", description = "trust only the CA certificates in this PEM file")
  Path cacert;

  @Option(names = "--capath", paramLabel = "DIR", description = "trust only the CA certificates in the files of DIR"
      + " (with --cacert: both)")
  Path capath;

  @Option(names = "--proxy-cacert", paramLabel = "FILE", description = "CA file for an HTTPS proxy (not supported: refused)")
  Path proxyCacert;

  @Option(names = "--insecure-tls", description = "do not verify the origin's TLS certificate or host name")
  boolean insecureTls;

  @Option(names = "--user-agent", description = "User-Agent header (default: lazydir/VERSION)")
  String userAgent;

  @Option(names = "--http-header", paramLabel = "'NAME: VALUE'", description = "extra request header (repeatable)")
  List<String> headers = new ArrayList<>();

  @Option(names = "--max-conns", description = "at most this many requests to the origin at once (default: ${DEFAULT-VALUE})")
  int maxConns = 10;

  @Option(names = "--retries", description = "tries per request, the first included (default: ${DEFAULT-VALUE})")
  int retries = 4;

  @Option(names = "--retry-wait", paramLabel = "SECONDS",
      description = "first wait before a retry; doubles each time (default: ${DEFAULT-VALUE})")
  double retryWait = 1;

  @Option(names = "--max-retry-wait", paramLabel = "SECONDS",
      description = "longest wait before a retry; a longer Retry-After is an error (default: ${DEFAULT-VALUE})")
  double maxRetryWait = 30;

  @Option(names = "--timeout", paramLabel = "SECONDS", description = "connect/read timeout per request (default: ${DEFAULT-VALUE})")
  double timeout = 30;

  @Option(names = "--stall-timeout", paramLabel = "SECONDS",
      description = "a file transfer that receives no byte for this long is resumed on a fresh connection"
          + " (default: ${DEFAULT-VALUE})")
  double stallTimeout = 10;

  @Option(names = "--refresh-timeout", paramLabel = "SECONDS",
      description = "a listed directory is listed again after this long (default: ${DEFAULT-VALUE})")
  long refreshTimeout = 3600;

  @Option(names = "--mirror", paramLabel = "URL",
      description = "another server holding the same tree (same paths, same modification times), tried in order"
          + " when the origin fails or a server serves a wrong version or wrong bytes (repeatable)")
  List<String> mirrors = new ArrayList<>();

  @Option(names = "--config", paramLabel = "FILE",
      description = "read options from FILE, one per line ('--name value' or 'name=value'; # comments);"
          + " options on the command line win")
  Path config;

  /** Builds the client settings; credentials in the URL are used when no option gives them. */
  OriginConfig toConfig(HttpUrl url, Map<String, String> env, String version) throws IOException {
    for (String h : headers) {
      int colon = h.indexOf(':');
      if (colon <= 0) {
        throw new IllegalArgumentException("--http-header '" + h + "': expected 'Name: value'");
      }
    }
    atLeast("--max-conns", maxConns, 1, "");
    if (maxConns > MAX_CONNS) {
      throw new IllegalArgumentException("--max-conns must be at most " + MAX_CONNS + " (each connection's transfer"
          + " keeps 512 KiB of buffers, and more to one origin gains nothing), not " + maxConns);
    }
    atLeast("--retries", retries, 1, " (the first try counts: 1 means no retry)");
    if (refreshTimeout < 0) {
      throw new IllegalArgumentException("--refresh-timeout must be 0 (list again at every open) or more seconds, not "
          + refreshTimeout);
    }
    positive("--timeout", timeout);
    positive("--stall-timeout", stallTimeout);
    if (maxRetryWait < retryWait) {
      throw new IllegalArgumentException("--max-retry-wait (" + maxRetryWait + " s) must not be shorter than --retry-wait ("
          + retryWait + " s)");
    }
    if (proxyCacert != null) {
      throw new IllegalArgumentException("--proxy-cacert: HTTPS proxies are not supported (lazydir talks plain HTTP or"
          + " SOCKS5 to a proxy), so a CA file for the proxy cannot apply");
    }
    readableFile("--cacert", cacert, "a PEM file of CA certificates");
    readableFile("--password-file", passwordFile, "a file whose first line is the password");
    readableFile("--proxy-password-file", proxyPasswordFile, "a file whose first line is the password");
    if (capath != null && !Files.isDirectory(capath)) {
      throw new IllegalArgumentException("--capath " + capath + ": " + (Files.exists(capath) ? "not a directory"
          : "no such directory") + "; give a directory of PEM files (for one file, use --cacert)");
    }
    if (password != null) {
      LOG.warning("--password is visible to every user in ps; prefer --password-file or $" + PASSWORD_ENV);
    }
    String user = username != null ? username : (url.username().isEmpty() ? null : url.username());
    String pass = firstOf(password, readSecret(passwordFile), env.get(PASSWORD_ENV),
        url.password().isEmpty() ? null : url.password());
    String proxyPass = firstOf(proxyPassword, readSecret(proxyPasswordFile), env.get(PROXY_PASSWORD_ENV));
    if (pass != null && user == null) {
      throw new IllegalArgumentException("a password was given but no --username");
    }
    return OriginConfig.builder()
        .username(user)
        .password(pass)
        .proxy(proxy)
        .proxyUsername(proxyUsername)
        .proxyPassword(proxyPass)
        .cacert(cacert)
        .proxyCacert(proxyCacert)
        .capath(capath)
        .insecureTls(insecureTls)
        .userAgent(userAgent != null ? userAgent : "lazydir/" + version)
        .maxConns(maxConns)
        .retries(retries)
        .retryWait(seconds(retryWait, "--retry-wait"))
        .maxRetryWait(seconds(maxRetryWait, "--max-retry-wait"))
        .timeout(seconds(timeout, "--timeout"))
        .stallTimeout(seconds(stallTimeout, "--stall-timeout"))
        .refreshTimeout(Duration.ofSeconds(refreshTimeout))
        .headers(headers)
        .mirrors(mirrorUrls())
        .build();
  }

  private List<HttpUrl> mirrorUrls() {
    List<HttpUrl> urls = new ArrayList<>();
    for (String m : mirrors) {
      HttpUrl u = HttpUrl.parse(m);
      if (u == null) {
        throw new IllegalArgumentException("--mirror '" + m + "' is not an http:// or https:// URL; give the base URL"
            + " of the tree on that server, e.g. --mirror https://mirror.example/pub/tree/");
      }
      if (!u.encodedPath().endsWith("/")) {
        u = u.newBuilder().encodedPath(u.encodedPath() + "/").build();
      }
      urls.add(u);
    }
    return urls;
  }

  /** Connections to one origin at most: their transfer buffers stay within the launcher's direct-memory cap. */
  static final int MAX_CONNS = 64;

  private static void atLeast(String option, long value, long min, String note) {
    if (value < min) {
      throw new IllegalArgumentException(option + " must be at least " + min + note + ", not " + value);
    }
  }

  private static void positive(String option, double seconds) {
    if (!(seconds > 0) || Double.isInfinite(seconds)) {
      throw new IllegalArgumentException(option + " must be more than 0 seconds, not " + seconds);
    }
  }

  private static void readableFile(String option, Path file, String what) {
    if (file == null) {
      return;
    }
    if (!Files.exists(file)) {
      throw new IllegalArgumentException(option + " " + file + ": no such file; give " + what);
    }
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException(option + " " + file + ": not a file; give " + what);
    }
    if (!Files.isReadable(file)) {
      throw new IllegalArgumentException(option + " " + file + ": not readable by this user; give " + what);
    }
  }

  private static Duration seconds(double s, String option) {
    if (s < 0 || Double.isNaN(s) || Double.isInfinite(s)) {
      throw new IllegalArgumentException(option + " must be 0 or more seconds, not " + s);
    }
    return Duration.ofNanos((long) (s * 1e9));
  }

  private static String readSecret(Path file) throws IOException {
    if (file == null) {
      return null;
    }
    List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    return lines.isEmpty() ? "" : lines.get(0);
  }

  @SafeVarargs
  private static <T> T firstOf(T... values) {
    for (T v : values) {
      if (v != null) {
        return v;
      }
    }
    return null;
  }
}
