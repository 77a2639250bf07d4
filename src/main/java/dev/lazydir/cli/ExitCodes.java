package dev.lazydir.cli;

/** Exit codes of every lazydir command (also listed in --help). */
public final class ExitCodes {
  /** Everything asked for was done. */
  public static final int OK = 0;
  /** Nothing or not everything could be done: origin unreachable, tree refused, disk error. */
  public static final int ERROR = 1;
  /** The command line (or --config file) is wrong. */
  public static final int USAGE = 2;
  /** Done, but some entries were skipped; each one was named in a warning. */
  public static final int PARTIAL = 3;

  static final String HELP = "Exit codes:%n"
      + "  0  success%n"
      + "  1  error (origin unreachable, directory refused, disk error)%n"
      + "  2  bad command line or --config file%n"
      + "  3  done with warnings: some entries were skipped (each is named)%n";

  private ExitCodes() {}
}
