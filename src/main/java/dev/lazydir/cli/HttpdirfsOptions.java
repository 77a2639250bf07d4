package dev.lazydir.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.logging.Logger;
import picocli.CommandLine.Option;

/**
 * httpdirfs' options that serve accepts so that an httpdirfs command line works here: those with a meaning do
 * what they say (--cache-clear, --single-file-mode, -d, -o allow_other/uid=/gid=), those lazydir does anyway are
 * accepted quietly (--cache, -f, -o ro), and those with no meaning here are accepted with one warning saying why
 * (--max-seg-count, --no-range-check, -s, other -o FUSE options). httpdirfs options lazydir cannot honour are
 * refused with one sentence ({@link #refusal}). The README's option table lists them all.
 */
final class HttpdirfsOptions {
  private static final Logger LOG = Logger.getLogger(HttpdirfsOptions.class.getName());

  @Option(names = "--cache", description = "httpdirfs: lazydir always keeps what it fetches in the store (accepted, no effect)")
  boolean cache;

  @Option(names = "--cache-clear", description = "httpdirfs: remove DIR's store (refused while a serve uses it) and exit")
  boolean cacheClear;

  @Option(names = "--single-file-mode", description = "httpdirfs: URL names one file, whatever it holds; DIR shows that"
      + " file (it is probed, never read as a listing)")
  boolean singleFileMode;

  @Option(names = "--max-seg-count", paramLabel = "N", description = "httpdirfs: accepted, no effect (lazydir has no"
      + " file size limit: a huge file's segments grow instead)")
  Long maxSegCount;

  @Option(names = "--no-range-check", description = "httpdirfs: accepted, no effect (lazydir needs no range check:"
      + " an origin that ignores ranges is read from the start)")
  boolean noRangeCheck;

  @Option(names = "-f", description = "httpdirfs: stay in the foreground (lazydir's default; see --daemon)")
  boolean foreground;

  @Option(names = {"-d", "--debug"}, description = "httpdirfs: debug messages (as -vv), in the foreground")
  boolean debug;

  @Option(names = "-s", description = "httpdirfs (FUSE single thread): accepted, no effect")
  boolean singleThread;

  @Option(names = "-o", paramLabel = "OPT[,OPT...]", split = ",",
      description = "httpdirfs (FUSE options): allow_other, uid=N and gid=N as --allow-other, --uid, --gid; ro is"
          + " always so; others have no meaning here and are ignored with a warning")
  List<String> fuseOptions = new ArrayList<>();

  /** Applies what has a meaning, warns once about each option that has none; refuses contradictions. */
  void applyTo(AccessOptions access, boolean daemon) {
    checkForeground(daemon);
    if (maxSegCount != null) {
      if (maxSegCount < 1) {
        throw new IllegalArgumentException("--max-seg-count must be at least 1, not " + maxSegCount);
      }
      LOG.warning("--max-seg-count has no effect: lazydir has no file size limit (a huge file gets larger segments)");
    }
    if (noRangeCheck) {
      LOG.warning("--no-range-check has no effect: lazydir does not probe for range support (an origin that ignores"
          + " ranges is read from the start)");
    }
    if (singleThread) {
      LOG.warning("-s has no effect: lazydir is not a FUSE filesystem (its threads answer readers independently)");
    }
    for (String raw : fuseOptions) {
      String o = raw.strip();
      int eq = o.indexOf('=');
      String key = eq < 0 ? o : o.substring(0, eq);
      String value = eq < 0 ? null : o.substring(eq + 1);
      switch (key) {
        case "" -> { }
        case "ro" -> { } // the view is always read-only
        case "allow_other" -> access.allowOther = true;
        case "uid", "gid" -> {
          if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException("-o " + key + " needs a value: -o " + key + "=N");
          }
          if (key.equals("uid")) {
            access.uid = access.uid == null ? value : access.uid;
          } else {
            access.gid = access.gid == null ? value : access.gid;
          }
        }
        case "rw" -> throw new IllegalArgumentException("-o rw: the view is read-only; lazydir cannot serve it writable");
        default -> LOG.warning("-o " + o + " has no meaning here: lazydir is not a FUSE filesystem (ignored)");
      }
    }
  }

  /** -f and -d contradict --daemon. */
  void checkForeground(boolean daemon) {
    if ((foreground || debug) && daemon) {
      throw new IllegalArgumentException((debug ? "-d" : "-f") + " keeps serve in the foreground and --daemon sends it"
          + " to the background; give one of them");
    }
  }

  /** httpdirfs options lazydir does not take, each with the sentence that says why; null for any other option. */
  static String refusal(String option) {
    String name = option.contains("=") ? option.substring(0, option.indexOf('=')) : option;
    return switch (name) {
      case "--cache-min-size" -> name + " is httpdirfs' and has no equivalent: lazydir bounds the store as a whole"
          + " (--cache-max-size, --min-free-space), not the files it keeps";
      case "--zero-len-is-dir" -> name + " is httpdirfs' and has no equivalent: lazydir tells directories by the"
          + " trailing slash of their links";
      case "--invalid-refresh" -> name + " is httpdirfs' and has no equivalent: lazydir lists a directory again"
          + " after --refresh-timeout";
      case "--external-links" -> name + " is httpdirfs' and has no equivalent: lazydir serves only links below the"
          + " origin's URL";
      case "--proxy-capath" -> name + ": HTTPS proxies are not supported (lazydir talks plain HTTP or SOCKS5 to a"
          + " proxy), so a CA directory for the proxy cannot apply";
      case "--sonic-username", "--sonic-password", "--sonic-id3", "--sonic-insecure" -> name + " is httpdirfs'"
          + " Airsonic/Subsonic mode, which lazydir does not have: it serves HTTP directory listings";
      default -> null;
    };
  }
}
