package dev.lazydir.origin;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import okhttp3.ConnectionPool;
import okhttp3.Credentials;
import okhttp3.Dispatcher;
import okhttp3.HttpUrl;
import okhttp3.OkHttpClient;
import okhttp3.Request;

/**
 * Builds the OkHttpClient of one origin from its {@link OriginConfig}: at most {@code maxConns} connections, the
 * timeouts, redirects followed; the user agent on every request, and the credentials and the user's extra
 * headers on requests to the origin's own scheme, host and port only (a network interceptor sees every hop, so a
 * redirect elsewhere never gets them); the proxy (plain HTTP or SOCKS5, basic credentials for HTTP) and the
 * trust (--cacert, --insecure-tls). A setting that cannot be honoured is an IllegalArgumentException naming the
 * option, never silently ignored.
 */
final class OkHttpFactory {
  private OkHttpFactory() {}

  /** The Authorization value for the origin (basic, UTF-8), or null without a username. */
  static String basicAuth(OriginConfig config) {
    return config.username == null ? null
        : Credentials.basic(config.username, config.password == null ? "" : config.password, StandardCharsets.UTF_8);
  }

  static OkHttpClient build(OriginConfig config, HttpUrl origin) throws IOException {
    Dispatcher dispatcher = new Dispatcher();
    dispatcher.setMaxRequests(config.maxConns);
    dispatcher.setMaxRequestsPerHost(config.maxConns);
    OkHttpClient.Builder b = new OkHttpClient.Builder()
        .dispatcher(dispatcher)
        .connectionPool(new ConnectionPool(config.maxConns, 5, TimeUnit.MINUTES))
        .connectTimeout(config.timeout)
        .readTimeout(config.timeout)
        .writeTimeout(config.timeout)
        .followRedirects(true)
        .followSslRedirects(true)
        .retryOnConnectionFailure(true);

    String basic = basicAuth(config);
    // A network interceptor sees every hop, redirects included: credentials and the user's extra headers
    // (API keys, cookies) go only to the origin's own scheme, host and port, never to a redirect elsewhere.
    b.addNetworkInterceptor(chain -> {
      Request.Builder r = chain.request().newBuilder().header("User-Agent", config.userAgent);
      HttpUrl url = chain.request().url();
      if (url.scheme().equals(origin.scheme()) && url.host().equals(origin.host()) && url.port() == origin.port()) {
        for (String h : config.headers) {
          int colon = h.indexOf(':');
          r.header(h.substring(0, colon).trim(), h.substring(colon + 1).trim());
        }
        if (basic != null && chain.request().header("Authorization") == null) {
          r.header("Authorization", basic);
        }
      } else {
        r.removeHeader("Authorization");
      }
      return chain.proceed(r.build());
    });

    if (config.proxy != null) {
      configureProxy(b, config);
    } else if (config.proxyCacert != null) {
      throw new IllegalArgumentException("--proxy-cacert needs --proxy");
    }
    configureTls(b, config);
    return b.build();
  }

  private static void configureProxy(OkHttpClient.Builder b, OriginConfig config) {
    String spec = config.proxy.contains("://") ? config.proxy : "http://" + config.proxy;
    String scheme = spec.substring(0, spec.indexOf("://")).toLowerCase(Locale.ROOT);
    HttpUrl parsed = HttpUrl.parse("http" + spec.substring(spec.indexOf("://")));
    if (parsed == null) {
      throw new IllegalArgumentException("--proxy: cannot parse the proxy setting (expected [http://|socks5://][user:password@]host:port)");
    }
    Proxy.Type type;
    switch (scheme) {
      case "http" -> type = Proxy.Type.HTTP;
      case "socks5", "socks5h", "socks" -> type = Proxy.Type.SOCKS;
      case "https" -> throw new IllegalArgumentException(
          "--proxy: HTTPS proxies are not supported (lazydir talks plain HTTP or SOCKS5 to a proxy), so --proxy-cacert cannot apply");
      default -> throw new IllegalArgumentException("--proxy: unsupported scheme '" + scheme + "' (use http:// or socks5://)");
    }
    if (config.proxyCacert != null) {
      throw new IllegalArgumentException(
          "--proxy-cacert: HTTPS proxies are not supported (lazydir talks plain HTTP or SOCKS5 to a proxy)");
    }
    int port = spec.matches(".*:\\d+/?$") ? parsed.port() : 1080;
    b.proxy(new Proxy(type, InetSocketAddress.createUnresolved(parsed.host(), port)));
    String proxyUser = config.proxyUsername != null ? config.proxyUsername
        : parsed.username().isEmpty() ? null : parsed.username();
    String proxyPass = config.proxyPassword != null ? config.proxyPassword
        : parsed.password().isEmpty() ? null : parsed.password();
    if (proxyUser != null) {
      if (type == Proxy.Type.SOCKS) {
        throw new IllegalArgumentException("--proxy: SOCKS proxy authentication is not supported");
      }
      String credential = Credentials.basic(proxyUser, proxyPass == null ? "" : proxyPass);
      b.proxyAuthenticator((route, response) -> {
        if (response.request().header("Proxy-Authorization") != null) {
          return null; // already tried these credentials: give up rather than loop
        }
        return response.request().newBuilder().header("Proxy-Authorization", credential).build();
      });
    }
  }

  private static void configureTls(OkHttpClient.Builder b, OriginConfig config) throws IOException {
    try {
      X509TrustManager trust;
      if (config.insecureTls) {
        trust = new X509TrustManager() {
          @Override public void checkClientTrusted(X509Certificate[] chain, String authType) {}
          @Override public void checkServerTrusted(X509Certificate[] chain, String authType) {}
          @Override public X509Certificate[] getAcceptedIssuers() { return new X509Certificate[0]; }
        };
        b.hostnameVerifier((host, session) -> true);
      } else if (config.cacert != null || config.capath != null) {
        KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
        store.load(null, null);
        int i = 0;
        if (config.cacert != null) {
          Collection<? extends Certificate> certs;
          try (InputStream in = Files.newInputStream(config.cacert)) {
            certs = CertificateFactory.getInstance("X.509").generateCertificates(in);
          }
          if (certs.isEmpty()) {
            throw new IOException("--cacert " + config.cacert + ": no certificate found in the file");
          }
          for (Certificate c : certs) {
            store.setCertificateEntry("ca" + i++, c);
          }
        }
        if (config.capath != null) {
          // Like OpenSSL's CApath: every file in the directory that holds certificates (hash links included).
          int before = i;
          try (var files = Files.list(config.capath)) {
            for (java.nio.file.Path f : (Iterable<java.nio.file.Path>) files.sorted()::iterator) {
              if (!Files.isRegularFile(f)) {
                continue;
              }
              try (InputStream in = Files.newInputStream(f)) {
                for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                  store.setCertificateEntry("ca" + i++, c);
                }
              } catch (java.security.cert.CertificateException notACertificate) {
                // another kind of file in the directory
              }
            }
          }
          if (i == before) {
            throw new IOException("--capath " + config.capath + ": no certificate found in the directory's files");
          }
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(store);
        trust = (X509TrustManager) tmf.getTrustManagers()[0];
      } else {
        return;
      }
      SSLContext ssl = SSLContext.getInstance("TLS");
      ssl.init(null, new TrustManager[] {trust}, null);
      b.sslSocketFactory(ssl.getSocketFactory(), trust);
    } catch (GeneralSecurityException e) {
      throw new IOException("TLS setup failed: " + e.getMessage(), e);
    }
  }
}
