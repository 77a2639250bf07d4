/*
 * lazydir-guard PID MOUNTPOINT [GROUPFD [STOPPED_LIMIT]]
 *
 * Fail-closed watchdog for the lazydir daemon (see dev.lazydir.serve.Guard). The daemon bind-mounts its private
 * store onto the user's (empty) directory; reads through that mount are filled in by fanotify pre-content
 * events. If the daemon dies (SIGKILL, OOM, a crash) nothing answers those events any more, and when the last
 * holder of the fanotify group closes it the kernel lets every pending and later read see the sparse stubs'
 * holes as zeros. This small process outlives the daemon and makes sure no reader ever does:
 *
 *  1. As soon as the daemon's pid dies, it lazily detaches the bind mount (umount2 MNT_DETACH), so new opens
 *     under MOUNTPOINT get ENOENT from the empty directory below.
 *  2. With GROUPFD (the daemon's fanotify group fd number), it takes its own copy of the group at start-up
 *     (pidfd_getfd), so the group, its marks and its pending events outlive the daemon. When the daemon is gone
 *     (died, or stopped cleanly and said so), it answers FAN_DENY_ERRNO(EIO) to every event the daemon had read
 *     but not answered (responses are matched by number alone, and every number the daemon can have used is
 *     below the bound taken at start-up), then to every event still queued or arriving: a reader blocked at the
 *     kill, or holding a file open across it, gets EIO, never zeros, and never waits without end.
 *  With STOPPED_LIMIT (seconds, > 0), a daemon that stays stopped (SIGSTOP, a debugger) longer than that is
 *  ended with SIGKILL and treated as dead: its readers get EIO instead of waiting without end.
 *  3. It keeps the group as long as any process still has a file, a working directory or a root inside the
 *     view's mount (checked every second), then exits. A successor daemon on the same store takes the group
 *     over instead (pidfd_getfd from this process, then SIGUSR1): the guard stops reading and exits, and readers
 *     still holding files are served by the successor, as if the daemon had paused.
 *
 * Protocol: prints "guard ready N\n" on stdout once armed (N: this process's fd of the group, -1 without
 * GROUPFD). The byte 'q' on stdin means "clean stop: the daemon unmounted the view itself and answered every
 * event it read": the mount is left alone and the group is held as above. EOF on stdin without 'q' (the parent is
 * gone) is treated like the daemon's death. Log lines go to stderr; exit status 0, 1 on errors, 2 on bad usage.
 *
 * It holds no fd on MOUNTPOINT or its parent (a reference would make the daemon's own plain umount fail with
 * EBUSY) and chdirs to "/" so its working directory pins nothing either.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>

/* Older headers may lack these; values are the mainline ABI. */
#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434
#endif
#ifndef __NR_pidfd_send_signal
#define __NR_pidfd_send_signal 424
#endif
#ifndef __NR_pidfd_getfd
#define __NR_pidfd_getfd 438
#endif
#ifndef STATX_MNT_ID
#define STATX_MNT_ID 0x00001000U
#endif
/* Linux 6.8+: a 64-bit mount id that is never reused (the old 32-bit one is recycled after an unmount). */
#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x00004000U
#endif
#ifndef UMOUNT_NOFOLLOW
#define UMOUNT_NOFOLLOW 0x00000008
#endif

/* fanotify ABI (Debian's header is older than pre-content events). */
#define FAN_EVENT_METADATA_LEN 24
#define FAN_DENY 0x02
#define FAN_DENY_EIO (FAN_DENY | (5 << 24))
#define FAN_PERM_EVENTS (0x00010000ULL | 0x00020000ULL | 0x00040000ULL | 0x00100000ULL)

/* The daemon's descriptors are capped at this many, so that every event number it can have read is known. */
#define FD_CAP 65536

static const char *prog = "lazydir-guard";

/* Whether the process is stopped or traced (state T or t in /proc/PID/stat). */
static int is_stopped(pid_t pid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *paren = strrchr(buf, ')');
    return paren != NULL && paren[1] == ' ' && (paren[2] == 'T' || paren[2] == 't');
}
static volatile sig_atomic_t handed_over;

/* Which mount a path is on. Both id kinds are asked for: a kernel that knows STATX_MNT_ID_UNIQUE answers with
 * the unique id (and says so in stx_mask), an older one ignores that bit and gives the recyclable id. The kind is
 * part of the identity so two ids of different kinds never compare equal. */
struct mnt_ident {
    uint64_t id;
    uint32_t kind;
};

static int mount_of_at(const char *path, int flags, struct mnt_ident *out) {
    struct statx stx;
    if (statx(AT_FDCWD, path, flags | AT_NO_AUTOMOUNT, STATX_MNT_ID | STATX_MNT_ID_UNIQUE, &stx) != 0)
        return -1;
    out->kind = stx.stx_mask & (STATX_MNT_ID | STATX_MNT_ID_UNIQUE);
    if (out->kind & STATX_MNT_ID_UNIQUE)
        out->kind = STATX_MNT_ID_UNIQUE;
    if (out->kind == 0) {
        errno = ENOSYS; /* pre-5.8 kernel: no mount ids in statx */
        return -1;
    }
    out->id = stx.stx_mnt_id;
    return 0;
}

/* AT_SYMLINK_NOFOLLOW: a symlink planted at MOUNTPOINT later is not a mount; never look through it. */
static int mount_of(const char *path, struct mnt_ident *out) {
    return mount_of_at(path, AT_SYMLINK_NOFOLLOW, out);
}

static int same_mount(const struct mnt_ident *a, const struct mnt_ident *b) {
    return a->kind == b->kind && a->id == b->id;
}

/* Refuse to arm a guard that could not unmount anything when it matters: fail now, loudly, not at the crash. */
static int have_cap_sys_admin(void) {
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
    memset(data, 0, sizeof data);
    if (syscall(SYS_capget, &hdr, data) != 0)
        return 1; /* cannot tell: let umount2 decide later rather than refuse a working setup */
    return (data[CAP_SYS_ADMIN / 32].effective >> (CAP_SYS_ADMIN % 32)) & 1;
}

static int parse_int(const char *s, long min, long max, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static void on_usr1(int sig) {
    (void)sig;
    handed_over = 1;
}

/* The size of a process's descriptor table: every fd number it holds is below it. */
static long fd_table_size(pid_t pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "re");
    long size = 0;
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "FDSize: %ld", &size) == 1)
            break;
    fclose(f);
    return size;
}

/* Takes a copy of the daemon's fanotify group and fixes the bound below which its event numbers lie. */
static int take_group(int pidfd, pid_t pid, long fdnum, long *bound) {
    int g = (int)syscall(__NR_pidfd_getfd, pidfd, (int)fdnum, 0);
    if (g < 0) {
        if (errno == EPERM) /* a container without CAP_SYS_PTRACE (docker's seccomp profile keys pidfd_getfd to it) */
            fprintf(stderr, "%s: not allowed to take a copy of the daemon's fanotify group (pidfd_getfd needs"
                    " CAP_SYS_PTRACE); in a container, add --cap-add SYS_PTRACE\n", prog);
        else
            fprintf(stderr, "%s: cannot take a copy of the daemon's fanotify group (fd %ld of pid %d): %s\n", prog,
                    fdnum, (int)pid, strerror(errno));
        return -1;
    }
    char self[64], target[64];
    snprintf(self, sizeof self, "/proc/self/fd/%d", g);
    ssize_t n = readlink(self, target, sizeof target - 1);
    if (n < 0 || (target[n] = '\0', strcmp(target, "anon_inode:[fanotify]") != 0)) {
        fprintf(stderr, "%s: fd %ld of pid %d is not a fanotify group\n", prog, fdnum, (int)pid);
        close(g);
        return -1;
    }
    struct rlimit rl;
    if (prlimit(pid, RLIMIT_NOFILE, NULL, &rl) != 0) {
        fprintf(stderr, "%s: prlimit(%d): %s\n", prog, (int)pid, strerror(errno));
        close(g);
        return -1;
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > FD_CAP) {
        struct rlimit capped = {.rlim_cur = FD_CAP, .rlim_max = rl.rlim_max};
        if (prlimit(pid, RLIMIT_NOFILE, &capped, NULL) != 0) {
            fprintf(stderr, "%s: cannot cap the daemon's descriptors at %d: %s\n", prog, FD_CAP, strerror(errno));
            close(g);
            return -1;
        }
        rl.rlim_cur = FD_CAP;
    }
    long table = fd_table_size(pid); /* fds opened before the cap may lie above it */
    *bound = (long)rl.rlim_cur > table ? (long)rl.rlim_cur : table;
    return g;
}

/* Denies every event the dead daemon read and never answered. Numbers not pending are refused (ENOENT). */
static long deny_unanswered(int group, long bound) {
    long denied = 0;
    for (long n = 0; n < bound; n++) {
        int32_t response[2] = {(int32_t)n, FAN_DENY_EIO};
        if (write(group, response, sizeof response) == (ssize_t)sizeof response)
            denied++;
    }
    return denied;
}

/* Reads what is queued and denies each permission event with EIO; returns how many, or -1 on a read error. */
static long deny_queued(int group) {
    char buf[4096] __attribute__((aligned(8)));
    long denied = 0;
    for (;;) {
        ssize_t len = read(group, buf, sizeof buf);
        if (len < 0)
            return (errno == EAGAIN || errno == EINTR) ? denied : -1;
        for (ssize_t at = 0; at + FAN_EVENT_METADATA_LEN <= len;) {
            uint32_t event_len;
            uint64_t mask;
            int32_t fd;
            memcpy(&event_len, buf + at, 4);
            memcpy(&mask, buf + at + 8, 8);
            memcpy(&fd, buf + at + 16, 4);
            if (event_len < FAN_EVENT_METADATA_LEN)
                break;
            if (fd >= 0) {
                if (mask & FAN_PERM_EVENTS) {
                    int32_t response[2] = {fd, FAN_DENY_EIO};
                    if (write(group, response, sizeof response) == (ssize_t)sizeof response)
                        denied++;
                }
                close(fd);
            }
            at += event_len;
        }
    }
}

/* Whether the view's mount is a process's cwd or root, or holds one of its open files. */
static int pid_uses(const char *pid, const struct mnt_ident *view) {
    char path[PATH_MAX];
    struct mnt_ident m;
    const char *links[] = {"cwd", "root"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "/proc/%s/%s", pid, links[i]);
        if (mount_of_at(path, 0, &m) == 0 && same_mount(&m, view))
            return 1;
    }
    snprintf(path, sizeof path, "/proc/%s/fd", pid);
    DIR *fds = opendir(path);
    if (fds == NULL)
        return 0;
    int used = 0;
    for (struct dirent *e; !used && (e = readdir(fds)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "/proc/%s/fd/%s", pid, e->d_name);
        used = mount_of_at(path, 0, &m) == 0 && same_mount(&m, view);
    }
    closedir(fds);
    return used;
}

static int view_in_use(const struct mnt_ident *view) {
    DIR *proc = opendir("/proc");
    if (proc == NULL)
        return 1; /* cannot tell: keep holding */
    char self[32];
    snprintf(self, sizeof self, "%d", (int)getpid());
    int used = 0;
    for (struct dirent *e; !used && (e = readdir(proc)) != NULL;)
        if (e->d_name[0] >= '1' && e->d_name[0] <= '9' && strcmp(e->d_name, self) != 0)
            used = pid_uses(e->d_name, view);
    closedir(proc);
    return used;
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Holds the group after the daemon: every reader gets EIO until no one uses the view or a successor takes over.
 * "No one" must hold at two checks 200 ms apart with the queue drained before each: an open that was already
 * past the view's path when it was detached is still answered. Logs only when it denied something or handed
 * over: a clean stop with no reader leaves no log line. */
static int hold(int group, long bound, const struct mnt_ident *view) {
    long unanswered = deny_unanswered(group, bound);
    long queued = 0;
    int idle_checks = 0;
    double next_check = 0;
    for (;;) {
        if (handed_over) {
            fprintf(stderr, "%s: handed the group to a new daemon (denied %ld unanswered and %ld queued event(s))\n",
                    prog, unanswered, queued);
            return 0;
        }
        long n = deny_queued(group);
        if (n < 0) {
            fprintf(stderr, "%s: read from the group: %s\n", prog, strerror(errno));
            return 1;
        }
        queued += n;
        double t = now_seconds();
        if (t >= next_check) {
            idle_checks = view_in_use(view) ? 0 : idle_checks + 1;
            if (idle_checks >= 2) {
                if (unanswered + queued > 0)
                    fprintf(stderr, "%s: denied %ld unanswered and %ld queued event(s) with EIO; no process uses the"
                            " view any more, released the group\n", prog, unanswered, queued);
                return 0;
            }
            next_check = t + (idle_checks > 0 ? 0.2 : 1.0);
        }
        struct pollfd p = {.fd = group, .events = POLLIN};
        int wait_ms = (int)((next_check - now_seconds()) * 1000) + 1;
        if (poll(&p, 1, wait_ms < 1 ? 1 : wait_ms) < 0 && errno != EINTR) {
            fprintf(stderr, "%s: poll on the group: %s\n", prog, strerror(errno));
            return 1;
        }
    }
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 6) {
        fprintf(stderr, "usage: %s PID MOUNTPOINT [GROUPFD [STOPPED_LIMIT [SHIELD]]]\n", prog);
        return 2;
    }
    long v;
    if (parse_int(argv[1], 1, INT_MAX, &v) != 0) {
        fprintf(stderr, "%s: not a process id: '%s'\n", prog, argv[1]);
        return 2;
    }
    pid_t pid = (pid_t)v;
    long groupfd = -1;
    if (argc >= 4 && parse_int(argv[3], -1, INT_MAX, &groupfd) != 0) {
        fprintf(stderr, "%s: not a file descriptor number: '%s'\n", prog, argv[3]);
        return 2;
    }
    long stopped_limit = 0;
    if (argc >= 5 && parse_int(argv[4], 0, 86400, &stopped_limit) != 0) {
        fprintf(stderr, "%s: not a number of seconds: '%s'\n", prog, argv[4]);
        return 2;
    }
    /* SHIELD: the unique mount id of the daemon's private bind of MOUNTPOINT onto itself, under the view; detached
     * after the view, and only if MOUNTPOINT then shows exactly that mount. */
    uint64_t shield = 0;
    if (argc == 6) {
        char *end;
        errno = 0;
        unsigned long long s = strtoull(argv[5], &end, 10);
        if (errno != 0 || end == argv[5] || *end != '\0' || s == 0) {
            fprintf(stderr, "%s: not a mount id: '%s'\n", prog, argv[5]);
            return 2;
        }
        shield = (uint64_t)s;
    }

    /* A pidfd, not the number: it becomes readable exactly when that process exits, and cannot be fooled by the
     * pid being reused by an unrelated process later. */
    int pidfd = (int)syscall(__NR_pidfd_open, pid, 0);
    if (pidfd < 0) {
        if (errno == ESRCH)
            fprintf(stderr, "%s: no process with pid %d (the daemon is not running)\n", prog, (int)pid);
        else
            fprintf(stderr, "%s: pidfd_open(%d): %s\n", prog, (int)pid, strerror(errno));
        return 1;
    }

    /* Resolve relative paths and symlinks once, now: later checks and the unmount must name the same place, and
     * after chdir("/") a relative path would mean something else. */
    char mnt[PATH_MAX];
    if (realpath(argv[2], mnt) == NULL) {
        fprintf(stderr, "%s: %s: %s\n", prog, argv[2], strerror(errno));
        return 1;
    }
    struct mnt_ident armed, parent;
    char up[PATH_MAX + 4];
    snprintf(up, sizeof up, "%s/..", mnt);
    if (mount_of(mnt, &armed) != 0 || mount_of(up, &parent) != 0) {
        fprintf(stderr, "%s: statx(%s, STATX_MNT_ID): %s\n", prog, mnt, strerror(errno));
        return 1;
    }
    /* Only a mount point can be detached; "/" is its own parent and is refused too. */
    if (same_mount(&armed, &parent)) {
        fprintf(stderr, "%s: %s is not a mount point\n", prog, mnt);
        return 1;
    }
    if (!have_cap_sys_admin()) {
        fprintf(stderr, "%s: needs CAP_SYS_ADMIN to unmount %s (run as root)\n", prog, mnt);
        return 1;
    }
    long bound = 0;
    int group = groupfd < 0 ? -1 : take_group(pidfd, pid, groupfd, &bound);
    if (groupfd >= 0 && group < 0)
        return 1;
    if (chdir("/") != 0) {
        fprintf(stderr, "%s: chdir /: %s\n", prog, strerror(errno));
        return 1;
    }

    /* Own session: a Ctrl-C or hangup aimed at the daemon's terminal must not take the guard down with it.
     * EPERM means we already lead a process group (started by hand from a shell); the ignored signals below
     * still cover that case. */
    if (setsid() < 0 && errno != EPERM) {
        fprintf(stderr, "%s: setsid: %s\n", prog, strerror(errno));
        return 1;
    }
    /* SIGPIPE: stdout/stderr may be pipes whose reader (the daemon) is already dead when we log. SIGUSR1: a
     * successor has taken the group; no SA_RESTART, so it interrupts poll. */
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    struct sigaction usr1 = {.sa_handler = on_usr1};
    sigemptyset(&usr1.sa_mask);
    sigaction(SIGUSR1, &usr1, NULL);

    if (printf("guard ready %d\n", group) < 0 || fflush(stdout) == EOF) {
        fprintf(stderr, "%s: cannot report ready on stdout: %s\n", prog, strerror(errno));
        return 1;
    }

    const char *why = NULL;
    int clean = 0;
    char whybuf[64];
    struct pollfd fds[2] = {
        {.fd = STDIN_FILENO, .events = POLLIN},
        {.fd = pidfd, .events = POLLIN},
    };
    double stopped_since = -1;
    while (why == NULL) {
        if (stopped_limit > 0) {
            double t = now_seconds();
            if (!is_stopped(pid)) {
                stopped_since = -1;
            } else if (stopped_since < 0) {
                stopped_since = t;
            } else if (t - stopped_since > stopped_limit) {
                /* pidfd: never a process that reused the number. Its death is then seen below. */
                syscall(__NR_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
                fprintf(stderr, "%s: daemon %d was stopped for more than %ld s; ended it so that its readers get"
                        " EIO instead of waiting\n", prog, (int)pid, stopped_limit);
                stopped_since = -1;
            }
        }
        if (poll(fds, 2, stopped_limit > 0 ? 250 : -1) < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "%s: poll: %s\n", prog, strerror(errno));
            why = "poll failed"; /* fail closed: we can no longer watch the daemon */
            break;
        }
        /* stdin first: a daemon that said 'q' and then exited shows both at once, and 'q' wins (the view is
         * already unmounted; the mount-id check below would make a late detach harmless anyway). */
        if (fds[0].revents & POLLNVAL) {
            why = "stdin is not open";
        } else if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            char buf[256];
            ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
            if (n < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (n > 0 && memchr(buf, 'q', (size_t)n) != NULL) {
                why = "the daemon stopped";
                clean = 1;
            } else if (n == 0) {
                why = "stdin closed without 'q' (the daemon's side is gone)";
            } else if (n < 0) {
                why = "stdin read failed";
            }
            /* other bytes: ignored */
        }
        if (why == NULL && (fds[1].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL))) {
            snprintf(whybuf, sizeof whybuf, "daemon %d died", (int)pid);
            why = whybuf;
        }
    }
    close(pidfd);

    int status = 0;
    if (!clean) {
        /* Never unmount a different mount that appeared at MOUNTPOINT after we armed (the daemon unmounted its
         * view and something else, maybe a new daemon, mounted there). The window between this check and umount2
         * is tiny and would need a concurrent unmount-and-remount at the same path. */
        struct mnt_ident now;
        if (mount_of(mnt, &now) != 0) {
            fprintf(stderr, "%s: %s; statx(%s): %s; nothing detached\n", prog, why, mnt, strerror(errno));
            status = 1;
        } else if (!same_mount(&now, &armed)) {
            fprintf(stderr, "%s: %s; %s is no longer the guarded mount; left it alone\n", prog, why, mnt);
        } else if (umount2(mnt, MNT_DETACH | UMOUNT_NOFOLLOW) != 0) {
            /* MNT_DETACH: the path is gone at once for every new lookup, even while something is busy inside. */
            fprintf(stderr, "%s: %s; umount2(%s): %s\n", prog, why, mnt, strerror(errno));
            status = 1;
        } else {
            fprintf(stderr, "%s: %s; detached %s\n", prog, why, mnt);
            struct mnt_ident under;
            if (shield != 0 && mount_of(mnt, &under) == 0 && under.kind == STATX_MNT_ID_UNIQUE && under.id == shield
                    && umount2(mnt, MNT_DETACH | UMOUNT_NOFOLLOW) != 0)
                fprintf(stderr, "%s: umount2(%s) of the shield under the view: %s\n", prog, mnt, strerror(errno));
        }
    }
    if (group < 0)
        return status;
    int held = hold(group, bound, &armed);
    return status != 0 ? status : held;
}
