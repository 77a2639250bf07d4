#!/usr/bin/env bash
# make-tree.sh DEST
#
# Builds the deterministic "tricky" directory tree that the listing servers
# (see servers/serve.sh) expose and that the crawler tests compare against.
# DEST is deleted first if it exists. Prints nothing on success.
#
# Determinism: file contents are derived from the file's relative path only,
# and every file and directory gets a fixed mtime, so the Java test can walk
# DEST itself and compare against what the crawler produced.
#
# Permissions: everything is made world-readable (files 0644, dirs 0755)
# because apache-* servers run their workers as www-data. Note that the
# *parents* of DEST must be traversable by www-data too (mktemp -d and
# Java's Files.createTempDirectory create 0700 dirs: chmod them 0755).
set -euo pipefail

if [[ $# -ne 1 || -z "$1" ]]; then
    echo "usage: $0 DEST" >&2
    exit 2
fi
DEST=$1
case "$DEST" in
    /|/tmp|/tmp/|.|..) echo "make-tree.sh: refusing to use DEST=$DEST" >&2; exit 2 ;;
esac

# Names are byte-exact UTF-8; never let the locale reinterpret them.
export LC_ALL=C

# Default mtime; a few files get other ones (all with non-zero seconds so
# that precision tests - servers usually show only minutes - mean something).
T_DEFAULT='2024-03-05 06:07:08 UTC'

rm -rf -- "$DEST"
mkdir -p -- "$DEST"

# mkfile RELPATH SIZE [MTIME]
# Content = the line "<relpath>\n" repeated and cut to SIZE bytes: cheap,
# deterministic and different for every file (the path is unique).
mkfile() {
    local rel=$1 size=$2 mtime=${3:-$T_DEFAULT}
    local path="$DEST/$rel"
    # `yes` dies of SIGPIPE when head has enough; with pipefail that would be
    # fatal, hence the `|| true` inside the group.
    { yes -- "$rel" || true; } | head -c "$size" > "$path"
    chmod 0644 -- "$path"
    touch -h -d "$mtime" -- "$path"
}

# Default size for the "tricky name" files: depends on the name length so
# that sizes differ too.
sz() { echo $(( 100 + ${#1} * 7 )); }

# 236 ascii letters + ".txt" = a 240-byte name (well below NAME_MAX=255,
# but long enough for nginx/apache to truncate the displayed text).
LONG_NAME=""
while (( ${#LONG_NAME} < 236 )); do
    LONG_NAME+="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
done
LONG_NAME="${LONG_NAME:0:236}.txt"

# --- directories (created first, mtimes set at the very end) -------------
mkdir -p -- "$DEST/sub dir/deeper" "$DEST/ünï" "$DEST/emptydir" "$DEST/nginxindex"

# --- files at the top level -------------------------------------------------
mkfile 'plain.txt'            1234                        '2023-11-12 13:14:15 UTC'
mkfile 'empty'                0
# 3 MiB + 17 bytes: servers with approximate sizes have to round this.
mkfile 'big.bin'              $(( 3 * 1024 * 1024 + 17 )) '2022-01-02 03:04:59 UTC'
for name in \
    'with space.txt' \
    'unicodé-日本語.txt' \
    '100%.txt' \
    'hash#tag.txt' \
    'what?.txt' \
    'a&b.txt' \
    'c++.txt' \
    'semi;colon.txt' \
    ".hidden" \
    "quote'name.txt" \
    'lt<gt>.txt' \
    '%41literal.txt' \
    "$LONG_NAME"
do
    mkfile "$name" "$(sz "$name")"
done
# A different time (late in the day, so local-time conversion would move
# the date) for one of the tricky names.
touch -h -d '2021-12-31 23:59:58 UTC' -- "$DEST/with space.txt"

# --- nested content ------------------------------------------------------
mkfile 'sub dir/inner file.txt'      321  '2024-02-29 12:34:56 UTC'
mkfile 'sub dir/deeper/leaf.txt'     42
mkfile 'ünï/x.txt'                   77
# nginx/apache/python serve index.html instead of listing this directory.
printf '%s\n' \
    '<!DOCTYPE html>' \
    '<html><head><title>not a listing</title></head>' \
    '<body><a href="zzz">zzz</a></body></html>' > "$DEST/nginxindex/index.html"
chmod 0644 -- "$DEST/nginxindex/index.html"
touch -h -d "$T_DEFAULT" -- "$DEST/nginxindex/index.html"
mkfile 'nginxindex/other.txt'        55

# --- directory modes and mtimes, deepest first ---------------------------
# Creating files above bumped the directory mtimes, so fix them last, and
# children before parents (touching a child does not change its parent's
# mtime, but keep the order obvious anyway). DEST itself comes last.
chmod 0755 -- "$DEST" "$DEST/sub dir" "$DEST/sub dir/deeper" "$DEST/ünï" \
              "$DEST/emptydir" "$DEST/nginxindex"
touch -d '2024-01-15 10:20:31 UTC' -- "$DEST/sub dir/deeper"
touch -d '2024-01-16 11:21:32 UTC' -- "$DEST/sub dir"
touch -d "$T_DEFAULT"              -- "$DEST/ünï"
touch -d '2020-06-07 08:09:10 UTC' -- "$DEST/emptydir"
touch -d "$T_DEFAULT"              -- "$DEST/nginxindex"
touch -d "$T_DEFAULT"              -- "$DEST"
