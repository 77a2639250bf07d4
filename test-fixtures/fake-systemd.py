#!/usr/bin/env python3
"""A stand-in for systemd's side of a Type=notify service, for tests on machines whose PID 1 is not systemd.

fake-systemd.py SOCKET LOG -- COMMAND...

Binds an AF_UNIX datagram socket at SOCKET (the service's NOTIFY_SOCKET) and prints, one line each on stdout:
  MSG K=V|K=V...          a notification received (its lines joined by '|')
  FD NAME WHAT            a descriptor received with FDSTORE=1, kept under FDNAME (WHAT: its /proc readlink)
  STARTED PID             the command was started
  EXITED PID STATUS       the command exited (STATUS as os.waitstatus_to_exitcode gives it)
Commands on stdin, one a line:
  start                   starts COMMAND with NOTIFY_SOCKET, passing the kept descriptors as systemd does
                          (from fd 3 on, LISTEN_FDS, LISTEN_FDNAMES, LISTEN_PID = the command's pid); output to LOG
  flush                   closes the kept descriptors (systemd's final stop of a unit)
  quit                    closes everything and exits
"""
import os
import socket
import sys
import threading

sock_path, log_path, sep, *command = sys.argv[1:]
assert sep == "--" and command, __doc__
store = {}  # FDNAME -> fd
lock = threading.Lock()
out_lock = threading.Lock()


def say(line):
    with out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind("\0" + sock_path[1:] if sock_path.startswith("@") else sock_path)  # '@': abstract, as systemd reads it


def receive():
    while True:
        try:
            data, fds, _flags, _addr = socket.recv_fds(sock, 4096, 8)
        except OSError:
            return
        fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
        say("MSG " + "|".join(data.decode().splitlines()))
        if fds and fields.get("FDSTORE") == "1":
            name = fields.get("FDNAME", "stored")
            with lock:
                old = store.pop(name, None)
                if old is not None:
                    os.close(old)
                store[name] = fds[0]
                for extra in fds[1:]:
                    os.close(extra)
            say("FD %s %s" % (name, os.readlink("/proc/self/fd/%d" % fds[0])))
        else:
            for fd in fds:
                os.close(fd)


def start():
    with lock:
        names = list(store)
        fds = [store[n] for n in names]
    # Above any number the child's 3.. range can reach, so that dup2 into place never overwrites one of them.
    high = [os.dup(fd) for fd in fds]
    high = [fcntl_dup(fd, 100 + i) for i, fd in enumerate(high)]
    pid = os.fork()
    if pid == 0:
        try:
            sock.close()
            log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.dup2(log, 1)
            os.dup2(log, 2)
            null = os.open("/dev/null", os.O_RDONLY)
            os.dup2(null, 0)
            for i, fd in enumerate(high):
                os.dup2(fd, 3 + i)  # dup2 clears close-on-exec
            env = dict(os.environ)
            env["NOTIFY_SOCKET"] = sock_path
            if names:
                env["LISTEN_PID"] = str(os.getpid())
                env["LISTEN_FDS"] = str(len(names))
                env["LISTEN_FDNAMES"] = ":".join(names)
            os.closerange(3 + len(names), 4096)
            os.execvpe(command[0], command, env)
        finally:
            os._exit(127)
    for fd in high:
        os.close(fd)
    say("STARTED %d" % pid)
    threading.Thread(target=reap, args=(pid,), daemon=True).start()


def fcntl_dup(fd, at_least):
    import fcntl
    new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, at_least)
    os.close(fd)
    return new


def reap(pid):
    _, status = os.waitpid(pid, 0)
    say("EXITED %d %d" % (pid, os.waitstatus_to_exitcode(status)))


threading.Thread(target=receive, daemon=True).start()
say("LISTENING " + sock_path)
for line in sys.stdin:
    cmd = line.strip()
    if cmd == "start":
        start()
    elif cmd == "flush":
        with lock:
            for fd in store.values():
                os.close(fd)
            store.clear()
        say("FLUSHED")
    elif cmd == "quit":
        break
with lock:
    for fd in store.values():
        os.close(fd)
sock.close()
if not sock_path.startswith("@"):
    os.unlink(sock_path)
say("QUIT")
