package dev.lazydir.serve;

import dev.lazydir.tree.EntryMeta.FileMeta;
import dev.lazydir.tree.TreeChanges;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the served tree holds (directories listed/known, files populated/partial/stub, bytes present/total),
 * kept by the daemon as counters: the start's walk (the one that sets content marks) gives the first values,
 * then every change the tree reports ({@link TreeChanges}: stubs made, reset or removed by listings, maps
 * recorded by fills) moves them. Status and the metrics endpoint read them in constant time at any tree size.
 * A file counts as a walk of the store would count it ({@link #classify}: its metadata and recorded map), so
 * the counters and {@link TreeStatus} agree.
 */
final class TreeCounts implements TreeChanges {
  /** One file as a walk sees it. */
  record File(int state, long present, long size) {
    static final int COMPLETE = 0;
    static final int PARTIAL = 1;
    static final int STUB = 2;
  }

  record Snapshot(long dirsListed, long dirsKnown, long filesComplete, long filesPartial, long filesStub,
      long bytesPresent, long bytesTotal) {}

  private final AtomicLong dirsListed = new AtomicLong();
  private final AtomicLong dirsKnown = new AtomicLong();
  private final AtomicLong[] files = {new AtomicLong(), new AtomicLong(), new AtomicLong()};
  private final AtomicLong bytesPresent = new AtomicLong();
  private final AtomicLong bytesTotal = new AtomicLong();

  static File classify(FileMeta meta, Optional<byte[]> map) {
    Optional<SegmentMap> m = SegmentMap.recorded(meta, map, meta.size());
    long present = m.map(SegmentMap::presentBytes).orElse(0L);
    int state = m.isPresent() && m.get().isComplete() ? File.COMPLETE
        : m.isPresent() && m.get().presentCount() > 0 ? File.PARTIAL : File.STUB;
    return new File(state, present, meta.size());
  }

  /** A file of the tree, at the start's walk or made since. */
  void add(File f) {
    files[f.state()].incrementAndGet();
    bytesPresent.addAndGet(f.present());
    bytesTotal.addAndGet(f.size());
  }

  private void remove(File f) {
    files[f.state()].decrementAndGet();
    bytesPresent.addAndGet(-f.present());
    bytesTotal.addAndGet(-f.size());
  }

  /** A directory of the tree at the start's walk. */
  void addDir(boolean listed) {
    dirAdded(listed);
  }

  @Override
  public void fileAdded(FileMeta meta) {
    add(classify(meta, Optional.empty()));
  }

  @Override
  public void fileRemoved(FileMeta meta, Optional<byte[]> map) {
    remove(classify(meta, map));
  }

  @Override
  public void fileChanged(FileMeta before, Optional<byte[]> mapBefore, FileMeta after, Optional<byte[]> mapAfter) {
    changed(classify(before, mapBefore), classify(after, mapAfter));
  }

  void changed(File before, File after) {
    if (!before.equals(after)) {
      remove(before);
      add(after);
    }
  }

  @Override
  public void dirAdded(boolean listed) {
    dirsKnown.incrementAndGet();
    if (listed) {
      dirsListed.incrementAndGet();
    }
  }

  @Override
  public void dirRemoved(boolean listed) {
    dirsKnown.decrementAndGet();
    if (listed) {
      dirsListed.decrementAndGet();
    }
  }

  @Override
  public void dirListed() {
    dirsListed.incrementAndGet();
  }

  Snapshot snapshot() {
    return new Snapshot(dirsListed.get(), dirsKnown.get(), files[File.COMPLETE].get(), files[File.PARTIAL].get(),
        files[File.STUB].get(), bytesPresent.get(), bytesTotal.get());
  }
}
