#!/usr/bin/env bash
# capture.sh [KIND...]
#
# Re-captures the listing pages and headers in test-fixtures/listings/KIND/
# from the real servers (nginx, apache2, python3 must be installed), so the
# listing parser can be unit-tested offline against genuine server output.
# Without arguments every KIND is captured.
#
# For every KIND: build the tree (make-tree.sh) in a temp dir, start the
# server on a free 127.0.0.1 port (servers/serve.sh), save with curl
# (EXT: html, or json / xml for nginx-json / nginx-xml):
#   root.EXT                  GET /
#   subdir.EXT                GET /sub%20dir/
#   deeper.EXT                GET /sub%20dir/deeper/     (parent link of a nested dir)
#   emptydir.EXT              GET /emptydir/            (empty listing)
#   nginxindex.html           GET /nginxindex/          (index.html, not a listing)
#   root.head.txt             headers of GET / (Content-Type/charset of a listing)
#   plain.head.txt            headers of HEAD /plain.txt
#   plain.range.txt           headers of GET /plain.txt with Range: bytes=0-0
#   subdir-noslash.head.txt   headers of GET /sub%20dir (no trailing slash)
#   VERSION                   server version
# then stop the server. Header files keep the raw CRLF line endings.
# Ports and Date headers in the output are incidental and change per run.
set -euo pipefail

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
OUT="$HERE/listings"
KINDS=(nginx nginx-approx nginx-json nginx-xml apache-fancy apache-table python)
if [[ $# -gt 0 ]]; then
    for k in "$@"; do
        [[ " ${KINDS[*]} " == *" $k "* ]] || { echo "capture.sh: unknown KIND $k (one of ${KINDS[*]})" >&2; exit 2; }
    done
    KINDS=("$@")
fi

TMP=$(mktemp -d /tmp/lazydir-capture.XXXXXX)
# mktemp -d is 0700; apache workers (www-data) must be able to traverse it.
chmod 0755 "$TMP"
CURRENT_WORKDIR=""
# Whatever happens (error, Ctrl-C), stop the server we started and clean up.
cleanup() {
    if [[ -n "$CURRENT_WORKDIR" ]]; then "$HERE/servers/stop.sh" "$CURRENT_WORKDIR" || true; fi
    rm -rf -- "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$HERE/make-tree.sh" "$TMP/tree"

# Let the kernel pick a free port (tiny race until the server binds it; the
# server check in serve.sh catches a stolen port).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

server_version() {
    case "$1" in
        nginx*)  nginx -v 2>&1 ;;
        apache*) apache2 -v 2>&1 ;;
        python)  echo "$(python3 --version 2>&1) (http.server $(python3 -c 'import http.server; print(http.server.__version__)'))" ;;
    esac
}

for kind in "${KINDS[@]}"; do
    dir="$OUT/$kind"
    rm -rf -- "$dir"
    mkdir -p -- "$dir"
    port=$(free_port)
    CURRENT_WORKDIR="$TMP/work-$kind"
    "$HERE/servers/serve.sh" "$kind" "$TMP/tree" "$port" "$CURRENT_WORKDIR"
    base="http://127.0.0.1:$port"
    # --path-as-is: send the path exactly as written (no dot-segment squashing).
    c=(curl -sS --path-as-is --max-time 10)
    case "$kind" in nginx-json) ext=json ;; nginx-xml) ext=xml ;; *) ext=html ;; esac
    "${c[@]}" -o "$dir/root.$ext"       "$base/"
    "${c[@]}" -o "$dir/subdir.$ext"     "$base/sub%20dir/"
    "${c[@]}" -o "$dir/deeper.$ext"     "$base/sub%20dir/deeper/"
    "${c[@]}" -o "$dir/emptydir.$ext"   "$base/emptydir/"
    "${c[@]}" -o "$dir/nginxindex.html" "$base/nginxindex/"
    "${c[@]}" -D "$dir/root.head.txt" -o /dev/null "$base/"
    "${c[@]}" -I -D "$dir/plain.head.txt" -o /dev/null "$base/plain.txt"
    "${c[@]}" -H 'Range: bytes=0-0' -D "$dir/plain.range.txt" -o /dev/null "$base/plain.txt"
    "${c[@]}" -D "$dir/subdir-noslash.head.txt" -o /dev/null "$base/sub%20dir"
    server_version "$kind" > "$dir/VERSION"
    "$HERE/servers/stop.sh" "$CURRENT_WORKDIR"
    CURRENT_WORKDIR=""
    echo "captured $kind (port $port)"
done
