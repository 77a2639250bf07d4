package dev.lazydir.cli;

import picocli.CommandLine.Option;

/** --file-mode, shared by the commands that create file stubs. */
final class FileModeOption {
  @Option(names = "--file-mode", paramLabel = "OCTAL", converter = Octal.class,
      description = "permission bits of file stubs (default: 0644; 0755 to run programs from the tree)")
  int fileMode = 0644;
}
