package dev.lazydir.cli;

/** The {@code lazydir} executable. */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    dev.lazydir.internal.StartTrace.mark("main");
    StartAhead.begin(args);
    System.exit(Cli.run(args, System.out, System.err));
  }
}
