package dev.lazydir.internal.posix;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;

/**
 * Sends one AF_UNIX datagram to a socket path, optionally carrying a descriptor (SCM_RIGHTS): the systemd
 * notification protocol needs both (READY=1; FDSTORE=1 with the fanotify group), and Java 17's channels can
 * neither send unix datagrams nor pass descriptors. A path starting with '@' names an abstract socket. The
 * structures are laid out for LP64 Linux (x86_64, aarch64): msghdr 56 bytes, cmsghdr 16 bytes before its data.
 */
public final class UnixDatagram {
  private static final int AF_UNIX = 1;
  private static final int SOCK_DGRAM = 2;
  private static final int SOCK_CLOEXEC = 02000000;
  private static final int SOL_SOCKET = 1;
  private static final int SCM_RIGHTS = 1;
  private static final int MSG_NOSIGNAL = 0x4000;
  private static final int SUN_PATH_MAX = 108;

  private UnixDatagram() {}

  /** Sends text to the socket at path; fd (or -1 for none) travels with it as SCM_RIGHTS. */
  public static void send(String path, String text, int fd) throws IOException {
    byte[] name = path.getBytes(StandardCharsets.UTF_8);
    boolean abstractName = name.length > 0 && name[0] == '@';
    if (name.length == 0 || name.length >= SUN_PATH_MAX || (path.charAt(0) != '/' && !abstractName)) {
      throw new IOException("not a unix socket path: '" + path + "'");
    }
    byte[] payload = text.getBytes(StandardCharsets.UTF_8);
    jnr.ffi.Runtime rt = Posix.runtime();
    Pointer addr = Memory.allocateDirect(rt, 2 + SUN_PATH_MAX, true);
    addr.putShort(0, (short) AF_UNIX);
    addr.put(2, name, 0, name.length);
    if (abstractName) {
      addr.putByte(2, (byte) 0);
    }
    int addrLen = 2 + name.length + (abstractName ? 0 : 1);
    Pointer data = Memory.allocateDirect(rt, Math.max(1, payload.length), true);
    data.put(0, payload, 0, payload.length);
    Pointer iov = Memory.allocateDirect(rt, 16, true);
    iov.putAddress(0, data.address());
    iov.putLong(8, payload.length);
    Pointer control = null;
    if (fd >= 0) {
      control = Memory.allocateDirect(rt, 24, true); // CMSG_SPACE(sizeof(int))
      control.putLong(0, 20); // CMSG_LEN(sizeof(int))
      control.putInt(8, SOL_SOCKET);
      control.putInt(12, SCM_RIGHTS);
      control.putInt(16, fd);
    }
    Pointer msg = Memory.allocateDirect(rt, 56, true);
    msg.putAddress(0, addr.address());
    msg.putInt(8, addrLen);
    msg.putAddress(16, iov.address());
    msg.putLong(24, 1);
    msg.putAddress(32, control == null ? 0 : control.address());
    msg.putLong(40, control == null ? 0 : 24);
    LibC libc = Posix.libc();
    int sock = Posix.check(libc.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), "socket", "AF_UNIX datagram");
    try (Fd ignored = new Fd(sock, "socket " + path)) {
      Posix.check(libc.sendmsg(sock, msg, MSG_NOSIGNAL), "sendmsg", path);
    } finally {
      // The kernel reads these through msg's addresses: none may be freed (by its cleaner) before sendmsg returns.
      java.lang.ref.Reference.reachabilityFence(addr);
      java.lang.ref.Reference.reachabilityFence(data);
      java.lang.ref.Reference.reachabilityFence(iov);
      java.lang.ref.Reference.reachabilityFence(control);
    }
  }
}
