#!/usr/bin/env python3
"""bench/lib/randread.py FILE SECONDS

Fallback for fio: 4 KiB preads at random 4 KiB-aligned offsets of FILE (one thread, fixed seed) for SECONDS
seconds; prints the reads per second. Far more per-call overhead than fio (the interpreter), so compare its
numbers only with each other.
"""
import os
import random
import sys
import time


def main():
    path, seconds = sys.argv[1], float(sys.argv[2])
    fd = os.open(path, os.O_RDONLY)
    blocks = max(1, os.fstat(fd).st_size // 4096)
    rnd = random.Random(42)
    n = 0
    t0 = time.monotonic()
    end = t0 + seconds
    while True:
        for _ in range(256):
            os.pread(fd, 4096, rnd.randrange(blocks) * 4096)
        n += 256
        now = time.monotonic()
        if now >= end:
            break
    print(f"{n / (now - t0):.0f}")


if __name__ == "__main__":
    main()
