package dev.lazydir.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Expands {@code --config FILE} into command-line arguments. Each line holds one option, written
 * {@code --name value}, {@code --name=value}, {@code name value} or {@code name=value} (the value is the rest
 * of the line, spaces included); blank lines and lines starting with # are ignored. The options go right after
 * the subcommand's name, before the user's own, so an option given on the command line wins.
 */
final class ConfigFile {
  private ConfigFile() {}

  static String[] expand(String[] args, Set<String> subcommands) throws IOException {
    Path file = null;
    int subcommand = -1;
    for (int i = 0; i < args.length; i++) {
      if (subcommand < 0 && subcommands.contains(args[i])) {
        subcommand = i;
      } else if (args[i].equals("--config") && i + 1 < args.length) {
        file = Path.of(args[i + 1]);
      } else if (args[i].startsWith("--config=")) {
        file = Path.of(args[i].substring("--config=".length()));
      }
    }
    if (file == null || subcommand < 0) {
      return args;
    }
    List<String> out = new ArrayList<>(List.of(args).subList(0, subcommand + 1));
    out.addAll(parse(file));
    out.addAll(List.of(args).subList(subcommand + 1, args.length));
    return out.toArray(String[]::new);
  }

  static List<String> parse(Path file) throws IOException {
    List<String> out = new ArrayList<>();
    int lineNo = 0;
    for (String raw : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      lineNo++;
      String line = raw.strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      int cut = indexOfSeparator(line);
      String name = cut < 0 ? line : line.substring(0, cut);
      if (name.equals("--config") || name.equals("config")) {
        throw new IOException(file + ":" + lineNo + ": --config cannot be nested");
      }
      out.add(name.startsWith("-") ? name : "--" + name);
      if (cut >= 0) {
        out.add(line.substring(cut + 1).strip());
      }
    }
    return out;
  }

  private static int indexOfSeparator(String line) {
    for (int i = 0; i < line.length(); i++) {
      char c = line.charAt(i);
      if (c == '=' || Character.isWhitespace(c)) {
        return i;
      }
    }
    return -1;
  }
}
