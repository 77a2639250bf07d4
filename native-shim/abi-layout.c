/*
 * Prints the struct offsets and constants that lazydir's jnr-ffi layer hard-codes (see
 * src/main/java/dev/lazydir/internal/posix), the errno numbers of its Errno included, one "name=value" per line.
 * AbiLayoutTest compiles and runs this with the machine's C compiler and compares, so a libc or architecture with
 * another layout fails loudly.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/fanotify.h>
#include <poll.h>
#include <pwd.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>

int main(void) {
    printf("statx.stx_uid=%zu\n", offsetof(struct statx, stx_uid));
    printf("statx.stx_gid=%zu\n", offsetof(struct statx, stx_gid));
    printf("statx.stx_mode=%zu\n", offsetof(struct statx, stx_mode));
    printf("statx.stx_ino=%zu\n", offsetof(struct statx, stx_ino));
    printf("statx.stx_size=%zu\n", offsetof(struct statx, stx_size));
    printf("statx.stx_blocks=%zu\n", offsetof(struct statx, stx_blocks));
    printf("statx.stx_mtime=%zu\n", offsetof(struct statx, stx_mtime));
    printf("statx.stx_dev_major=%zu\n", offsetof(struct statx, stx_dev_major));
    printf("statx.stx_dev_minor=%zu\n", offsetof(struct statx, stx_dev_minor));
    printf("statx_timestamp.tv_nsec=%zu\n", offsetof(struct statx_timestamp, tv_nsec));
    printf("statx.size_max=%d\n", sizeof(struct statx) <= 256);
    printf("STATX_TYPE=%d\nSTATX_BASIC_STATS=%d\n", STATX_TYPE, STATX_BASIC_STATS);
    printf("S_IFMT=%d\nS_IFDIR=%d\nS_IFREG=%d\nS_IFLNK=%d\n", S_IFMT, S_IFDIR, S_IFREG, S_IFLNK);
    printf("passwd.pw_uid=%zu\npasswd.pw_gid=%zu\ngroup.gr_gid=%zu\n", offsetof(struct passwd, pw_uid),
        offsetof(struct passwd, pw_gid), offsetof(struct group, gr_gid));
    printf("dirent.d_name=%zu\n", offsetof(struct dirent, d_name));
    printf("timespec.size=%zu\n", sizeof(struct timespec));
    printf("O_DIRECTORY=%d\n", O_DIRECTORY);
    printf("O_NOFOLLOW=%d\n", O_NOFOLLOW);
    printf("O_CLOEXEC=%d\n", O_CLOEXEC);
    printf("O_NONBLOCK=%d\n", O_NONBLOCK);
    printf("O_PATH=%d\n", O_PATH);
    printf("AT_FDCWD=%d\n", AT_FDCWD);
    printf("AT_REMOVEDIR=%d\n", AT_REMOVEDIR);
    printf("AT_EMPTY_PATH=%d\n", AT_EMPTY_PATH);
    printf("AT_SYMLINK_NOFOLLOW=%d\n", AT_SYMLINK_NOFOLLOW);
    printf("RENAME_NOREPLACE=%d\n", RENAME_NOREPLACE);
    printf("FALLOC_FL_KEEP_SIZE=%d\n", FALLOC_FL_KEEP_SIZE);
    printf("FALLOC_FL_PUNCH_HOLE=%d\n", FALLOC_FL_PUNCH_HOLE);
    printf("F_SETLEASE=%d\nF_GETLEASE=%d\nF_RDLCK=%d\nF_WRLCK=%d\nF_UNLCK=%d\nSIGIO=%d\n", F_SETLEASE, F_GETLEASE,
        F_RDLCK, F_WRLCK, F_UNLCK, SIGIO);
    printf("MS_NOSYMFOLLOW=%d\n", 256); /* glibc 2.36 headers lack it; the kernel's value, see linux/mount.h */
    /* the fanotify group's structs and flags (FanotifyNative, EventParser, Fan; FanotifyAbiLayoutTest) */
    printf("pollfd.size=%zu\npollfd.events=%zu\npollfd.revents=%zu\n", sizeof(struct pollfd),
        offsetof(struct pollfd, events), offsetof(struct pollfd, revents));
    printf("POLLIN=%d\nPOLLERR=%d\nPOLLNVAL=%d\n", POLLIN, POLLERR, POLLNVAL);
    printf("EFD_CLOEXEC=%d\nEFD_NONBLOCK=%d\n", EFD_CLOEXEC, EFD_NONBLOCK);
    printf("fanotify_event_metadata.size=%zu\n", sizeof(struct fanotify_event_metadata));
    printf("fanotify_event_metadata.vers=%zu\n", offsetof(struct fanotify_event_metadata, vers));
    printf("fanotify_event_metadata.metadata_len=%zu\n", offsetof(struct fanotify_event_metadata, metadata_len));
    printf("fanotify_event_metadata.mask=%zu\n", offsetof(struct fanotify_event_metadata, mask));
    printf("fanotify_event_metadata.fd=%zu\n", offsetof(struct fanotify_event_metadata, fd));
    printf("fanotify_event_metadata.pid=%zu\n", offsetof(struct fanotify_event_metadata, pid));
    printf("fanotify_response.size=%zu\n", sizeof(struct fanotify_response));
    printf("FANOTIFY_METADATA_VERSION=%d\n", FANOTIFY_METADATA_VERSION);
    /* every errno Errno names (AbiLayoutTest fails on one it does not find here) */
    printf("errno.EPERM=%d\n", EPERM);
    printf("errno.ENOENT=%d\n", ENOENT);
    printf("errno.EINTR=%d\n", EINTR);
    printf("errno.EIO=%d\n", EIO);
    printf("errno.EBADF=%d\n", EBADF);
    printf("errno.EAGAIN=%d\n", EAGAIN);
    printf("errno.EBUSY=%d\n", EBUSY);
    printf("errno.EEXIST=%d\n", EEXIST);
    printf("errno.EXDEV=%d\n", EXDEV);
    printf("errno.ENOTDIR=%d\n", ENOTDIR);
    printf("errno.EISDIR=%d\n", EISDIR);
    printf("errno.EINVAL=%d\n", EINVAL);
    printf("errno.ETXTBSY=%d\n", ETXTBSY);
    printf("errno.ENOSPC=%d\n", ENOSPC);
    printf("errno.ERANGE=%d\n", ERANGE);
    printf("errno.ENAMETOOLONG=%d\n", ENAMETOOLONG);
    printf("errno.ENOTEMPTY=%d\n", ENOTEMPTY);
    printf("errno.ELOOP=%d\n", ELOOP);
    printf("errno.ENODATA=%d\n", ENODATA);
    printf("errno.EOPNOTSUPP=%d\n", EOPNOTSUPP);
    printf("errno.EDQUOT=%d\n", EDQUOT);
#ifdef SYS_pidfd_open
    printf("SYS_pidfd_open=%d\n", SYS_pidfd_open);
    printf("SYS_pidfd_getfd=%d\n", SYS_pidfd_getfd);
    printf("SYS_pidfd_send_signal=%d\n", SYS_pidfd_send_signal);
#endif
    return 0;
}
