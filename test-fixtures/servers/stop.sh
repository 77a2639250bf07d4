#!/usr/bin/env bash
# stop.sh WORKDIR
#
# Stops the server that serve.sh started for WORKDIR (pid in
# WORKDIR/server.pid) together with all its workers, and waits (bounded)
# until every process of it is gone. Safe to call more than once and when
# nothing is running (exit 0). Exits 1 only if processes survive SIGKILL.
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 WORKDIR" >&2
    exit 2
fi
WORKDIR=$1
PIDFILE="$WORKDIR/server.pid"
STARTFILE="$WORKDIR/server.starttime"

cleanup_files() { rm -f -- "$PIDFILE" "$STARTFILE"; }

[[ -s "$PIDFILE" ]] || exit 0          # nothing was started / already stopped
PID=$(<"$PIDFILE")
if ! [[ "$PID" =~ ^[0-9]+$ ]] || (( PID <= 1 )); then
    echo "stop.sh: ignoring bogus pid '$PID' in $PIDFILE" >&2
    cleanup_files
    exit 0
fi

# Fields of /proc/PID/stat after the "(comm)" part (comm may contain spaces
# and parentheses, hence cutting up to the last ") "):
# 1=state 3=pgrp ... 20=starttime.
stat_field() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f"$2"; }

proc_alive() {
    local st
    st=$(stat_field "$1" 1) || return 1
    [[ -n "$st" && "$st" != Z ]]       # zombies are dead, just not reaped
}

# Is any live (non-zombie) process still in process group $1?
group_alive() {
    local p
    for p in $(pgrep -g "$1" 2>/dev/null || true); do
        proc_alive "$p" && return 0
    done
    return 1
}

if ! proc_alive "$PID"; then
    # The leader is gone; workers of a crashed server might still linger in
    # its group (pgid == pid, see serve.sh), so fall through to group kill.
    GROUP=$PID
else
    # Never kill a recycled pid that now belongs to someone else.
    if [[ -s "$STARTFILE" ]] && [[ "$(stat_field "$PID" 20)" != "$(<"$STARTFILE")" ]]; then
        echo "stop.sh: pid $PID was reused by another process; not killing it" >&2
        cleanup_files
        exit 0
    fi
    # serve.sh starts the server with setsid, so it leads its own group and
    # killing the group also gets nginx/apache workers. Be careful anyway.
    if [[ "$(stat_field "$PID" 3)" == "$PID" ]]; then GROUP=$PID; else GROUP=""; fi
fi

still_there() {
    if [[ -n "$GROUP" ]]; then group_alive "$GROUP"; else proc_alive "$PID"; fi
}
send() {
    if [[ -n "$GROUP" ]]; then kill "-$1" -- "-$GROUP" 2>/dev/null || true
    else kill "-$1" "$PID" 2>/dev/null || true; fi
}

# Polite first (nginx/apache/python all exit quickly on TERM), then KILL.
if still_there; then
    send TERM
    send CONT      # a stopped (SIGSTOP/Ctrl-Z) process only acts on TERM once continued
    for _ in $(seq 1 100); do still_there || break; sleep 0.1; done
fi
if still_there; then
    echo "stop.sh: server did not exit on SIGTERM within 10s; sending SIGKILL" >&2
    send KILL
    for _ in $(seq 1 50); do still_there || break; sleep 0.1; done
fi
if still_there; then
    echo "stop.sh: processes of server pid $PID survived SIGKILL" >&2
    exit 1
fi
cleanup_files
