package dev.lazydir.fanotify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.fanotify.FanotifyBed.Handler;
import dev.lazydir.fanotify.FanotifyBed.Result;
import dev.lazydir.fanotify.FanotifyBed.Seen;
import dev.lazydir.internal.posix.Errno;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Fact (e): directories. A second group with a mount mark FAN_OPEN_PERM | FAN_ONDIR on the view gets one event when
 * `ls` opens a directory through the view; entries the handler creates through the private path while `ls` is
 * blocked appear in that listing. The event's mask does NOT carry FAN_ONDIR (the kernel reports it only to FID-mode
 * groups, and pre-content groups are fd-mode): the handler tells a directory by statx on the event fd
 * ({@link FanotifyGroup#isDirectory}). FAN_PRE_ACCESS and FAN_ONDIR cannot share one mark (hence the second group),
 * and a directory ignore mark needs FAN_MARK_IGNORED_SURV_MODIFY (EVICTABLE is fine) and FAN_ONDIR in its mask.
 */
class DirectoryOpenPermLetsTheHandlerAddEntriesTest extends PrivilegedFanotifyTest {
  private static final long DIR_OPEN = Fan.FAN_OPEN_PERM | Fan.FAN_ONDIR;
  private static final List<String> MADE = List.of("made-while-blocked.txt", "made-while-blocked-dir", "zz-last");

  private static List<String> ls(Result r) {
    assertEquals(0, r.exit(), r.stderr());
    return Arrays.stream(r.out().split("\n")).filter(s -> !s.isEmpty()).toList();
  }

  @Test
  void handlerCreatesEntriesWhileLsIsBlockedOnOpendir() throws Exception {
    Path dir = bed.priv("dirs/listed");
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("already-there"), "x");
    FanotifyGroup files = bed.markedGroup(Fan.FAN_PRE_ACCESS);
    Handler fileHandler = bed.handle(files, 1, FanotifyBed.ALLOW);
    FanotifyGroup dirs = bed.markedGroup(DIR_OPEN);
    Path listedView = bed.view("dirs/listed");
    Handler dirHandler = bed.handle(dirs, 1, (e, path) -> {
      if (e.isOpenPerm() && FanotifyGroup.isDirectory(e.fd()) && listedView.equals(path)) {
        Path p = bed.toPrivate(path); // create through the private path, never through the view
        Files.writeString(p.resolve(MADE.get(0)), "made by the handler");
        Files.createDirectory(p.resolve(MADE.get(1)));
        Files.createFile(p.resolve(MADE.get(2)));
      }
      return Fan.FAN_ALLOW;
    });

    Result r = bed.read("ls", "-1", listedView.toString());

    dirHandler.assertNoErrors();
    fileHandler.assertNoErrors();
    List<String> names = ls(r);
    assertTrue(names.contains("already-there"), names.toString());
    assertTrue(names.containsAll(MADE), "entries made while ls was blocked are in its listing: " + names);
    List<Seen> dirEvents = dirHandler.seen(s -> s.event().pid() == r.pid());
    assertEquals(1, dirEvents.size(), "one FAN_OPEN_PERM event for opendir: " + dirHandler.seen());
    FanotifyEvent e = dirEvents.get(0).event();
    assertEquals(listedView, dirEvents.get(0).path());
    assertEquals(Fan.FAN_OPEN_PERM, e.mask(), "FAN_ONDIR is not reported to an fd-mode group: " + e);
    assertFalse(e.isDir(), "so isDir() is false even for a directory");
    assertFalse(e.hasRange(), "directory events carry no range");
    assertEquals(List.of(), fileHandler.seen(), "listing sends no pre-access event");
  }

  @Test
  void preAccessAndOnDirCannotShareAMark() throws Exception {
    FanotifyGroup fresh = bed.group();
    FanotifyException both = assertThrows(FanotifyException.class,
        () -> fresh.markMount(bed.view.toString(), Fan.FAN_PRE_ACCESS | Fan.FAN_ONDIR));
    assertEquals(Errno.EINVAL, both.errno(), "one call with both: " + both.getMessage());

    FanotifyGroup files = bed.markedGroup(Fan.FAN_PRE_ACCESS);
    FanotifyException merged = assertThrows(FanotifyException.class,
        () -> files.markMount(bed.view.toString(), DIR_OPEN));
    assertEquals(17 /* EEXIST */, merged.errno(),
        "adding FAN_ONDIR to an existing pre-access mark: EEXIST, not EINVAL: " + merged.getMessage());
  }

  @Test
  void directoryIgnoreMarkNeedsSurviveModifyAndOnDir() throws Exception {
    Path quiet = bed.priv("dirs/quiet");
    Path loud = bed.priv("dirs/loud");
    Path noOnDir = bed.priv("dirs/no-ondir");
    for (Path d : List.of(quiet, loud, noOnDir)) {
      Files.createDirectories(d);
    }
    FanotifyGroup dirs = bed.markedGroup(DIR_OPEN);
    Handler h = bed.handle(dirs, 1, FanotifyBed.ALLOW);

    FanotifyException refused = assertThrows(FanotifyException.class, () -> dirs.mark(
        Fan.FAN_MARK_ADD | Fan.FAN_MARK_IGNORE | Fan.FAN_MARK_EVICTABLE, DIR_OPEN, FanotifyGroup.AT_FDCWD,
        quiet.toString()));
    assertEquals(21 /* EISDIR */, refused.errno(), "directory ignore mark without SURV_MODIFY: " + refused);

    dirs.ignoreInode(FanotifyGroup.AT_FDCWD, quiet.toString(), Fan.FAN_OPEN_PERM, true); // SURV_MODIFY|EVICTABLE
    dirs.mark(Fan.FAN_MARK_ADD | Fan.FAN_MARK_IGNORE | Fan.FAN_MARK_IGNORED_SURV_MODIFY | Fan.FAN_MARK_EVICTABLE,
        Fan.FAN_OPEN_PERM, FanotifyGroup.AT_FDCWD, noOnDir.toString());

    Result q = bed.read("ls", "-1", bed.view("dirs/quiet").toString());
    Result l = bed.read("ls", "-1", bed.view("dirs/loud").toString());
    Result n = bed.read("ls", "-1", bed.view("dirs/no-ondir").toString());
    ls(q);
    ls(l);
    ls(n);
    h.assertNoErrors();
    assertEquals(List.of(), h.seen(s -> s.event().pid() == q.pid()), "the ignored directory is silent");
    assertEquals(1, h.seen(s -> s.event().pid() == l.pid()).size(), "control: another directory is not");
    assertEquals(1, h.seen(s -> s.event().pid() == n.pid()).size(),
        "an ignore mask without FAN_ONDIR does not silence the directory's own events");

    // entries created in the ignored directory do not clear its ignore mark (it survives modification)
    Files.createFile(quiet.resolve("new-entry"));
    Result again = bed.read("ls", "-1", bed.view("dirs/quiet").toString());
    assertEquals(List.of("new-entry"), ls(again));
    assertEquals(List.of(), h.seen(s -> s.event().pid() == again.pid()), "still silent after a change");

    assertTrue(dirs.removeIgnore(FanotifyGroup.AT_FDCWD, quiet.toString(), Fan.FAN_OPEN_PERM, true));
    Result after = bed.read("ls", "-1", bed.view("dirs/quiet").toString());
    ls(after);
    assertEquals(1, h.seen(s -> s.event().pid() == after.pid()).size(), "events are back after removeIgnore");
  }
}
