#!/usr/bin/env python3
"""Which code of a running server is resident: the pages of its executable that are mapped
now, summed per crate (and per symbol with --symbols N).

Usage: python3 benches/e2e/resident_code.py PID [--symbols N]

Reads /proc/PID/maps and /proc/PID/pagemap (the present bit of each page of the executable's
mappings), and the executable's symbol table (`nm -S`, demangled by `c++filt`). A symbol's
bytes count in the share of its pages that are present. The kernel maps file pages 64 KB or
more at a time around each page a thread touches (fault-around), so the figures say which
code sits in the blocks that were touched, not only which code ran. Needs binutils.
"""

import collections
import os
import re
import struct
import subprocess
import sys

PAGE = os.sysconf("SC_PAGE_SIZE")


def present_pages(pid, exe):
    """File offsets of the executable's pages that are mapped in the process now."""
    offsets = []
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/pagemap", "rb") as pagemap:
        for line in maps:
            parts = line.split()
            if len(parts) < 6 or parts[5] != exe:
                continue
            low, high = (int(x, 16) for x in parts[0].split("-"))
            offset = int(parts[2], 16)
            count = (high - low) // PAGE
            pagemap.seek(low // PAGE * 8)
            entries = pagemap.read(count * 8)
            for i in range(count):
                (entry,) = struct.unpack_from("<Q", entries, i * 8)
                if entry >> 63:
                    offsets.append(offset + i * PAGE)
    return offsets


def load_segments(exe):
    """(file offset, virtual address, file size) of each LOAD segment."""
    out = subprocess.run(["readelf", "-lW", exe], capture_output=True, text=True, check=True)
    return [(int(p[1], 16), int(p[2], 16), int(p[4], 16))
            for p in (line.split() for line in out.stdout.splitlines()) if p and p[0] == "LOAD"]


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    pid = sys.argv[1]
    top = int(sys.argv[sys.argv.index("--symbols") + 1]) if "--symbols" in sys.argv else 0
    exe = os.readlink(f"/proc/{pid}/exe")
    segments = load_segments(exe)
    present = set()
    for offset in present_pages(pid, exe):
        for file_offset, address, size in segments:
            if file_offset - file_offset % PAGE <= offset < file_offset + size:
                present.add((offset - file_offset + address) // PAGE)
                break
    nm = subprocess.run(["nm", "-S", "--defined-only", exe], capture_output=True, text=True,
                        check=True).stdout.splitlines()
    symbols = [p for p in (line.split(" ", 3) for line in nm) if len(p) == 4]
    names = subprocess.run(["c++filt"], input="\n".join(p[3] for p in symbols),
                           capture_output=True, text=True, check=True).stdout.splitlines()
    per_crate, per_symbol = collections.Counter(), collections.Counter()
    for (address, size, kind, _), name in zip(symbols, names):
        address, size = int(address, 16), int(size, 16)
        if size == 0:
            continue
        pages = range(address // PAGE, (address + size - 1) // PAGE + 1)
        hit = sum(1 for page in pages if page in present)
        if not hit:
            continue
        share = size * hit / len(pages)
        crate = re.match(r"_*<?([A-Za-z_][A-Za-z0-9_]*)", name)
        per_crate[("code" if kind in "tT" else "data", crate.group(1) if crate else "?")] += share
        per_symbol[name[:140]] += share
    print(f"{exe}: {len(present) * PAGE / 1024:.0f} kB resident, "
          f"{sum(per_crate.values()) / 1024:.0f} kB of it in symbols")
    for (kind, crate), size in per_crate.most_common(40):
        print(f"{size / 1024:8.0f} kB  {kind:4}  {crate}")
    for name, size in per_symbol.most_common(top):
        print(f"{size / 1024:8.1f} kB  {name}")


if __name__ == "__main__":
    main()
