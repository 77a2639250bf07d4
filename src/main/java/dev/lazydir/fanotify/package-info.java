/**
 * fanotify pre-content binding for the lazydir daemon, in the style of Netty's native transport: every system call is
 * in {@link dev.lazydir.fanotify.FanotifyNative} (through the one libc binding, internal.posix.LibC; raw results or
 * -errno, {@code check} turns them into {@link dev.lazydir.fanotify.FanotifyException}, an ErrnoException made by
 * internal.posix.Errors like every other failed call); {@link dev.lazydir.fanotify.FanotifyGroup} is the public face
 * (open, mark, ignore marks, poll, respond, close); {@link dev.lazydir.fanotify.EventParser} turns one read() into
 * {@link dev.lazydir.fanotify.FanotifyEvent}s without any native code; {@link dev.lazydir.fanotify.Fan} holds the
 * constants and the FAN_DENY_ERRNO encoding.
 *
 * <p>The kernel behaviour this relies on is pinned by the privileged tests in the test tree, one class per fact
 * (loop-mounted ext4 in a private mount namespace, see FanotifyBed there). Among them, found here: they
 * pin that FAN_ONDIR is never reported in an fd-mode (pre-content) group's event mask, so directories are told apart
 * with {@link dev.lazydir.fanotify.FanotifyGroup#isDirectory}.
 */
package dev.lazydir.fanotify;
