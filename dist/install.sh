#!/bin/sh
# Installs lazydir without Docker or a package manager: dist/install.sh [PREFIX]   (default /usr/local)
#
#   PREFIX/bin/lazydir                               the launcher (needs java 17+ on PATH)
#   PREFIX/share/lazydir/lazydir.jar                 the program (with the guard inside)
#   PREFIX/share/man/man1/lazydir.1                  man lazydir
#   PREFIX/share/bash-completion/completions/lazydir bash completion
#   PREFIX/lib/systemd/system/lazydir@.service       the unit, its ExecStart pointing at PREFIX/bin/lazydir
#
# Build first: mvn -B -q -DskipTests package (it makes the jar, the man page and the completion in target/).
# Running it again replaces the files; nothing else is touched.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
prefix=${1:-/usr/local}
case "$prefix" in
  /*) ;;
  *) echo "install.sh: PREFIX must be an absolute path (got '$prefix'); for example: dist/install.sh /usr/local" >&2; exit 2 ;;
esac
for f in target/lazydir.jar target/man/lazydir.1 target/completion/lazydir; do
  if [ ! -f "$src/$f" ]; then
    echo "install.sh: $src/$f is missing; build it first with: mvn -B -q -DskipTests package" >&2
    exit 1
  fi
done
install -d "$prefix/bin" "$prefix/share/lazydir" "$prefix/share/man/man1" \
  "$prefix/share/bash-completion/completions" "$prefix/lib/systemd/system"
install -m 0644 "$src/target/lazydir.jar" "$prefix/share/lazydir/lazydir.jar"
install -m 0755 "$src/lazydir" "$prefix/bin/lazydir"
install -m 0644 "$src/target/man/lazydir.1" "$prefix/share/man/man1/lazydir.1"
install -m 0644 "$src/target/completion/lazydir" "$prefix/share/bash-completion/completions/lazydir"
sed "s|^ExecStart=/usr/local/bin/lazydir |ExecStart=$prefix/bin/lazydir |" "$src/dist/lazydir@.service" \
  > "$prefix/lib/systemd/system/lazydir@.service"
chmod 0644 "$prefix/lib/systemd/system/lazydir@.service"
echo "installed lazydir in $prefix (for the service: systemctl daemon-reload; see README, 'As a systemd service')"
