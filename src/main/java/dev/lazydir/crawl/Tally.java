package dev.lazydir.crawl;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Counts what reconciling one directory with its listing does (probes run in parallel, hence atomic), so that
 * a single listing can say what it changed while the crawler keeps its totals for the crawl's summary.
 */
final class Tally {
  final AtomicLong created = new AtomicLong();
  final AtomicLong reset = new AtomicLong();
  final AtomicLong refined = new AtomicLong();
  final AtomicLong removed = new AtomicLong();
  final AtomicLong unchanged = new AtomicLong();
  final AtomicLong warnings = new AtomicLong();

  Relisting relisting() {
    return new Relisting(true, false, created.get(), reset.get(), removed.get(), warnings.get());
  }
}
