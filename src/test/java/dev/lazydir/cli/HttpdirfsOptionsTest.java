package dev.lazydir.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The README's httpdirfs option table is what serve does: every option it lists as the same, mapped or accepted
 * gets past the command line, every refused one is one sentence naming it (never "Unknown option" and the full
 * help), and the mappings do what the table says.
 */
class HttpdirfsOptionsTest {
  @TempDir Path tmp;

  record Row(List<List<String>> examples, String kind, String line) {}

  /** The table between the README's httpdirfs-options markers. */
  static List<Row> table() throws Exception {
    String readme = Files.readString(Path.of("README.md"));
    int from = readme.indexOf("<!-- httpdirfs-options -->");
    int to = readme.indexOf("<!-- /httpdirfs-options -->");
    assertTrue(from >= 0 && to > from, "the README has the httpdirfs option table");
    List<Row> rows = new ArrayList<>();
    for (String line : readme.substring(from, to).lines().toList()) {
      if (!line.startsWith("| `")) {
        continue;
      }
      String[] cols = line.split("\\|");
      List<List<String>> examples = new ArrayList<>();
      java.util.regex.Matcher m = java.util.regex.Pattern.compile("`([^`]+)`").matcher(cols[1]);
      while (m.find()) {
        examples.add(List.of(m.group(1).split(" ")));
      }
      String kind = cols[2].strip().split("[ :,]")[0];
      rows.add(new Row(examples, kind, line));
    }
    return rows;
  }

  record Result(int exit, String out, String err) {}

  Result run(List<String> args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int exit = Cli.run(args.toArray(String[]::new), new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8), Map.of("HOME", tmp.resolve("home").toString()));
    return new Result(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  private List<String> concrete(List<String> example) throws Exception {
    List<String> args = new ArrayList<>();
    for (String token : example) {
      args.add(switch (token) {
        case "FILE" -> Files.writeString(tmp.resolve("file-" + args.size()), "").toString();
        case "DIR" -> Files.createDirectories(tmp.resolve("dir-" + args.size())).toString();
        case "PATH" -> tmp.resolve("path-" + args.size()).toString();
        default -> token;
      });
    }
    return args;
  }

  @Test
  void everyOptionOfTheTableIsTakenOrRefusedAsTheTableSays() throws Exception {
    List<Row> rows = table();
    assertTrue(rows.size() >= 25, "the table lists httpdirfs' options: " + rows.size());
    String view = tmp.resolve("view").toString();
    int checked = 0;
    for (Row row : rows) {
      assertTrue(List.of("same", "mapped", "accepted", "refused").contains(row.kind()), "kind of: " + row.line());
      for (List<String> example : row.examples()) {
        if (!example.get(0).startsWith("-")) {
          continue; // a value in the second column's words, not an example
        }
        List<String> args = new ArrayList<>(List.of("serve"));
        args.addAll(concrete(example));
        if (row.kind().equals("refused")) {
          args.addAll(List.of("http://127.0.0.1:1/", view));
          Result r = run(args);
          assertEquals(ExitCodes.USAGE, r.exit(), row.line() + "\n" + r.err());
          List<String> lines = r.err().lines().toList();
          assertEquals(2, lines.size(), "one sentence and a hint: " + r.err());
          assertTrue(lines.get(0).contains(example.get(0)) && !lines.get(0).contains("Unknown option"),
              "the refusal names " + example.get(0) + " and says why: " + r.err());
        } else {
          // A range error after it shows the option got past the command line into serve itself.
          args.addAll(List.of("--readahead", "-1", "http://127.0.0.1:1/", view));
          Result r = run(args);
          assertEquals(ExitCodes.USAGE, r.exit(), row.line() + "\n" + r.err());
          assertTrue(r.err().startsWith("lazydir: --readahead must be 0"), example + " is taken: " + r.err());
        }
        checked++;
      }
    }
    assertTrue(checked >= 40, "examples checked: " + checked);
    assertFalse(Files.exists(Path.of(view)), "nothing was created");
  }

  private ServeCommand parsed(String... args) {
    LazydirCommand top = new LazydirCommand(System.out, System.err);
    CommandLine cl = new CommandLine(top);
    List<String> all = new ArrayList<>(List.of("serve"));
    all.addAll(List.of(args));
    all.addAll(List.of("http://h/", "/v"));
    cl.parseArgs(all.toArray(String[]::new));
    return cl.getSubcommands().get("serve").getCommand();
  }

  @Test
  void theMappingsDoWhatTheTableSays() {
    assertEquals(Path.of("/srv/cache"), parsed("--cache-location", "/srv/cache").store);
    assertEquals(8L << 20, Sizes.parse("--dl-seg-size", parsed("--dl-seg-size", "8").segmentSize, 1L << 20),
        "a bare --dl-seg-size is MiB, as httpdirfs reads it");
    assertEquals(8L << 20, Sizes.parse("--dl-seg-size", parsed("--dl-seg-size", "8M").segmentSize, 1L << 20));
    assertEquals(512L << 10, Sizes.parse("--dl-seg-size", "512K", 1L << 20));
    assertEquals(1L << 30, Sizes.parse("--dl-seg-size", "1GiB", 1L << 20));
    ServeCommand o = parsed("-o", "allow_other,uid=1000", "-o", "gid=1001,ro,kernel_cache");
    o.httpdirfs.applyTo(o.access, false);
    assertTrue(o.access.allowOther);
    assertEquals("1000", o.access.uid);
    assertEquals("1001", o.access.gid);
    ServeCommand given = parsed("--uid", "7", "-o", "uid=1000");
    given.httpdirfs.applyTo(given.access, false);
    assertEquals("7", given.access.uid, "lazydir's own option wins over the FUSE one");
    assertTrue(parsed("-d").httpdirfs.debug);
    ServeCommand both = parsed("-f", "--daemon");
    IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> both.httpdirfs.applyTo(both.access, both.daemon));
    assertTrue(e.getMessage().contains("give one of them"), e.getMessage());
  }

  @Test
  void anOptionWithNoMeaningHereIsNamedInOneWarning() throws Exception {
    try (dev.lazydir.testing.LogCapture log = new dev.lazydir.testing.LogCapture()) {
      ServeCommand o = parsed("--max-seg-count", "1000", "--no-range-check", "-o", "kernel_cache");
      o.httpdirfs.applyTo(o.access, false);
      List<String> w = log.warnings();
      assertEquals(3, w.size(), w.toString());
      assertTrue(w.get(0).startsWith("--max-seg-count has no effect"), w.toString());
      assertTrue(w.get(1).startsWith("--no-range-check has no effect"), w.toString());
      assertTrue(w.get(2).startsWith("-o kernel_cache has no meaning here"), w.toString());
    }
  }
}
