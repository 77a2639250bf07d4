/* Exploratory probe for dev.lazydir.fanotify (not used by the build). Run ONLY inside a private mount namespace,
 * with argv[1] = a directory on a loop-mounted ext4 image made for the probe:
 *   unshare --mount --propagation private sh -c '... mount -o loop img mnt; ./fanotify-probe mnt'
 * It only adds marks to inodes under argv[1] (never mounts), so no event can ever be generated. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FAN_CLOEXEC 0x1
#define FAN_NONBLOCK 0x2
#define FAN_CLASS_PRE_CONTENT 0x8
#define FAN_REPORT_FD_ERROR 0x2000
#define FAN_PRE_ACCESS 0x00100000ULL
#define FAN_OPEN_PERM 0x10000ULL
#define FAN_ACCESS_PERM 0x20000ULL
#define FAN_ONDIR 0x40000000ULL
#define FAN_MARK_ADD 0x1
#define FAN_MARK_REMOVE 0x2
#define FAN_MARK_IGNORED_SURV_MODIFY 0x40
#define FAN_MARK_EVICTABLE 0x200
#define FAN_MARK_IGNORE 0x400

static int grp;

static void mark(const char *what, unsigned flags, uint64_t mask, const char *path) {
  long r = syscall(SYS_fanotify_mark, grp, flags, mask, AT_FDCWD, path);
  printf("%-60s -> %s\n", what, r == 0 ? "ok" : strerror(errno));
}

int main(int argc, char **argv) {
  char dir[4096], file[4096];
  if (argc < 2) return 2;
  snprintf(dir, sizeof dir, "%s/probe-dir", argv[1]);
  snprintf(file, sizeof file, "%s/probe-file", argv[1]);
  mkdir(dir, 0755);
  close(open(file, O_CREAT | O_WRONLY, 0644));
  grp = syscall(SYS_fanotify_init, FAN_CLASS_PRE_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK | FAN_REPORT_FD_ERROR,
                O_RDONLY | O_LARGEFILE | O_CLOEXEC);
  if (grp < 0) { printf("fanotify_init: %s\n", strerror(errno)); return 1; }
  unsigned A = FAN_MARK_ADD, R = FAN_MARK_REMOVE, I = FAN_MARK_IGNORE, S = FAN_MARK_IGNORED_SURV_MODIFY, E = FAN_MARK_EVICTABLE;
  mark("file ADD|IGNORE|EVICTABLE PRE_ACCESS", A | I | E, FAN_PRE_ACCESS, file);
  mark("file REMOVE|IGNORE PRE_ACCESS", R | I, FAN_PRE_ACCESS, file);
  mark("file ADD|IGNORE|EVICTABLE PRE_ACCESS (again)", A | I | E, FAN_PRE_ACCESS, file);
  mark("file REMOVE|IGNORE|EVICTABLE PRE_ACCESS", R | I | E, FAN_PRE_ACCESS, file);
  mark("file ADD|IGNORE|SURV|EVICTABLE PRE_ACCESS", A | I | S | E, FAN_PRE_ACCESS, file);
  mark("file REMOVE|IGNORE|SURV PRE_ACCESS", R | I | S, FAN_PRE_ACCESS, file);
  mark("dir ADD|IGNORE|EVICTABLE OPEN_PERM|ONDIR", A | I | E, FAN_OPEN_PERM | FAN_ONDIR, dir);
  mark("dir ADD|IGNORE OPEN_PERM|ONDIR", A | I, FAN_OPEN_PERM | FAN_ONDIR, dir);
  mark("dir ADD|IGNORE|SURV|EVICTABLE OPEN_PERM|ONDIR", A | I | S | E, FAN_OPEN_PERM | FAN_ONDIR, dir);
  mark("dir REMOVE|IGNORE OPEN_PERM|ONDIR", R | I, FAN_OPEN_PERM | FAN_ONDIR, dir);
  mark("dir ADD|IGNORE|SURV OPEN_PERM|ONDIR", A | I | S, FAN_OPEN_PERM | FAN_ONDIR, dir);
  mark("dir ADD|IGNORE|SURV|EVICTABLE (on non-evictable mark)", A | I | S | E, FAN_OPEN_PERM | FAN_ONDIR, dir);
  mark("dir REMOVE|IGNORE|SURV OPEN_PERM|ONDIR", R | I | S, FAN_OPEN_PERM | FAN_ONDIR, dir);
  mark("dir ADD|IGNORE|SURV|EVICTABLE PRE_ACCESS|OPEN_PERM|ACCESS_PERM|ONDIR", A | I | S | E,
       FAN_PRE_ACCESS | FAN_OPEN_PERM | FAN_ACCESS_PERM | FAN_ONDIR, dir);
  mark("dir ADD|IGNORE|SURV|EVICTABLE OPEN_PERM (no ONDIR)", A | I | S | E, FAN_OPEN_PERM, dir);
  mark("dir ADD OPEN_PERM|ONDIR inode mark", A, FAN_OPEN_PERM | FAN_ONDIR, dir);
  mark("dir ADD PRE_ACCESS|ONDIR inode mark", A, FAN_PRE_ACCESS | FAN_ONDIR, dir);
  mark("dir ADD PRE_ACCESS inode mark", A, FAN_PRE_ACCESS, dir);
  close(grp);
  return 0;
}
