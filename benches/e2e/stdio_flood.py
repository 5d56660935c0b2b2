#!/usr/bin/env python3
"""Pipelined stdio flood: initialize, then N `echo` tools/call lines as fast as the pipe
takes them, into one MCP stdio server; every response is checked.

usage: stdio_flood.py N TEXT SERVER_CPU -- COMMAND...

The server is started pinned to SERVER_CPU. Prints one line:
RESULT calls=N responses=R good=G seconds=S calls_per_s=C hwm_kb=H rss_kb=a,b,c,d cpu_s=T exit=E
`responses` counts tools/call responses received (must equal N); `good` those whose id is
one of the calls and whose result is the echoed text; `rss_kb` samples VmRSS when a
quarter, half, three quarters and all of the responses are in (flat = no growth with N).
"""

import json
import os
import subprocess
import sys
import threading
import time


def status_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def cpu_seconds(pid):
    """utime + stime of every thread of the process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    sep = sys.argv.index("--")
    n, text, cpu = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    command = sys.argv[sep + 1:]
    server = subprocess.Popen(
        ["taskset", "-c", cpu, *command],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        bufsize=0,
    )
    out = server.stdout.fileno()
    inp = server.stdin

    initialize = {
        "jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "stdio-flood", "version": "1"}},
    }
    inp.write((json.dumps(initialize) + "\n").encode())
    pending = b""
    while b"\n" not in pending:
        chunk = os.read(out, 1 << 16)
        if not chunk:
            sys.exit("server closed stdout before answering initialize")
        pending += chunk
    init_line, pending = pending.split(b"\n", 1)
    if b'"result"' not in init_line:
        sys.exit(f"initialize failed: {init_line[:300]!r}")
    inp.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')

    # Built before the clock starts; ids 1..=n.
    prefix = b'{"jsonrpc":"2.0","id":'
    suffix = (',"method":"tools/call","params":{"name":"echo","arguments":{"text":'
              + json.dumps(text) + "}}}\n").encode()
    batches, batch = [], []
    for i in range(1, n + 1):
        batch.append(prefix + str(i).encode() + suffix)
        if len(batch) == 1000:
            batches.append(b"".join(batch))
            batch = []
    if batch:
        batches.append(b"".join(batch))

    write_error = []

    def writer():
        try:
            for b in batches:
                inp.write(b)
        except OSError as e:  # the server went away; the count will show it
            write_error.append(e)

    cpu0 = cpu_seconds(server.pid)
    start = time.perf_counter()
    threading.Thread(target=writer, daemon=True).start()

    chunks = [pending]
    lines = pending.count(b"\n")
    marks = [n // 4, n // 2, 3 * n // 4, n]
    rss = []
    while lines < n:
        chunk = os.read(out, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
        lines += chunk.count(b"\n")
        while marks and lines >= marks[0]:
            marks.pop(0)
            rss.append(status_kb(server.pid, "VmRSS"))
    seconds = time.perf_counter() - start
    cpu_s = cpu_seconds(server.pid) - cpu0 if server.poll() is None else -1
    hwm = status_kb(server.pid, "VmHWM") if server.poll() is None else -1

    inp.close()
    try:
        code = server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        code = server.wait()
    rest = server.stdout.read()
    if rest:
        chunks.append(rest)

    responses = good = 0
    seen = set()
    for line in b"".join(chunks).splitlines():
        if not line.strip():
            continue
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        ident = msg.get("id")
        if not isinstance(ident, int) or not 1 <= ident <= n:
            continue
        responses += 1
        try:
            ok = msg["result"]["content"][0]["text"] == text and ident not in seen
        except (KeyError, IndexError, TypeError):
            ok = False
        seen.add(ident)
        good += ok

    print(
        f"RESULT calls={n} responses={responses} good={good} seconds={seconds:.4f} "
        f"calls_per_s={responses / seconds:.0f} hwm_kb={hwm} "
        f"rss_kb={','.join(map(str, rss)) or '-'} cpu_s={cpu_s:.3f} exit={code}"
        + (f" write_error={write_error[0]!r}" if write_error else "")
    )


if __name__ == "__main__":
    main()
