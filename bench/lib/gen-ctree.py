#!/usr/bin/env python3
"""bench/lib/gen-ctree.py DIR GROUPS MODULES_PER_GROUP FILES_PER_MODULE

Writes a synthetic but real C project into DIR (which must not exist): GROUPS*MODULES_PER_GROUP modules under
DIR/modules/gG/mNN/, each with FILES_PER_MODULE .c/.h pairs and an entry.c, ~30 shared headers in DIR/include,
main.c, a hand-written POSIX-sh `configure` (compiler and header probes like autoconf's, writes config.h and a
Makefile into the current directory) and Makefile.in. The build is out of tree, so it works from a read-only
source tree:

    mkdir build && cd build && sh DIR/configure && make -j"$(nproc)" && ./prog

`prog` prints one checksum line that is the same wherever the tree was built (used to check that every system
served the right bytes). No file is empty (httpdirfs hides zero-length files). Deterministic: same arguments,
same bytes.
"""
import os
import random
import sys

N_SHARED = 30


def w(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def shared_header(k, rnd):
    consts = ", ".join(str(rnd.randrange(1, 1 << 30)) for _ in range(8))
    return f"""/* util_{k:02d}.h: shared helpers (generated) */
#ifndef UTIL_{k:02d}_H
#define UTIL_{k:02d}_H
#include <stddef.h>
#include <stdint.h>

#define UTIL_{k:02d}_ROUNDS {rnd.randrange(3, 9)}
static const uint32_t util_{k:02d}_table[8] = {{ {consts} }};

static inline uint32_t util_{k:02d}_rotl(uint32_t x, unsigned r) {{
  r &= 31u;
  return r ? (x << r) | (x >> (32u - r)) : x;
}}

static inline uint32_t util_{k:02d}_mix(uint32_t h, uint32_t v) {{
  for (int i = 0; i < UTIL_{k:02d}_ROUNDS; i++) {{
    h ^= util_{k:02d}_rotl(v + util_{k:02d}_table[i & 7], (unsigned)(i * 5 + {k}));
    h *= 0x9e3779b1u;
  }}
  return h;
}}

static inline size_t util_{k:02d}_strhash(const char *s) {{
  size_t h = {rnd.randrange(1, 1 << 20)}u;
  while (*s) h = h * 31u + (unsigned char)*s++;
  return h;
}}
#endif
"""


def c_file(mod, f, rnd):
    fn = f"{mod}_f{f:02d}"
    u1, u2 = rnd.sample(range(N_SHARED), 2)
    tab = ", ".join(str(rnd.randrange(0, 1 << 16)) for _ in range(32))
    words = ", ".join(f'"w{rnd.randrange(10**6)}"' for _ in range(6))
    return f"""/* {mod}/f{f:02d}.c (generated) */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common.h"
#include "util_{u1:02d}.h"
#include "util_{u2:02d}.h"
#include "f{f:02d}.h"

static const uint16_t {fn}_tab[32] = {{ {tab} }};
static const char *const {fn}_words[6] = {{ {words} }};

struct {fn}_state {{
  uint32_t acc;
  uint32_t steps;
  char name[48];
}};

static void {fn}_init(struct {fn}_state *s, int seed) {{
  memset(s, 0, sizeof *s);
  s->acc = (uint32_t)seed ^ {rnd.randrange(1 << 31)}u;
  snprintf(s->name, sizeof s->name, "%s-%d", "{fn}", seed & 0xff);
}}

static uint32_t {fn}_step(struct {fn}_state *s, uint32_t v) {{
  s->steps++;
  s->acc = util_{u1:02d}_mix(s->acc, v);
  s->acc ^= util_{u2:02d}_mix(v, s->steps);
  return s->acc;
}}

int {fn}(int seed) {{
  struct {fn}_state s;
  {fn}_init(&s, seed);
  for (int i = 0; i < 32; i++) {{
    {fn}_step(&s, {fn}_tab[i]);
  }}
  for (int i = 0; i < 6; i++) {{
    {fn}_step(&s, (uint32_t)util_{u1:02d}_strhash({fn}_words[i]));
  }}
  {fn}_step(&s, (uint32_t)util_{u2:02d}_strhash(s.name));
  return (int)(s.acc & 0x7fffffff) ^ COMMON_SALT;
}}
"""


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    root, groups, mods, files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    if os.path.exists(root):
        sys.exit(f"{root} exists")
    rnd = random.Random(20240601)
    for k in range(N_SHARED):
        w(f"{root}/include/util_{k:02d}.h", shared_header(k, rnd))
    w(f"{root}/include/common.h", """/* common.h (generated) */
#ifndef COMMON_H
#define COMMON_H
#include <stdint.h>
#define COMMON_SALT 0x1234
#endif
""")
    modules = []
    objs = []
    for g in range(groups):
        for m in range(mods):
            mod = f"m{g:02d}{m:02d}"
            rel = f"modules/g{g:02d}/{mod}"
            modules.append(mod)
            for f in range(files):
                w(f"{root}/{rel}/f{f:02d}.h",
                  f"/* {mod}/f{f:02d}.h (generated) */\n#ifndef {mod.upper()}_F{f:02d}_H\n"
                  f"#define {mod.upper()}_F{f:02d}_H\nint {mod}_f{f:02d}(int seed);\n#endif\n")
                w(f"{root}/{rel}/f{f:02d}.c", c_file(mod, f, rnd))
                objs.append(f"{rel}/f{f:02d}.o")
            incl = "".join(f'#include "f{f:02d}.h"\n' for f in range(files))
            calls = "".join(f"  acc = acc * 33u + (unsigned)({mod}_f{f:02d}(seed + {f}));\n" for f in range(files))
            w(f"{root}/{rel}/entry.c",
              f'/* {mod}/entry.c (generated) */\n#include "config.h"\n{incl}\n'
              f"unsigned {mod}_entry(int seed);\nunsigned {mod}_entry(int seed) {{\n  unsigned acc = 0;\n{calls}"
              f"  return acc;\n}}\n")
            objs.append(f"{rel}/entry.o")
    decls = "".join(f"unsigned {mod}_entry(int seed);\n" for mod in modules)
    calls = "".join(f"  sum = sum * 31u + {mod}_entry({i});\n" for i, mod in enumerate(modules))
    w(f"{root}/main.c", f"""/* main.c (generated) */
#include "config.h"
#include <stdio.h>
{decls}
int main(void) {{
  unsigned sum = 0;
{calls}  printf("modules=%d checksum=%08x sizeof_long=%d\\n", {len(modules)}, sum, SIZEOF_LONG);
  return 0;
}}
""")
    objs.append("main.o")
    objlist = " \\\n  ".join(objs)
    w(f"{root}/Makefile.in", f"""# Makefile.in (generated); configure writes Makefile into the build directory
srcdir = @srcdir@
CC = @CC@
CFLAGS = -O2 -Wall
CPPFLAGS = -I. -I$(srcdir)/include

OBJS = \\
  {objlist}

all: prog

# a target pattern with a slash: make would otherwise move the directory part in front of $(srcdir)
modules/%.o: $(srcdir)/modules/%.c config.h
\t@mkdir -p $(@D)
\t$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

main.o: $(srcdir)/main.c config.h
\t$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

prog: $(OBJS)
\t$(CC) -o $@ $(OBJS)

clean:
\trm -f prog $(OBJS)
""")
    w(f"{root}/configure", r"""#!/bin/sh
# configure (generated): probes like autoconf's, then writes config.h and Makefile into the current directory.
srcdir=$(cd "$(dirname "$0")" && pwd)
CC=${CC:-cc}
tmp=conftest$$
trap 'rm -f $tmp $tmp.c $tmp.o' EXIT
printf 'checking for a working C compiler (%s)... ' "$CC"
printf 'int main(void){return 0;}\n' > $tmp.c
$CC $tmp.c -o $tmp 2>/dev/null && ./$tmp || { echo no; exit 1; }
echo yes
echo "/* config.h (generated by configure) */" > config.h
for h in stdio.h stdlib.h string.h strings.h unistd.h stdint.h inttypes.h limits.h errno.h fcntl.h \
         sys/types.h sys/stat.h sys/time.h time.h signal.h; do
  printf 'checking for %s... ' "$h"
  printf '#include <%s>\nint main(void){return 0;}\n' "$h" > $tmp.c
  if $CC -c $tmp.c -o $tmp.o 2>/dev/null; then
    echo yes
    echo "#define HAVE_$(echo "$h" | tr 'a-z./' 'A-Z__') 1" >> config.h
  else
    echo no
  fi
done
for t in short int long 'long long' 'void *' size_t; do
  printf 'checking size of %s... ' "$t"
  printf '#include <stdio.h>\n#include <stddef.h>\nint main(void){printf("%%d\\n",(int)sizeof(%s));return 0;}\n' "$t" > $tmp.c
  $CC $tmp.c -o $tmp 2>/dev/null || { echo failed; exit 1; }
  n=$(./$tmp); echo "$n"
  echo "#define SIZEOF_$(echo "$t" | tr 'a-z *' 'A-Z_P') $n" >> config.h
done
sed -e "s|@srcdir@|$srcdir|g" -e "s|@CC@|$CC|g" "$srcdir/Makefile.in" > Makefile
echo "configure: wrote config.h and Makefile (srcdir=$srcdir)"
""")
    os.chmod(f"{root}/configure", 0o755)
    w(f"{root}/README", f"Synthetic C project for bench/run: {len(modules)} modules, {len(objs)} objects.\n"
      "Build out of tree: mkdir b && cd b && sh SRCDIR/configure && make -j2 && ./prog\n")


if __name__ == "__main__":
    main()
