package dev.lazydir.cli;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Reads permission bits written in octal ("755", "0644"). */
final class Octal implements ITypeConverter<Integer> {
  @Override
  public Integer convert(String value) {
    try {
      int mode = Integer.parseInt(value, 8);
      if (mode < 0 || mode > 0777) {
        throw new TypeConversionException("'" + value + "' is not within 0000-0777");
      }
      return mode;
    } catch (NumberFormatException e) {
      throw new TypeConversionException("'" + value + "' is not an octal mode like 0644");
    }
  }
}
