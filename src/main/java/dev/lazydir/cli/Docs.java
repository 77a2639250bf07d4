package dev.lazydir.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import picocli.AutoComplete;
import picocli.CommandLine;

/**
 * Writes the man page (man/lazydir.1) and the bash completion (completion/lazydir) from the command definitions
 * themselves, so they can never disagree with {@code --help}; run by the build (process-classes) into target/.
 * The man page holds each command's help text as picocli prints it, preformatted, under the usual sections:
 * picocli-codegen's generator writes AsciiDoc, which would need asciidoctor to become a man page.
 */
public final class Docs {
  private Docs() {}

  public static void main(String[] args) throws IOException {
    Path out = Path.of(args.length > 0 ? args[0] : "target");
    CommandLine cl = new CommandLine(new LazydirCommand());
    Files.createDirectories(out.resolve("man"));
    Files.createDirectories(out.resolve("completion"));
    Files.writeString(out.resolve("man").resolve("lazydir.1"), manPage(cl), StandardCharsets.UTF_8);
    Files.writeString(out.resolve("completion").resolve("lazydir"), AutoComplete.bash("lazydir", cl),
        StandardCharsets.UTF_8);
  }

  static String manPage(CommandLine cl) {
    StringBuilder b = new StringBuilder();
    b.append(".TH LAZYDIR 1 \"\" \"lazydir ").append(roff(Cli.version())).append("\" \"User Commands\"\n");
    b.append(".SH NAME\nlazydir \\- ").append(roff(String.join(" ", cl.getCommandSpec().usageMessage().description())))
        .append('\n');
    b.append(".SH SYNOPSIS\n");
    for (String name : cl.getSubcommands().keySet()) {
      b.append(".B lazydir ").append(roff(name)).append("\n[\\fIOPTIONS\\fR] ...\n.br\n");
    }
    b.append(".SH DESCRIPTION\n");
    preformatted(b, usage(cl));
    for (var e : cl.getSubcommands().entrySet()) {
      b.append(".SH \"LAZYDIR ").append(roff(e.getKey().toUpperCase(Locale.ROOT))).append("\"\n");
      preformatted(b, usage(e.getValue()));
    }
    b.append(".SH FILES\n.TP\n.I /etc/lazydir/NAME.env\nURL, DIR and options of the systemd unit lazydir@NAME.service.\n");
    b.append(".SH SEE ALSO\n.BR fanotify (7),\n.BR mount (8),\n.BR systemd.service (5)\n");
    return b.toString();
  }

  private static String usage(CommandLine cl) {
    return cl.getUsageMessage(CommandLine.Help.Ansi.OFF);
  }

  private static void preformatted(StringBuilder b, String text) {
    b.append(".nf\n");
    for (String line : text.split("\n", -1)) {
      b.append(line.startsWith(".") || line.startsWith("'") ? "\\&" : "").append(roff(line)).append('\n');
    }
    b.append(".fi\n");
  }

  /** Escapes what roff would read as its own: backslashes and hyphens (so that options copy as typed). */
  private static String roff(String s) {
    return s.replace("\\", "\\e").replace("-", "\\-");
  }
}
