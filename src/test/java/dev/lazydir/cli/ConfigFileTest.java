package dev.lazydir.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

class ConfigFileTest {
  private static final Set<String> SUBCOMMANDS = Set.of("crawl", "serve");

  @TempDir
  Path dir;

  private Path file(String... lines) throws IOException {
    Path f = dir.resolve("lazydir.conf");
    Files.write(f, List.of(lines), StandardCharsets.UTF_8);
    return f;
  }

  // ---- line syntax

  @Test
  void dashDashNameSpaceValue() throws IOException {
    assertEquals(List.of("--retries", "3"), ConfigFile.parse(file("--retries 3")));
  }

  @Test
  void dashDashNameEqualsValue() throws IOException {
    assertEquals(List.of("--retries", "3"), ConfigFile.parse(file("--retries=3")));
  }

  @Test
  void bareNameEqualsValueGetsDashes() throws IOException {
    assertEquals(List.of("--max-conns", "4"), ConfigFile.parse(file("max-conns=4")));
  }

  @Test
  void bareNameSpaceValueGetsDashes() throws IOException {
    assertEquals(List.of("--username", "alice"), ConfigFile.parse(file("username alice")));
  }

  @Test
  void valueIsTheRestOfTheLineSpacesIncluded() throws IOException {
    assertEquals(List.of("--user-agent", "my agent 1.0 (mirror bot)"),
        ConfigFile.parse(file("user-agent my agent 1.0 (mirror bot)")));
    assertEquals(List.of("--user-agent", "my agent 1.0"), ConfigFile.parse(file("user-agent=my agent 1.0")));
    assertEquals(List.of("--user-agent", "my agent 1.0"), ConfigFile.parse(file("--user-agent=my agent 1.0")));
  }

  @Test
  void headerValueKeepsItsColonAndSpaces() throws IOException {
    assertEquals(List.of("--http-header", "X-Token: abc def"), ConfigFile.parse(file("http-header X-Token: abc def")));
    assertEquals(List.of("--http-header", "X-Token: abc"), ConfigFile.parse(file("--http-header=X-Token: abc")));
  }

  @Test
  void onlyTheFirstEqualsSignSeparates() throws IOException {
    assertEquals(List.of("--password", "se=cr=et"), ConfigFile.parse(file("password=se=cr=et")));
  }

  @Test
  void surroundingWhitespaceIsTrimmed() throws IOException {
    assertEquals(List.of("--retries", "3"), ConfigFile.parse(file("   --retries    3   ")));
    assertEquals(List.of("--retries", "3"), ConfigFile.parse(file("\tretries\t3")));
  }

  @Test
  void flagWithoutValueIsOneArgument() throws IOException {
    assertEquals(List.of("--insecure-tls"), ConfigFile.parse(file("insecure-tls")));
    assertEquals(List.of("--insecure-tls"), ConfigFile.parse(file("--insecure-tls")));
  }

  @Test
  void shortOptionsKeepTheirSingleDash() throws IOException {
    assertEquals(List.of("-u", "alice"), ConfigFile.parse(file("-u alice")));
  }

  @Test
  void commentsAndBlankLinesAreIgnored() throws IOException {
    Path f = file(
        "# lazydir settings",
        "",
        "   ",
        "--retries 3",
        "   # an indented comment",
        "\t",
        "max-conns=4",
        "#retries 99");
    assertEquals(List.of("--retries", "3", "--max-conns", "4"), ConfigFile.parse(f));
  }

  @Test
  void windowsLineEndingsAreAccepted() throws IOException {
    Path f = dir.resolve("crlf.conf");
    Files.writeString(f, "# comment\r\n--retries 3\r\nuser-agent=a b\r\n", StandardCharsets.UTF_8);
    assertEquals(List.of("--retries", "3", "--user-agent", "a b"), ConfigFile.parse(f));
  }

  @Test
  void manyLinesKeepTheirOrder() throws IOException {
    Path f = file("--retries 3", "max-conns=4", "user-agent my agent", "insecure-tls", "http-header X-A: 1",
        "http-header X-B: 2");
    assertEquals(List.of("--retries", "3", "--max-conns", "4", "--user-agent", "my agent", "--insecure-tls",
        "--http-header", "X-A: 1", "--http-header", "X-B: 2"), ConfigFile.parse(f));
  }

  // ---- nesting and missing files

  @Test
  void nestedConfigIsAnErrorNamingFileAndLine() throws IOException {
    for (String line : new String[] {"--config other.conf", "config other.conf", "--config=other.conf",
        "config=other.conf"}) {
      Path f = file("# first", "--retries 3", line);
      IOException e = assertThrows(IOException.class, () -> ConfigFile.parse(f), line);
      assertTrue(e.getMessage().contains(f + ":3"), e.getMessage());
      assertTrue(e.getMessage().contains("nested"), e.getMessage());
    }
  }

  @Test
  void nestedConfigIsAnErrorThroughExpand() throws IOException {
    Path f = file("config other.conf");
    assertThrows(IOException.class, () -> ConfigFile.expand(new String[] {"crawl", "--config", f.toString()}, SUBCOMMANDS));
  }

  @Test
  void missingConfigFileIsAnError() {
    Path missing = dir.resolve("nope.conf");
    IOException e = assertThrows(IOException.class,
        () -> ConfigFile.expand(new String[] {"crawl", "--config", missing.toString(), "http://h/"}, SUBCOMMANDS));
    assertTrue(String.valueOf(e.getMessage()).contains("nope.conf"), e.getMessage());
  }

  // ---- expand

  @Test
  void expandInsertsFileOptionsRightAfterTheSubcommand() throws IOException {
    Path f = file("--retries 3", "user-agent=file agent");
    String[] args = {"-v", "crawl", "--retries", "9", "--config", f.toString(), "http://h/", "/mnt/x"};
    assertArrayEquals(new String[] {"-v", "crawl", "--retries", "3", "--user-agent", "file agent",
        "--retries", "9", "--config", f.toString(), "http://h/", "/mnt/x"},
        ConfigFile.expand(args, SUBCOMMANDS));
  }

  @Test
  void expandAcceptsConfigEqualsFile() throws IOException {
    Path f = file("--retries 3");
    String[] args = {"crawl", "--config=" + f, "http://h/"};
    assertArrayEquals(new String[] {"crawl", "--retries", "3", "--config=" + f, "http://h/"},
        ConfigFile.expand(args, SUBCOMMANDS));
  }

  @Test
  void expandFindsConfigGivenBeforeTheSubcommand() throws IOException {
    Path f = file("--retries 3");
    String[] args = {"--config", f.toString(), "serve", "http://h/"};
    assertArrayEquals(new String[] {"--config", f.toString(), "serve", "--retries", "3", "http://h/"},
        ConfigFile.expand(args, SUBCOMMANDS));
  }

  @Test
  void expandUsesTheFirstSubcommandNameOnly() throws IOException {
    Path f = file("--retries 3");
    String[] args = {"crawl", "--config", f.toString(), "http://h/serve", "serve"};
    assertArrayEquals(new String[] {"crawl", "--retries", "3", "--config", f.toString(), "http://h/serve", "serve"},
        ConfigFile.expand(args, SUBCOMMANDS));
  }

  @Test
  void expandWithoutConfigLeavesArgumentsAlone() throws IOException {
    String[] args = {"crawl", "--retries", "9", "http://h/"};
    assertSame(args, ConfigFile.expand(args, SUBCOMMANDS));
  }

  /** A stand-in for a subcommand, parsed the way Cli parses (overwritten options allowed). */
  @Command(name = "crawl")
  static final class FakeCrawl {
    @Option(names = "--retries") int retries = 4;
    @Option(names = "--user-agent") String userAgent;
    @Option(names = "--max-conns") int maxConns = 10;
    @Option(names = "--http-header") List<String> headers = new ArrayList<>();
    @Option(names = "--config") Path config;
    @Parameters List<String> positional = new ArrayList<>();
  }

  @Command(name = "lazydir")
  static final class FakeTop {}

  @Test
  void commandLineOptionsWinOverTheFile() throws IOException {
    Path f = file("--retries 3", "user-agent=file agent", "max-conns 7", "http-header X-File: 1");
    FakeCrawl crawl = new FakeCrawl();
    CommandLine cl = new CommandLine(new FakeTop()).addSubcommand("crawl", crawl);
    cl.setOverwrittenOptionsAllowed(true);
    String[] args = {"crawl", "--retries", "9", "--http-header", "X-Cli: 2", "--config", f.toString(), "http://h/"};
    cl.parseArgs(ConfigFile.expand(args, cl.getSubcommands().keySet()));
    assertEquals(9, crawl.retries, "command line wins");
    assertEquals("file agent", crawl.userAgent, "file fills what the command line leaves out");
    assertEquals(7, crawl.maxConns);
    assertEquals(List.of("X-File: 1", "X-Cli: 2"), crawl.headers, "repeatable options accumulate, file first");
    assertEquals(List.of("http://h/"), crawl.positional);
  }
}
