package dev.lazydir.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Expands {@code --config FILE} into command-line arguments. Each line holds one option, written
 * {@code --name value}, {@code --name=value}, {@code name value}, {@code name=value} or {@code name = value} (the
 * value is the rest of the line, spaces included; a switch takes none, or {@code true}/{@code false}); blank lines and lines starting with # are ignored. The options go right after
 * the subcommand's name, before the user's own, so an option given on the command line wins.
 *
 * <p>Without {@code --config}, the default files are read, if present: {@code /etc/lazydir/config}, then
 * {@code $XDG_CONFIG_HOME/lazydir/config} (default {@code ~/.config/lazydir/config}), the later winning. One default
 * file serves every command, so a line naming an option the running command does not have is skipped there (an
 * explicit {@code --config} file is strict: such a line is an error naming the file and the line). Where each option
 * came from is kept, so that an error about its value can name the file and line.
 */
final class ConfigFile {
  private ConfigFile() {}

  /** One option line: the option's name (with dashes), its value or null, and where it was written. */
  record Entry(String name, String value, Path file, int line) {
    String where() {
      return file + ":" + line;
    }
  }

  /** The arguments with the config file's options inserted, and where each option that came from a file was written. */
  record Expanded(String[] args, Map<String, Entry> sources) {}

  static String[] expand(String[] args, Set<String> subcommands) throws IOException {
    return expand(args, subcommands, Map.of("HOME", "/nonexistent"), null).args();
  }

  /**
   * Expands {@code args}: the --config file's options, or else the default files' options, right after the
   * subcommand's name. Given the subcommands' specs, each line is checked against the subcommand's options: in a
   * --config file an unknown option or a missing value is an error naming the file and line; in a default file
   * an option the subcommand does not have is skipped.
   */
  static Expanded expand(String[] args, Set<String> subcommands, Map<String, String> env,
      java.util.function.Function<String, CommandSpec> specs) throws IOException {
    Path file = null;
    int subcommand = -1;
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--")) {
        break;
      }
      if (subcommand < 0 && subcommands.contains(args[i])) {
        subcommand = i;
      } else if (args[i].equals("--config") && i + 1 < args.length) {
        file = Path.of(args[i + 1]);
      } else if (args[i].startsWith("--config=")) {
        file = Path.of(args[i].substring("--config=".length()));
      }
    }
    if (subcommand < 0) {
      return new Expanded(args, Map.of());
    }
    String command = args[subcommand];
    CommandSpec spec = specs == null ? null : specs.apply(command);
    List<Entry> entries = new ArrayList<>();
    if (file != null) {
      for (Entry e : entries(file)) {
        Entry checked = spec == null ? e : checked(e, spec, command, true);
        if (checked != null) {
          entries.add(checked);
        }
      }
    } else {
      for (Path f : defaults(env)) {
        if (Files.isRegularFile(f)) {
          for (Entry e : entries(f)) {
            Entry checked = spec == null ? e : checked(e, spec, command, false);
            if (checked != null) {
              entries.add(checked);
            }
          }
        }
      }
    }
    if (entries.isEmpty()) {
      return new Expanded(args, Map.of());
    }
    List<String> out = new ArrayList<>(List.of(args).subList(0, subcommand + 1));
    Map<String, Entry> sources = new LinkedHashMap<>();
    for (Entry e : entries) {
      out.add(e.name());
      if (e.value() != null) {
        out.add(e.value());
      }
      sources.put(e.name(), e);
    }
    List<String> own = List.of(args).subList(subcommand + 1, args.length);
    for (String a : own) {
      int eq = a.indexOf('=');
      sources.remove(eq > 0 && a.startsWith("--") ? a.substring(0, eq) : a); // the command line's own wins
    }
    out.addAll(own);
    return new Expanded(out.toArray(String[]::new), sources);
  }

  /**
   * The entry as the command line takes it, or null to skip it: a flag written {@code name=true} becomes the
   * flag, {@code name=false} is dropped. Strict (a --config file): an unknown option is an error; else skipped.
   */
  private static Entry checked(Entry e, CommandSpec spec, String command, boolean strict) throws IOException {
    OptionSpec option = spec.findOption(e.name());
    String hint = "; see lazydir " + command + " --help";
    if (option == null) {
      if (!strict) {
        return null; // a default file serves every command
      }
      throw new IOException(e.where() + ": lazydir " + command + " has no option " + e.name() + hint);
    }
    boolean flag = option.arity().max() == 0;
    if (flag && e.value() != null) {
      switch (e.value().toLowerCase(java.util.Locale.ROOT)) {
        case "true", "yes", "on", "1" -> {
          return new Entry(e.name(), null, e.file(), e.line());
        }
        case "false", "no", "off", "0" -> {
          return null;
        }
        default -> throw new IOException(e.where() + ": " + e.name() + " is a switch and takes no value (write '"
            + e.name().replaceFirst("^-+", "") + "' alone, or '= true' / '= false')");
      }
    }
    if (!flag && option.arity().min() > 0 && (e.value() == null || e.value().isEmpty())) {
      throw new IOException(e.where() + ": " + e.name() + " needs a value (write '" + e.name().replaceFirst("^-+", "")
          + " VALUE')" + hint);
    }
    return e;
  }

  /** The default config files, system first: a later file's options win. */
  static List<Path> defaults(Map<String, String> env) {
    List<Path> files = new ArrayList<>();
    files.add(Path.of("/etc/lazydir/config"));
    String xdg = env.get("XDG_CONFIG_HOME");
    String home = env.get("HOME");
    if (xdg != null && xdg.startsWith("/")) {
      files.add(Path.of(xdg, "lazydir", "config"));
    } else if (home != null && home.startsWith("/")) {
      files.add(Path.of(home, ".config", "lazydir", "config"));
    }
    return files;
  }

  static List<String> parse(Path file) throws IOException {
    List<String> out = new ArrayList<>();
    for (Entry e : entries(file)) {
      out.add(e.name());
      if (e.value() != null) {
        out.add(e.value());
      }
    }
    return out;
  }

  static List<Entry> entries(Path file) throws IOException {
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new IOException("--config " + file + ": no such file; give the path of an existing config file");
    } catch (java.nio.charset.MalformedInputException e) {
      throw new IOException("--config " + file + ": not a UTF-8 text file; a config file holds one option a line");
    } catch (IOException e) {
      throw new IOException("--config " + file + ": cannot be read (" + e.getClass().getSimpleName()
          .replace("Exception", "") + (e.getMessage() == null ? "" : ": " + e.getMessage()) + ")");
    }
    List<Entry> out = new ArrayList<>();
    int lineNo = 0;
    for (String raw : lines) {
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
      String value = cut >= 0 ? line.substring(cut + 1).strip() : null;
      if (value != null && line.charAt(cut) != '=' && value.startsWith("=")) {
        value = value.substring(1).strip(); // "name = value"
      }
      out.add(new Entry(name.startsWith("-") ? name : "--" + name, value, file, lineNo));
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
