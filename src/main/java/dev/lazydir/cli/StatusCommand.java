package dev.lazydir.cli;

import dev.lazydir.serve.StoreLayout;
import dev.lazydir.serve.TreeStatus;
import dev.lazydir.internal.posix.Fd;
import dev.lazydir.internal.posix.Posix;
import dev.lazydir.tree.EntryMeta;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(name = "status", mixinStandardHelpOptions = true,
    description = {"Show what a served DIR holds: origin, daemon pid and uptime, directories listed/known, files"
        + " populated/partial/stub, bytes populated/total, requests and bytes fetched."},
    footer = {"", ExitCodes.HELP})
final class StatusCommand implements Callable<Integer> {
  @ParentCommand
  LazydirCommand parent;

  @Mixin
  ServedView view = new ServedView();

  @Option(names = "--json", description = "one JSON object")
  boolean json;

  /** What the tree holds, in this order: from the daemon's counters, or from a walk of the store. */
  private static final String[] TREE_KEYS = {"dirs_listed", "dirs_known", "files_populated", "files_partial",
      "files_stub", "bytes_populated", "bytes_total"};

  @Override
  public Integer call() throws Exception {
    StoreLayout layout = view.layout();
    Path dir = view.dir;
    if (!Files.isDirectory(layout.tree())) {
      throw new java.io.IOException(dir + " has no lazydir store at " + layout.store() + "; give the DIR that lazydir"
          + " serve was given (not a path inside it), and --store if serve was given one");
    }
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("dir", dir.toAbsolutePath().normalize().toString());
    s.put("store", layout.store().toAbsolutePath().normalize().toString());
    try (Fd root = Posix.open(layout.tree().toString(), Posix.O_RDONLY | Posix.O_DIRECTORY)) {
      s.put("origin", root.getXattrString(EntryMeta.ORIGIN_XATTR).orElse(""));
    }
    Map<String, String> state = parse(layout.readState());
    long pid = Long.parseLong(state.getOrDefault("pid", "-1"));
    boolean running = pid > 0 && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    s.put("running", running);
    if (running) {
      s.put("pid", pid);
      s.put("uptime_seconds", Duration.between(Instant.ofEpochSecond(Long.parseLong(state.get("started"))), Instant.now()).toSeconds());
      for (String k : new String[] {"requests", "fetched_bytes", "fetches", "events", "denied"}) {
        s.put(k, Long.parseLong(state.getOrDefault(k, "0")));
      }
      for (String k : new String[] {"cache_bytes", "cache_max", "cache_min_free", "cache_max_age", "evictions",
          "evicted_bytes", "opens",
          "opens_fetching"}) {
        s.put(k, Long.parseLong(state.getOrDefault(k, "0")));
      }
      s.put("crawl", state.getOrDefault("crawl", "off"));
      s.put("crawl_dirs", Long.parseLong(state.getOrDefault("crawl_dirs", "0")));
      s.put("recent_denials", denials(state));
    }
    if (running && state.containsKey("tree.dirs_known")) {
      // The serving daemon's counters (written every second): constant time at any tree size.
      for (String k : TREE_KEYS) {
        s.put(k, Long.parseLong(state.getOrDefault("tree." + k, "0")));
      }
    } else {
      // No daemon keeps counts: walk the store.
      TreeStatus t = TreeStatus.of(layout.tree());
      s.put("dirs_listed", t.dirsListed());
      s.put("dirs_known", t.dirsKnown());
      s.put("files_populated", t.filesComplete());
      s.put("files_partial", t.filesPartial());
      s.put("files_stub", t.filesStub());
      s.put("bytes_populated", t.bytesPresent());
      s.put("bytes_total", t.bytesTotal());
    }
    print(parent.out(), s);
    return ExitCodes.OK;
  }

  private void print(PrintStream out, Map<String, Object> s) {
    if (json) {
      StringBuilder sb = new StringBuilder("{");
      s.forEach((k, v) -> sb.append(sb.length() > 1 ? "," : "").append('"').append(k).append("\":")
          .append(v instanceof String str ? quote(str) : v instanceof List<?> l ? denialsJson(l) : String.valueOf(v)));
      out.println(sb.append('}'));
      return;
    }
    out.println("origin:      " + s.get("origin"));
    out.println("view:        " + s.get("dir") + (Boolean.TRUE.equals(s.get("running"))
        ? "  (served by pid " + s.get("pid") + ", up " + s.get("uptime_seconds") + " s)" : "  (not served)"));
    out.println("store:       " + s.get("store"));
    out.println("directories: " + s.get("dirs_listed") + " listed of " + s.get("dirs_known") + " known");
    if (Boolean.TRUE.equals(s.get("running"))) {
      out.println("namespace:   " + switch (String.valueOf(s.get("crawl"))) {
        case "complete" -> "complete (" + s.get("crawl_dirs") + " directories listed)";
        case "incomplete" -> "incomplete (" + s.get("crawl_dirs") + " directories listed; see the log)";
        case "running" -> "being listed (" + s.get("crawl_dirs") + " directories so far)";
        default -> "lazy (each directory is listed when first opened)";
      });
    }
    out.println("files:       " + s.get("files_populated") + " populated, " + s.get("files_partial") + " partial, "
        + s.get("files_stub") + " stubs");
    out.println("bytes:       " + s.get("bytes_populated") + " populated of " + s.get("bytes_total"));
    if (Boolean.TRUE.equals(s.get("running"))) {
      out.println("origin I/O:  " + s.get("requests") + " requests, " + s.get("fetched_bytes") + " bytes fetched in "
          + s.get("fetches") + " range requests; " + s.get("events") + " events, " + s.get("denied") + " denied");
      long cap = (Long) s.get("cache_max");
      long opens = (Long) s.get("opens");
      long fetching = Math.min(opens, (Long) s.get("opens_fetching"));
      out.println("cache:       " + dev.lazydir.serve.CacheLimits.human((Long) s.get("cache_bytes")) + " on disk"
          + (cap > 0 ? " of " + dev.lazydir.serve.CacheLimits.human(cap) + " (--cache-max-size)" : " (no size bound)")
          + "; " + s.get("evictions") + " evictions (" + dev.lazydir.serve.CacheLimits.human((Long) s.get("evicted_bytes"))
          + ")");
      boolean bounded = cap > 0 || (Long) s.get("cache_min_free") > 0 || !"0".equals(String.valueOf(s.get("cache_max_age")));
      out.println("opens:       " + (bounded ? opens + " through DIR: " + (opens - fetching) + " hits (complete), "
          + fetching + " fetched" : fetching + " fetched (hits are counted with a cache bound)"));
      for (Object d : (List<?>) s.get("recent_denials")) {
        Denial denial = (Denial) d;
        out.println("  denied " + java.time.LocalTime.ofInstant(denial.at(), java.time.ZoneId.systemDefault())
            .truncatedTo(java.time.temporal.ChronoUnit.SECONDS) + " " + errnoName(denial.errno()) + ": " + denial.why());
      }
    }
  }

  /** A reader the daemon refused: when, with which errno, and why. */
  record Denial(Instant at, int errno, String why) {}

  /** The daemon's recent denials, oldest first, from its "denial.N=EPOCH ERRNO WHY" state lines. */
  private static List<Denial> denials(Map<String, String> state) {
    List<Denial> list = new java.util.ArrayList<>();
    for (int i = 0; state.containsKey("denial." + i); i++) {
      String[] f = state.get("denial." + i).split(" ", 3);
      try {
        list.add(new Denial(Instant.ofEpochSecond(Long.parseLong(f[0])), Integer.parseInt(f[1]),
            f.length > 2 ? f[2] : ""));
      } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
        // a line from another version: skipped
      }
    }
    return list;
  }

  private static String errnoName(int errno) {
    return switch (errno) {
      case 5 -> "EIO";
      case 28 -> "ENOSPC";
      default -> "errno " + errno;
    };
  }

  private static String denialsJson(List<?> denials) {
    StringBuilder sb = new StringBuilder("[");
    for (Object o : denials) {
      Denial d = (Denial) o;
      sb.append(sb.length() > 1 ? "," : "").append("{\"at\":").append(d.at().getEpochSecond())
          .append(",\"errno\":").append(d.errno()).append(",\"why\":").append(quote(d.why())).append('}');
    }
    return sb.append(']').toString();
  }

  /** The daemon's state file as keys and values (empty when there is none). */
  static Map<String, String> parse(Optional<String> state) {
    Map<String, String> m = new LinkedHashMap<>();
    state.ifPresent(text -> text.lines().forEach(l -> {
      int eq = l.indexOf('=');
      if (eq > 0) {
        m.put(l.substring(0, eq), l.substring(eq + 1));
      }
    }));
    return m;
  }

  private static String quote(String s) {
    StringBuilder sb = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        default -> {
          if (c < 0x20) {
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    return sb.append('"').toString();
  }
}
