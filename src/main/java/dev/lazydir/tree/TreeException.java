package dev.lazydir.tree;

import java.io.IOException;

/** The local tree cannot be used as asked (foreign directory, wrong origin, unsupported filesystem). */
public final class TreeException extends IOException {
  public TreeException(String message) {
    super(message);
  }
}
