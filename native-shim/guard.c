/*
 * lazydir-guard PID MOUNTPOINT
 *
 * Fail-closed watchdog for the lazydir daemon (see dev.lazydir.hsm.Guard). The daemon bind-mounts its private
 * store onto the user's (empty) directory; reads through that mount are filled in by fanotify pre-content
 * events. If the daemon dies (SIGKILL, OOM) nothing answers those events any more and unpopulated sparse stubs
 * read as zeros. This small process outlives the daemon and, as soon as the daemon's pid dies, lazily detaches
 * the bind mount (umount2 MNT_DETACH), so new opens under MOUNTPOINT get ENOENT from the empty directory below.
 *
 * Protocol: prints "guard ready\n" on stdout once armed. The byte 'q' on stdin means "clean shutdown, the
 * daemon unmounted the view itself": exit 0 and touch nothing. EOF on stdin without 'q' (the parent is gone)
 * is treated like the daemon's death. Errors go to stderr with a non-zero exit (1; 2 for bad usage).
 *
 * It holds no fd on MOUNTPOINT or its parent (a reference would make the daemon's own plain umount fail with
 * EBUSY) and chdirs to "/" so its working directory pins nothing either.
 */
#define _GNU_SOURCE
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
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

/* Older headers may lack these; values are the mainline ABI. */
#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434
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

static const char *prog = "lazydir-guard";

/* Which mount a path is on. Both id kinds are asked for: a kernel that knows STATX_MNT_ID_UNIQUE answers with
 * the unique id (and says so in stx_mask), an older one ignores that bit and gives the recyclable id. The kind is
 * part of the identity so two ids of different kinds never compare equal. */
struct mnt_ident {
    uint64_t id;
    uint32_t kind;
};

static int mount_of(const char *path, struct mnt_ident *out) {
    struct statx stx;
    /* AT_SYMLINK_NOFOLLOW: a symlink planted at MOUNTPOINT later is not a mount; never look through it. */
    if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_MNT_ID | STATX_MNT_ID_UNIQUE, &stx) != 0)
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

static int parse_pid(const char *s, pid_t *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v <= 0 || v > INT_MAX)
        return -1;
    *out = (pid_t)v;
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s PID MOUNTPOINT\n", prog);
        return 2;
    }
    pid_t pid;
    if (parse_pid(argv[1], &pid) != 0) {
        fprintf(stderr, "%s: not a process id: '%s'\n", prog, argv[1]);
        return 2;
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
    /* SIGPIPE: stdout/stderr may be pipes whose reader (the daemon) is already dead when we log. */
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);

    if (fputs("guard ready\n", stdout) == EOF || fflush(stdout) == EOF) {
        fprintf(stderr, "%s: cannot report ready on stdout: %s\n", prog, strerror(errno));
        return 1;
    }

    const char *why = NULL;
    char whybuf[64];
    struct pollfd fds[2] = {
        {.fd = STDIN_FILENO, .events = POLLIN},
        {.fd = pidfd, .events = POLLIN},
    };
    while (why == NULL) {
        if (poll(fds, 2, -1) < 0) {
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
            if (n > 0 && memchr(buf, 'q', (size_t)n) != NULL)
                return 0; /* clean shutdown: leave the mount alone */
            if (n == 0)
                why = "stdin closed without 'q' (the daemon's side is gone)";
            else if (n < 0)
                why = "stdin read failed";
            /* other bytes: ignored */
        }
        if (why == NULL && (fds[1].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL))) {
            snprintf(whybuf, sizeof whybuf, "daemon %d died", (int)pid);
            why = whybuf;
        }
    }

    /* Never unmount a different mount that appeared at MOUNTPOINT after we armed (the daemon unmounted its view
     * and something else, maybe a new daemon, mounted there). The window between this check and umount2 is tiny
     * and would need a concurrent unmount-and-remount at the same path. */
    struct mnt_ident now;
    if (mount_of(mnt, &now) != 0) {
        fprintf(stderr, "%s: %s; statx(%s): %s; nothing detached\n", prog, why, mnt, strerror(errno));
        return 1;
    }
    if (!same_mount(&now, &armed)) {
        fprintf(stderr, "%s: %s; %s is no longer the guarded mount; left it alone\n", prog, why, mnt);
        return 0;
    }
    /* MNT_DETACH: open files keep working (and the daemon is gone, so they may read zeros, which no one can stop
     * now), but the path is gone at once for every new lookup, even while something is busy inside it. */
    if (umount2(mnt, MNT_DETACH | UMOUNT_NOFOLLOW) != 0) {
        fprintf(stderr, "%s: %s; umount2(%s): %s\n", prog, why, mnt, strerror(errno));
        return 1;
    }
    fprintf(stderr, "%s: %s; detached %s\n", prog, why, mnt);
    return 0;
}
