#!/usr/bin/env python3
"""End-to-end comparison: runs the HTTP and stdio measurements and writes the report.

Called by run.sh after the build; every knob comes from the environment (see run.sh).
"""

import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))

DURATION = os.environ.get("DURATION", "10s")
WARMUP = os.environ.get("WARMUP", "3s")
# The wrk connection counts: the legacy-era comparison runs at each, the other HTTP sections
# at the first only.
CONNECTION_COUNTS = [int(c) for c in os.environ.get("CONNECTIONS", "64 32").replace(",", " ").split()]
CONNECTIONS = CONNECTION_COUNTS[0]
THREADS = int(os.environ.get("THREADS", "1"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
N = int(os.environ.get("N", "100000"))
STDIO_ROUNDS = int(os.environ.get("STDIO_ROUNDS", "3"))
SERVER_CPU = os.environ.get("SERVER_CPU", "0")
LOAD_CPU = os.environ.get("LOAD_CPU", "1")
# Where the rate-limited rounds' redis-server runs: by default beside the load generator, as
# a store on its own machine would be, so that the server's core pays only for its own work.
REDIS_CPU = os.environ.get("REDIS_CPU", LOAD_CPU)
TEXT = os.environ.get("ECHO_TEXT", "hello rampart bench")
BASE_PORT = int(os.environ.get("BASE_PORT", "23480"))
OUT = os.environ.get("OUT", os.path.join(HERE, "results-latest.md"))
DEMO = os.environ["DEMO_BIN"]
RMCP = os.environ["RMCP_BIN"]
HYPER = os.environ["HYPER_BIN"]
AXUM = os.environ["AXUM_BIN"]
VERSIONS = os.environ.get("VERSIONS", "")
MODERN = os.environ.get("MODERN", "1") not in ("0", "", "false", "no")
LIMITED = os.environ.get("LIMITED", "1") not in ("0", "", "false", "no")
TRACED = os.environ.get("TRACED", "1") not in ("0", "", "false", "no")
# A limit no run reaches: every request is counted, none refused.
LIMIT = "1000000000"
SKIP_STDIO = os.environ.get("SKIP_STDIO", "0") not in ("0", "", "false", "no")
# Idle memory: rounds of starting each server alone and reading its RSS (0 leaves it out).
IDLE_ROUNDS = int(os.environ.get("IDLE_ROUNDS", "3"))
# The idle-memory bar: rampart's RSS at most this many times a bare axum server's.
IDLE_BAR = 1.2
# The throughput bar against the bare hyper server: rampart at least this share of it.
CEILING_BAR = 0.7

BODY = ('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo",'
        '"arguments":{"text":"' + TEXT + '"}}}')

# The same call as a MCP 2026-07-28 ("modern") request: no session, the SEP-2243 standard
# headers and the per-request `_meta`. echo_modern.lua sends exactly this.
MODERN_BODY = ('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo",'
               '"arguments":{"text":"' + TEXT + '"},"_meta":{'
               '"io.modelcontextprotocol/protocolVersion":"2026-07-28",'
               '"io.modelcontextprotocol/clientCapabilities":{}}}}')
MODERN_HEADERS = {"Content-Type": "application/json",
                  "Accept": "application/json, text/event-stream",
                  "MCP-Protocol-Version": "2026-07-28",
                  "Mcp-Method": "tools/call",
                  "Mcp-Name": "echo"}

HTTP_SERVERS = [
    # name, command, extra environment
    ("rampart tokio", [DEMO, "--transport", "http", "--runtime", "tokio"],
     {"STATELESS": "true", "RATE_LIMIT": "0"}),
    ("rampart smol", [DEMO, "--transport", "http", "--runtime", "smol"],
     {"STATELESS": "true", "RATE_LIMIT": "0"}),
    ("rmcp", [RMCP, "--transport", "http"], {}),
    ("hyper (ceiling)", [HYPER], {}),
]
# The 2026-07-28 rounds: separate processes (own ports, own peak RSS), measured in the
# same interleaved rounds as the servers above. rmcp 3.11 speaks 2026-07-28; `--modern`
# sets it up as rmcp documents for a 2026-07-28-only stateless server (see rmcp-echo).
MODERN_SERVERS = [
    ("rampart tokio", [DEMO, "--transport", "http", "--runtime", "tokio"],
     {"STATELESS": "true", "RATE_LIMIT": "0"}),
    ("rampart smol", [DEMO, "--transport", "http", "--runtime", "smol"],
     {"STATELESS": "true", "RATE_LIMIT": "0"}),
    ("rmcp stateless", [RMCP, "--transport", "http", "--modern"], {}),
]
# The rate-limited rounds: the same legacy-era echo with the per-client limit on, counted in
# the server's own limiter or in a shared Redis (`REDIS_URL`, filled in at run time).
LIMITED_SERVERS = [
    ("rampart tokio [in-process limit]", [DEMO, "--transport", "http", "--runtime", "tokio"],
     {"STATELESS": "true", "RATE_LIMIT": LIMIT}),
    ("rampart tokio [Redis limit]", [DEMO, "--transport", "http", "--runtime", "tokio"],
     {"STATELESS": "true", "RATE_LIMIT": LIMIT, "REDIS_URL": None}),
    ("rampart smol [in-process limit]", [DEMO, "--transport", "http", "--runtime", "smol"],
     {"STATELESS": "true", "RATE_LIMIT": LIMIT}),
    ("rampart smol [Redis limit]", [DEMO, "--transport", "http", "--runtime", "smol"],
     {"STATELESS": "true", "RATE_LIMIT": LIMIT, "REDIS_URL": None}),
]
# The traced rounds: the legacy-era echo with span export on, to an OTLP sink started for the
# run (`OTEL_EXPORTER_OTLP_ENDPOINT`, filled in at run time), beside the load generator.
TRACED_SERVERS = [
    ("rampart tokio [traces]", [DEMO, "--transport", "http", "--runtime", "tokio"],
     {"STATELESS": "true", "RATE_LIMIT": "0", "OTEL_EXPORTER_OTLP_ENDPOINT": None,
      "OTEL_BSP_SCHEDULE_DELAY": "200"}),
    ("rampart smol [traces]", [DEMO, "--transport", "http", "--runtime", "smol"],
     {"STATELESS": "true", "RATE_LIMIT": "0", "OTEL_EXPORTER_OTLP_ENDPOINT": None,
      "OTEL_BSP_SCHEDULE_DELAY": "200"}),
]
STDIO_SERVERS = [
    ("rampart", [DEMO, "--transport", "stdio"]),
    ("rmcp", [RMCP, "--transport", "stdio"]),
]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def status_kb(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fuzzers_running():
    r = subprocess.run(["pgrep", "-f", "fuzz/target|cargo-fuzz|cargo fuzz"],
                       capture_output=True, text=True)
    return [p for p in r.stdout.split() if p.strip()]


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def wait_ready(port, deadline=15.0):
    end = time.time() + deadline
    while time.time() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                pass
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}/mcp", data=BODY.encode(), method="POST",
                headers={"Content-Type": "application/json",
                         "Accept": "application/json, text/event-stream",
                         "MCP-Protocol-Version": "2025-11-25"})
            with urllib.request.urlopen(req, timeout=2) as resp:
                body = resp.read().decode()
            if TEXT not in body:
                raise SystemExit(f"port {port}: wrong answer to the echo call: {body[:300]}")
            return body
        except (OSError, urllib.error.URLError):
            time.sleep(0.05)
    raise SystemExit(f"server on port {port} did not come up")


def modern_answer_problem(content_type, body):
    """Why `body` is not a correct 2026-07-28 answer to the echo call, or None."""
    text = body
    if content_type.startswith("text/event-stream"):
        data = [line[5:].strip() for line in body.splitlines() if line.startswith("data:")]
        data = [d for d in data if d]
        if not data:
            return "an event stream without data"
        text = data[-1]
    try:
        msg = json.loads(text)
    except ValueError:
        return "not JSON"
    if msg.get("jsonrpc") != "2.0" or msg.get("id") != 1:
        return "not the JSON-RPC response to id 1"
    if "error" in msg:
        return f"a JSON-RPC error: {json.dumps(msg['error'])}"
    result = msg.get("result")
    if not isinstance(result, dict):
        return "no result"
    if result.get("isError") is True:
        return "a tool error (isError: true)"
    if result.get("resultType") != "complete":
        return "no `resultType: \"complete\"` (required in a 2026-07-28 result)"
    if result.get("content") != [{"type": "text", "text": TEXT}]:
        return "content is not the echoed text"
    return None


def wait_ready_modern(port, deadline=15.0):
    """Waits for the port, then sends one 2026-07-28 request; exits unless it is answered
    with status 200 and a correct result (the same request wrk sends in the rounds)."""
    end = time.time() + deadline
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            if time.time() > end:
                raise SystemExit(f"server on port {port} did not come up")
            time.sleep(0.05)
    req = urllib.request.Request(f"http://127.0.0.1:{port}/mcp", data=MODERN_BODY.encode(),
                                 method="POST", headers=MODERN_HEADERS)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            status, ctype, body = resp.status, resp.headers.get("Content-Type", ""), \
                resp.read().decode()
    except urllib.error.HTTPError as e:
        status, ctype, body = e.code, e.headers.get("Content-Type", ""), e.read().decode()
    problem = None if status == 200 else f"HTTP status {status}"
    problem = problem or modern_answer_problem(ctype, body)
    if problem:
        raise SystemExit(f"port {port}: the 2026-07-28 echo call was not answered correctly "
                         f"({problem}): {body[:400]}")
    return body.strip()


def run_wrk(port, duration, script="echo.lua", connections=CONNECTIONS):
    cmd = ["taskset", "-c", LOAD_CPU, "wrk", f"-t{THREADS}", f"-c{connections}",
           f"-d{duration}", "--latency", "-s", os.path.join(HERE, script),
           f"http://127.0.0.1:{port}/mcp"]
    env = dict(os.environ, ECHO_TEXT=TEXT)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                            text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    m = re.search(r"^RESULT (.*)$", out, re.M)
    if not m or proc.returncode != 0:
        raise SystemExit(f"wrk failed on port {port}:\n{out}")
    result = {k: int(v) for k, v in (kv.split("=") for kv in m.group(1).split())}
    bad = re.search(r"^FIRST_MISMATCH (.*)$", out, re.M)
    result["first_mismatch"] = bad.group(1) if bad else ""
    result["wrk_cpu_s"] = usage.ru_utime + usage.ru_stime
    return result


def start_redis(port):
    """Starts a redis-server on `port`, pinned to `REDIS_CPU`."""
    proc = subprocess.Popen(["taskset", "-c", REDIS_CPU, "redis-server", "--port", str(port),
                             "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"redis-server did not answer on port {port}")


# What the OTLP sink received in the traced rounds: posts and bytes.
SINK_COUNTS = {}


def start_sink(port):
    """Starts the OTLP sink (otlp_sink.py) on `port`, pinned to `LOAD_CPU`."""
    proc = subprocess.Popen(["taskset", "-c", LOAD_CPU, sys.executable, os.path.join(HERE, "otlp_sink.py"),
                             str(port)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"the OTLP sink did not listen on port {port}")


def sink_counts(port):
    """The sink's count of posts and bytes."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET /count HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(4096):
            data += chunk
    return json.loads(data.split(b"\r\n\r\n", 1)[1])


def http_comparison(connections=CONNECTIONS, legacy_only=False, port_offset=0):
    """Runs the HTTP rounds with wrk at `connections`; only the legacy-era servers when
    `legacy_only`. Servers listen on the ports from BASE_PORT + `port_offset` up."""
    targets = [(name, cmd, extra, "legacy") for name, cmd, extra in HTTP_SERVERS]
    if legacy_only:
        pass
    elif MODERN:
        targets += [(name, cmd, extra, "modern") for name, cmd, extra in MODERN_SERVERS]
    redis = None
    if LIMITED and not legacy_only:
        redis_port = BASE_PORT + 30
        redis = start_redis(redis_port)
        url = f"redis://127.0.0.1:{redis_port}"
        targets += [(name, cmd, {k: (url if v is None else v) for k, v in extra.items()},
                     "limited") for name, cmd, extra in LIMITED_SERVERS]
    sink = None
    if TRACED and not legacy_only:
        sink_port = BASE_PORT + 31
        sink = start_sink(sink_port)
        url = f"http://127.0.0.1:{sink_port}"
        targets += [(name, cmd, {k: (url if v is None else v) for k, v in extra.items()},
                     "traced") for name, cmd, extra in TRACED_SERVERS]
    servers = []
    for i, (name, cmd, extra, kind) in enumerate(targets):
        port = BASE_PORT + port_offset + i
        env = dict(os.environ, HOST="127.0.0.1", PORT=str(port), **extra)
        proc = subprocess.Popen(["taskset", "-c", SERVER_CPU, *cmd], env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        servers.append({"name": name, "label": name + (" [2026-07-28]" if kind == "modern"
                                                       else ""),
                        "kind": kind, "port": port, "proc": proc, "rounds": [],
                        "script": "echo_modern.lua" if kind == "modern" else "echo.lua"})
    try:
        for s in servers:
            if s["kind"] == "modern":
                s["sample"] = wait_ready_modern(s["port"])
                log(f"  {s['label']} answers the 2026-07-28 call: {s['sample'][:200]}")
            else:
                s["sample"] = wait_ready(s["port"])
        for s in servers:
            log(f"  warm-up {s['label']} ({WARMUP})")
            check_wrk(s, run_wrk(s["port"], WARMUP, s["script"], connections), "warm-up")
        # Rounds interleave the servers, so drift on the machine spreads over all of them.
        for r in range(ROUNDS):
            for s in servers:
                pid = s["proc"].pid
                cpu0, t0 = cpu_seconds(pid), time.perf_counter()
                res = run_wrk(s["port"], DURATION, s["script"], connections)
                wall = time.perf_counter() - t0
                res["server_cpu"] = (cpu_seconds(pid) - cpu0) / wall
                res["wrk_cpu"] = res["wrk_cpu_s"] / wall
                res["rps"] = res["requests"] / (res["duration_us"] / 1e6)
                s["rounds"].append(res)
                log(f"  round {r + 1}/{ROUNDS} -c{connections} {s['label']}: {res['rps']:.0f} req/s, "
                    f"p50 {res['p50_us']} us, p99 {res['p99_us']} us, "
                    f"mismatches {res['mismatches']}, non-2xx {res['status_errors']}, "
                    f"server CPU {res['server_cpu']:.0%}, wrk CPU {res['wrk_cpu']:.0%}")
                check_wrk(s, res, f"round {r + 1}")
        for s in servers:
            s["hwm_kb"] = status_kb(s["proc"].pid, "VmHWM")
            s["threads"] = status_kb(s["proc"].pid, "Threads")
    finally:
        for s in servers:
            if s["proc"].poll() is None:
                s["proc"].send_signal(signal.SIGTERM)
        for s in servers:
            try:
                s["proc"].wait(timeout=10)
            except subprocess.TimeoutExpired:
                s["proc"].kill()
                s["proc"].wait()
        if redis is not None:
            redis.kill()
            redis.wait()
        if sink is not None:
            try:
                SINK_COUNTS.update(sink_counts(sink_port))
            except OSError as err:
                log(f"  the OTLP sink did not answer its count: {err}")
            sink.kill()
            sink.wait()
    return servers


def check_wrk(server, res, what):
    """2026-07-28 rounds stop at the first bad response: a wrong answer is not measured."""
    if server["kind"] == "modern" and (res["mismatches"] or res["status_errors"]):
        raise SystemExit(
            f"{server['label']} {what}: {res['mismatches']} of {res['checked']} responses "
            f"were not a correct 2026-07-28 result ({res['status_errors']} non-2xx); first: "
            f"{res['first_mismatch']}")


def stdio_comparison():
    results = []
    for name, cmd in STDIO_SERVERS:
        rounds = []
        for r in range(STDIO_ROUNDS + 1):  # the first is a warm-up
            out = subprocess.run(
                ["taskset", "-c", LOAD_CPU, sys.executable,
                 os.path.join(HERE, "stdio_flood.py"), str(N), TEXT, SERVER_CPU, "--", *cmd],
                capture_output=True, text=True)
            m = re.search(r"^RESULT (.*)$", out.stdout, re.M)
            if not m:
                raise SystemExit(f"stdio flood failed for {name}:\n{out.stdout}{out.stderr}")
            res = dict(kv.split("=", 1) for kv in m.group(1).split())
            for k in ("calls", "responses", "good", "hwm_kb", "exit"):
                res[k] = int(res[k])
            for k in ("seconds", "calls_per_s", "cpu_s"):
                res[k] = float(res[k])
            if r == 0:
                log(f"  warm-up {name}: {res['calls_per_s']:.0f} calls/s")
                continue
            rounds.append(res)
            log(f"  round {r}/{STDIO_ROUNDS} {name}: {res['calls_per_s']:.0f} calls/s, "
                f"responses {res['responses']}/{N}, good {res['good']}, "
                f"peak RSS {res['hwm_kb'] / 1024:.1f} MiB, RSS by quarter {res['rss_kb']} kB")
        results.append({"name": name, "rounds": rounds})
    return results


# The idle-memory comparison: each server started alone, with its defaults (rampart without
# the bench's STATELESS and RATE_LIMIT settings), on the CPU the servers use.
IDLE_SERVERS = [
    ("rampart tokio", [DEMO, "--transport", "http", "--runtime", "tokio"]),
    ("rampart smol", [DEMO, "--transport", "http", "--runtime", "smol"]),
    ("bare axum", [AXUM]),
    ("hyper (ceiling)", [HYPER]),
    ("rmcp", [RMCP, "--transport", "http"]),
]
IDLE_FIELDS = ("VmRSS", "RssAnon", "RssFile", "Threads")


def idle_status(pid):
    return {field: status_kb(pid, field) for field in IDLE_FIELDS}


def post_json(port, body, session=None):
    """POSTs `body` to /mcp; returns the session id the answer names and the answer's text."""
    headers = {"Content-Type": "application/json",
               "Accept": "application/json, text/event-stream"}
    if session:
        headers.update({"Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-11-25"})
    req = urllib.request.Request(f"http://127.0.0.1:{port}/mcp", data=json.dumps(body).encode(),
                                 method="POST", headers=headers)
    with urllib.request.urlopen(req, timeout=5) as resp:
        return resp.headers.get("Mcp-Session-Id"), resp.read().decode()


def first_call(port):
    """One client's first exchange: initialize (and initialized, for a session), then the
    echo call; exits unless the echo is answered."""
    session, _ = post_json(port, {
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "idle-probe", "version": "1"}}})
    if session:
        post_json(port, {"jsonrpc": "2.0", "method": "notifications/initialized"}, session)
    _, body = post_json(port, {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                               "params": {"name": "echo", "arguments": {"text": TEXT}}}, session)
    if TEXT not in body:
        raise SystemExit(f"port {port}: wrong answer to the echo call: {body[:300]}")


def idle_comparison(port):
    """Each server alone, IDLE_ROUNDS times in turn: its RSS once it listens ("fresh", half a
    second later) and half a second after one initialize + echo call ("after a request")."""
    results = {name: [] for name, _ in IDLE_SERVERS}
    for r in range(IDLE_ROUNDS):
        for name, cmd in IDLE_SERVERS:
            env = dict(os.environ, HOST="127.0.0.1", PORT=str(port))
            proc = subprocess.Popen(["taskset", "-c", SERVER_CPU, *cmd], env=env,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            try:
                end = time.time() + 15
                while True:
                    try:
                        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                            break
                    except OSError:
                        if time.time() > end or proc.poll() is not None:
                            raise SystemExit(f"{name} did not listen on port {port}")
                        time.sleep(0.02)
                time.sleep(0.5)
                fresh = idle_status(proc.pid)
                first_call(port)
                time.sleep(0.5)
                after = idle_status(proc.pid)
            finally:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            results[name].append((fresh, after))
            log(f"  idle round {r + 1}/{IDLE_ROUNDS} {name}: fresh {fresh['VmRSS']} kB, "
                f"after a request {after['VmRSS']} kB")
    return results


def idle_rows(results):
    """Medians per server and the markdown table, with the ratios to bare axum."""
    rows = {name: {when: {f: med([r[i][f] for r in rounds]) for f in IDLE_FIELDS}
                   for i, when in enumerate(("fresh", "after"))}
            for name, rounds in results.items()}
    base = rows["bare axum"]
    lines = ["| server | fresh: RSS | anon / file | threads | after a request: RSS | "
             "anon / file | fresh / bare axum | after / bare axum |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, row in rows.items():
        f, a = row["fresh"], row["after"]
        lines.append(
            f"| {name} | {mib(f['VmRSS'])} | {mib(f['RssAnon'])} / {mib(f['RssFile'])} | "
            f"{f['Threads']:.0f} | {mib(a['VmRSS'])} | {mib(a['RssAnon'])} / {mib(a['RssFile'])} | "
            f"{f['VmRSS'] / base['fresh']['VmRSS']:.2f}x | "
            f"{a['VmRSS'] / base['after']['VmRSS']:.2f}x |")
    return rows, "\n".join(lines)


def med(values):
    return statistics.median(values)


def fmt_rps(x):
    return f"{x:,.0f}"


def mib(kb):
    return f"{kb / 1024:.1f} MiB" if kb >= 0 else "n/a"


def verdict(ok):
    return "meets" if ok else "**short**"


def http_rows(servers):
    """Per-server medians and sums over the rounds, and the markdown table of them."""
    rows = {}
    lines = []
    lines.append("| server | req/s (median) | req/s (min–max) | p50 | p99 | peak RSS | "
                 "server CPU | wrk CPU | responses checked | mismatches | socket errors |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for s in servers:
        rs = s["rounds"]
        row = {
            "rps": med([r["rps"] for r in rs]),
            "p50": med([r["p50_us"] for r in rs]),
            "p99": med([r["p99_us"] for r in rs]),
            "hwm": s["hwm_kb"],
            "checked": sum(r["checked"] for r in rs),
            "mismatches": sum(r["mismatches"] for r in rs),
            "errors": sum(r["connect_errors"] + r["read_errors"] + r["write_errors"]
                          + r["timeouts"] for r in rs),
            "status_errors": sum(r["status_errors"] for r in rs),
        }
        rows[s["name"]] = row
        lines.append(
            f"| {s['name']} | {fmt_rps(row['rps'])} | "
            f"{fmt_rps(min(r['rps'] for r in rs))}–{fmt_rps(max(r['rps'] for r in rs))} | "
            f"{row['p50'] / 1000:.3f} ms | {row['p99'] / 1000:.3f} ms | {mib(row['hwm'])} | "
            f"{med([r['server_cpu'] for r in rs]):.0%} | {med([r['wrk_cpu'] for r in rs]):.0%} | "
            f"{row['checked']:,} | {row['mismatches']} | {row['errors']} |")
    busy = [f"{s['name']} round {i + 1} ({r['server_cpu']:.0%})"
            for s in servers for i, r in enumerate(s["rounds"]) if r["server_cpu"] < 0.9]
    if busy:
        lines.append(f"\nServer CPU below 90 % (the machine was busy with something else, or "
                     f"the server was not the limit): {', '.join(busy)}.")
    return rows, "\n".join(lines)


def legacy_ratios(rows, http, connections):
    """The ratio table of the legacy-era rows at `connections` and its lines against the bar."""
    rmcp, ceiling = rows["rmcp"], rows["hyper (ceiling)"]
    ratio_lines = ["| | rampart tokio | rampart smol | bar |", "|---|---:|---:|---|"]
    bars = []
    cells = {}
    for name in ("rampart tokio", "rampart smol"):
        r = rows[name]
        cells[name] = (r["rps"] / rmcp["rps"], r["rps"] / ceiling["rps"],
                       r["p99"] / rmcp["p99"])
    t, sm = cells["rampart tokio"], cells["rampart smol"]
    ratio_lines.append(f"| throughput / rmcp | {t[0]:.2f}x | {sm[0]:.2f}x | ≥ 3x |")
    ratio_lines.append(f"| throughput / ceiling (hyper) | {t[1]:.2f}x | {sm[1]:.2f}x | ≥ {CEILING_BAR}x |")
    ratio_lines.append(f"| p99 / rmcp p99 | {t[2]:.2f}x | {sm[2]:.2f}x | ≤ 1x |")
    ratio_lines.append(f"| p99 (rmcp's p99) | {rows['rampart tokio']['p99'] / 1000:.3f} ms "
                       f"({rmcp['p99'] / 1000:.3f} ms) | {rows['rampart smol']['p99'] / 1000:.3f} ms "
                       f"({rmcp['p99'] / 1000:.3f} ms) | |")
    for name, (vs_rmcp, vs_ceiling, p99) in cells.items():
        bars.append(f"- HTTP -c{connections} {name}: throughput {vs_rmcp:.2f}x rmcp — "
                    f"{verdict(vs_rmcp >= 3)}; {vs_ceiling:.2f}x the ceiling — "
                    f"{verdict(vs_ceiling >= CEILING_BAR)}; p99 {p99:.2f}x rmcp's — {verdict(p99 <= 1)}.")
    ratio_table = "\n".join(ratio_lines)
    ceiling_wrk = med([r["wrk_cpu"] for r in http[-1]["rounds"]])
    if ceiling_wrk >= 0.95:
        ratio_table += (
            f"\n\nwrk used {ceiling_wrk:.0%} of its core against the ceiling: there the load "
            "generator is a limit too, so the real ceiling is at least the figure above and the "
            "ratios to it are upper bounds.")
    return ratio_table, bars


def main():
    start = datetime.datetime.now(datetime.timezone.utc)
    fuzz_before = fuzzers_running()
    load_before = load_average()
    n_http = (len(HTTP_SERVERS) + (len(MODERN_SERVERS) if MODERN else 0)
              + (len(LIMITED_SERVERS) if LIMITED else 0) + (len(TRACED_SERVERS) if TRACED else 0))
    log(f"HTTP: {n_http} servers on CPU {SERVER_CPU}, wrk on CPU {LOAD_CPU}, "
        f"-t{THREADS} -c{CONNECTIONS}, warm-up {WARMUP}, {ROUNDS} x {DURATION}"
        f"{''.join(f', then the legacy era at -c{c}' for c in CONNECTION_COUNTS[1:])}"
        f"{'' if MODERN else ' (2026-07-28 rounds off: MODERN=0)'}")
    idle = {}
    if IDLE_ROUNDS > 0:
        log(f"idle memory: {len(IDLE_SERVERS)} servers, {IDLE_ROUNDS} rounds")
        idle = idle_comparison(BASE_PORT + 29)
    measured = http_comparison()
    more_http = []
    for k, connections in enumerate(CONNECTION_COUNTS[1:]):
        log(f"HTTP, legacy era only: -c{connections}")
        more_http.append((connections, http_comparison(connections, legacy_only=True,
                                                       port_offset=13 + 4 * k)))
    http = [s for s in measured if s["kind"] == "legacy"]
    modern = [s for s in measured if s["kind"] == "modern"]
    limited = [s for s in measured if s["kind"] == "limited"]
    traced = [s for s in measured if s["kind"] == "traced"]
    if SKIP_STDIO:
        log("stdio: skipped (SKIP_STDIO=1)")
        stdio = []
    else:
        log(f"stdio: {N} pipelined calls, {STDIO_ROUNDS} rounds after a warm-up")
        stdio = stdio_comparison()
    fuzz_after = fuzzers_running()

    # ---- HTTP tables
    rows, http_table = http_rows(http)
    mrows, modern_table = http_rows(modern)
    ratio_table, bars = legacy_ratios(rows, http, CONNECTIONS)
    more_tables = []
    for connections, servers in more_http:
        more_rows, table = http_rows(servers)
        more_ratios, more_bars = legacy_ratios(more_rows, servers, connections)
        more_tables.append((connections, more_rows, table, more_ratios))
        bars += more_bars
    if idle:
        irows, idle_table = idle_rows(idle)
        base = irows["bare axum"]
        for name in ("rampart tokio", "rampart smol"):
            fresh = irows[name]["fresh"]["VmRSS"] / base["fresh"]["VmRSS"]
            after = irows[name]["after"]["VmRSS"] / base["after"]["VmRSS"]
            bars.append(f"- idle memory {name}: {fresh:.2f}x bare axum's RSS fresh, {after:.2f}x "
                        f"after a request — {verdict(max(fresh, after) <= IDLE_BAR)} "
                        f"(bar ≤ {IDLE_BAR}x).")

    # ---- stdio table
    slines = ["| server | calls/s (median) | calls/s (min–max) | responses / calls | "
              "correct | peak RSS | RSS at 25/50/75/100 % of responses | server CPU |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
    srows = {}
    for s in stdio:
        rs = s["rounds"]
        row = {
            "cps": med([r["calls_per_s"] for r in rs]),
            "hwm": max(r["hwm_kb"] for r in rs),
            "responses": min(r["responses"] for r in rs),
            "good": min(r["good"] for r in rs),
            "rss": sorted(rs, key=lambda r: r["calls_per_s"])[len(rs) // 2]["rss_kb"],
        }
        rss = [int(x) for x in row["rss"].split(",")] if row["rss"] != "-" else []
        row["flat"] = bool(rss) and max(rss) - min(rss) <= max(1024, min(rss) // 10)
        srows[s["name"]] = row
        cpu = med([r["cpu_s"] / r["seconds"] for r in rs])
        slines.append(
            f"| {s['name']} | {fmt_rps(row['cps'])} | "
            f"{fmt_rps(min(r['calls_per_s'] for r in rs))}–"
            f"{fmt_rps(max(r['calls_per_s'] for r in rs))} | "
            f"{row['responses']:,} / {N:,} | {row['good']:,} | {mib(row['hwm'])} | "
            f"{' / '.join(mib(x) for x in rss)} | {cpu:.0%} |")
    stdio_table = "\n".join(slines)
    if stdio:
        sr = srows["rampart"]["cps"] / srows["rmcp"]["cps"]
        stdio_ratio = f"rampart / rmcp calls/s: **{sr:.2f}x** (bar ≥ 2x)"
        bars.append(
            f"- stdio: {sr:.2f}x rmcp's calls/s — {verdict(sr >= 2)}; memory "
            f"{'flat' if srows['rampart']['flat'] else 'not flat'} "
            f"(peak {mib(srows['rampart']['hwm'])}) — {verdict(srows['rampart']['flat'])}; "
            f"responses {srows['rampart']['responses']:,} of {N:,} — "
            f"{verdict(srows['rampart']['responses'] == N and srows['rampart']['good'] == N)}.")

    # ---- 2026-07-28 ratios
    if modern:
        mrmcp = mrows["rmcp stateless"]
        mlines = ["| | rampart tokio | rampart smol |", "|---|---:|---:|"]
        mcells = {name: (mrows[name]["rps"] / mrmcp["rps"], mrows[name]["p99"] / mrmcp["p99"],
                         mrows[name]["rps"] / rows[name]["rps"])
                  for name in ("rampart tokio", "rampart smol")}
        mt, ms = mcells["rampart tokio"], mcells["rampart smol"]
        mlines.append(f"| throughput: rampart 2026-07-28 / rmcp stateless 2026-07-28 | "
                      f"**{mt[0]:.2f}x** | **{ms[0]:.2f}x** |")
        mlines.append(f"| p99: rampart / rmcp stateless | {mt[1]:.2f}x | {ms[1]:.2f}x |")
        mlines.append(f"| throughput: 2026-07-28 / the same server's legacy-era figure above | "
                      f"{mt[2]:.2f}x | {ms[2]:.2f}x |")
        modern_ratio_table = "\n".join(mlines) + (
            f"\n\nrmcp stateless: 2026-07-28 / its legacy-era figure above: "
            f"{mrmcp['rps'] / rows['rmcp']['rps']:.2f}x.")
        for name, (vs_rmcp, p99, _) in mcells.items():
            bars.append(f"- HTTP 2026-07-28 {name}: throughput {vs_rmcp:.2f}x rmcp stateless — "
                        f"{verdict(vs_rmcp >= 3)} (≥ 3x); p99 {p99:.2f}x rmcp's — {verdict(p99 <= 1)}.")
        samples = "\n".join(f"- {s['name']}: `{s['sample'][:300]}`" for s in modern)
    # ---- rate-limited ratios
    if limited:
        lrows, limited_table = http_rows(limited)
        llines = ["| | tokio | smol | goal |", "|---|---:|---:|---|"]
        lcells = {}
        for rt in ("tokio", "smol"):
            local = lrows[f"rampart {rt} [in-process limit]"]
            shared = lrows[f"rampart {rt} [Redis limit]"]
            lcells[rt] = (shared["rps"] / local["rps"], local["rps"] / rows[f"rampart {rt}"]["rps"],
                          shared["p99"] / local["p99"], local["rps"] / rows["rmcp"]["rps"],
                          local["p99"] / rows["rmcp"]["p99"])
        llines.append(f"| throughput: Redis limit / in-process limit | **{lcells['tokio'][0]:.2f}x** | "
                      f"**{lcells['smol'][0]:.2f}x** | ≥ 0.5x |")
        llines.append(f"| p99: Redis limit / in-process limit | {lcells['tokio'][2]:.2f}x | "
                      f"{lcells['smol'][2]:.2f}x | |")
        llines.append(f"| throughput: in-process limit / no limit (table above) | "
                      f"{lcells['tokio'][1]:.2f}x | {lcells['smol'][1]:.2f}x | |")
        llines.append(f"| throughput: in-process limit / rmcp (no limit, table above) | "
                      f"**{lcells['tokio'][3]:.2f}x** | **{lcells['smol'][3]:.2f}x** | ≥ 3x |")
        llines.append(f"| p99: in-process limit / rmcp (no limit) | {lcells['tokio'][4]:.2f}x | "
                      f"{lcells['smol'][4]:.2f}x | ≤ 1x |")
        limited_ratio_table = "\n".join(llines)
        for rt, (ratio, _, _, vs_rmcp, p99) in lcells.items():
            bars.append(f"- HTTP {rt}, in-process rate limit: throughput {vs_rmcp:.2f}x rmcp's "
                        f"(no limit) — {verdict(vs_rmcp >= 3)} (≥ 3x); p99 {p99:.2f}x rmcp's — "
                        f"{verdict(p99 <= 1)}.")
            bars.append(f"- HTTP {rt}, rate limit in Redis: {ratio:.2f}x the in-process limit's "
                        f"throughput — {verdict(ratio >= 0.5)} (goal ≥ 0.5x).")
    else:
        lrows = {}
    # ---- traced ratios
    if traced:
        trows, traced_table = http_rows(traced)
        tlines = ["| | tokio | smol |", "|---|---:|---:|"]
        tcells = {}
        for rt in ("tokio", "smol"):
            on, off = trows[f"rampart {rt} [traces]"], rows[f"rampart {rt}"]
            tcells[rt] = (on["rps"] / off["rps"], on["p99"] / off["p99"],
                          on["rps"] / rows["rmcp"]["rps"])
        tlines.append(f"| throughput: traces on / off | **{tcells['tokio'][0]:.2f}x** | "
                      f"**{tcells['smol'][0]:.2f}x** |")
        tlines.append(f"| p99: traces on / off | {tcells['tokio'][1]:.2f}x | {tcells['smol'][1]:.2f}x |")
        tlines.append(f"| throughput with traces on / rmcp | {tcells['tokio'][2]:.2f}x | "
                      f"{tcells['smol'][2]:.2f}x |")
        traced_ratio_table = "\n".join(tlines)
        for rt, (ratio, _, vs_rmcp) in tcells.items():
            bars.append(f"- HTTP {rt} with traces exported: {ratio:.2f}x the throughput without, "
                        f"{vs_rmcp:.2f}x rmcp.")
    else:
        trows = {}
    problems = []
    for label, table_rows in (("", rows), ("2026-07-28 ", mrows), ("rate-limited ", lrows),
                              ("traced ", trows),
                              *((f"-c{c} ", r) for c, r, _, _ in more_tables)):
        for name, row in table_rows.items():
            if row["mismatches"] or row["status_errors"]:
                problems.append(f"- {label}{name}: {row['mismatches']} responses not correct "
                                f"({row['status_errors']} non-2xx)")
    for name, row in srows.items():
        if row["responses"] != N or row["good"] != N:
            problems.append(f"- stdio {name}: {row['responses']} responses, {row['good']} "
                            f"correct, of {N}")

    cpu_model = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu_model = re.search(r"model name\s*:\s*(.*)", f.read()).group(1)
    except (OSError, AttributeError):
        pass
    quiet = "no fuzzer running" if not fuzz_before and not fuzz_after else (
        f"**fuzzers running** (pids {' '.join(sorted(set(fuzz_before + fuzz_after)))})")
    errors_note = (
        "Socket errors are wrk's connect/read/write/timeout counts; a read error is what wrk "
        "records when the server closes a keep-alive connection (rampart closes each "
        "connection after 1000 requests, its default `max_requests_per_connection`), after "
        "which wrk reconnects.")

    report = f"""# End-to-end comparison — latest run

{start:%Y-%m-%d %H:%M} UTC, {platform.node()}: {os.cpu_count()} CPUs ({cpu_model}), Linux {platform.release()};
load average before the run {load_before}; {quiet}.

Command: `bash benches/e2e/run.sh` with DURATION={DURATION} WARMUP={WARMUP} CONNECTIONS="{' '.join(map(str, CONNECTION_COUNTS))}"
THREADS={THREADS} ROUNDS={ROUNDS} N={N} STDIO_ROUNDS={STDIO_ROUNDS} MODERN={int(MODERN)} LIMITED={int(LIMITED)} TRACED={int(TRACED)} SKIP_STDIO={int(SKIP_STDIO)} IDLE_ROUNDS={IDLE_ROUNDS}. Every server runs pinned to
CPU {SERVER_CPU} (`taskset -c {SERVER_CPU}`), the load generator to CPU {LOAD_CPU}. Server stderr goes
to /dev/null.

{VERSIONS}

## HTTP: `POST /mcp` tools/call `echo`, stateless, JSON response (`MCP-Protocol-Version: 2025-11-25`)

wrk -t{THREADS} -c{CONNECTIONS}, each server warmed up for {WARMUP}, then {ROUNDS} rounds of {DURATION}
with the servers interleaved; req/s, p50 and p99 are medians over the rounds. Every response
is checked by `echo.lua` (status 200 and the echoed text in the body). Peak RSS is VmHWM at
the end of all rounds. Server and wrk CPU are the share of one core each used while measured
(a ceiling server below ~100 % means the load generator, not the server, was the limit).

- rampart: `rampart-demo --transport http --runtime tokio|smol`, `STATELESS=true RATE_LIMIT=0`
- rmcp: `benches/peers/rmcp-echo`, `StreamableHttpService` with `legacy_session_mode=false`,
  `json_response=true`, on axum, TCP_NODELAY on
- hyper (ceiling): `benches/peers/hyper-echo`, reads the request and answers a fixed body

{http_table}

{ratio_table}

{errors_note}
"""
    for connections, _, table, ratios in more_tables:
        report += f"""
## HTTP at {connections} connections: the same servers and rounds with wrk -c{connections}

wrk -t{THREADS} -c{connections}, fresh server processes, each warmed up for {WARMUP}, then
{ROUNDS} rounds of {DURATION} interleaved; as the table above otherwise.

{table}

{ratios}
"""
    if idle:
        report += f"""
## Idle memory: each server alone, fresh and after one request

Each server is started alone with its defaults (rampart: `rampart-demo --transport http
--runtime tokio|smol` and no other setting; rmcp: `rmcp-echo --transport http`; bare axum:
`benches/peers/axum-echo`, a `Router` with one `POST /mcp` route answering a fixed body;
hyper: the ceiling server above), pinned to CPU {SERVER_CPU} (so each tokio runtime starts one
worker thread). "Fresh": `/proc/PID/status`
half a second after the port accepts a connection. "After a request": half a second after
one client's `initialize` (with `notifications/initialized` where a session is made) and one
`echo` tools/call, whose answer is checked. Medians of {IDLE_ROUNDS} rounds with the servers in
turn. RSS is VmRSS; anon / file are RssAnon / RssFile (file: the pages of the binary and
its shared libraries that are mapped, which the kernel maps 64 KB or more at a time around
each page touched).

{idle_table}
"""
    if modern:
        report += f"""
## HTTP, MCP 2026-07-28: the same `echo` tools/call as a stateless 2026-07-28 request

One `POST /mcp`, no session, with `MCP-Protocol-Version: 2026-07-28`, `Mcp-Method: tools/call`,
`Mcp-Name: echo` and `_meta` carrying `io.modelcontextprotocol/protocolVersion` and
`io.modelcontextprotocol/clientCapabilities` (`echo_modern.lua`). Separate server processes
from the table above, measured in the same interleaved rounds with the same wrk settings.
Before any load each server must answer that request with status 200 and a correct result
(`resultType: "complete"`, the echoed text, no error); during the rounds every response is
checked the same way (`echo_modern.lua`), and the run stops at the first one that is not.

- rampart: the same `rampart-demo` commands and environment as above
- rmcp stateless: `rmcp-echo --transport http --modern`: the configuration above plus
  `stateless_protocol_metadata_required=true` and `supported_protocol_versions` = only
  `2026-07-28` (rmcp 3.11 speaks 2026-07-28; it serves these requests through its
  per-request path whatever `legacy_session_mode` says)

{modern_table}

{modern_ratio_table}

The answers to the check request:

{samples}
"""
    if limited:
        report += f"""
## HTTP, rate limited: the limit counted in-process or in Redis

The legacy-era echo above with `RATE_LIMIT={LIMIT}` (every request counted, none refused;
all of wrk's connections are one client, so every request takes a token from the same
bucket). "In-process": the server's own limiter. "Redis": `REDIS_URL` names a
`redis-server` started for the run, pinned to CPU {REDIS_CPU}{' with the servers, so the server and Redis share one core' if REDIS_CPU == SERVER_CPU else ' beside the load generator, as a store on a machine of its own would be: the server pays only for its own work'} (`REDIS_CPU`), and
each request's token is taken by one Lua script (GCRA on Redis `TIME`), one round trip,
before the request is read on. Same wrk settings and interleaved rounds as above.

{limited_table}

{limited_ratio_table}
"""
    if traced:
        report += f"""
## HTTP with traces exported

The legacy-era echo of the first table with `OTEL_EXPORTER_OTLP_ENDPOINT` set: a span per
request, batched by rampart-otlp's thread (`OTEL_BSP_SCHEDULE_DELAY=200`) and posted as OTLP
protobuf to a sink started for the run on CPU {LOAD_CPU} (`otlp_sink.py`, which answers 200 and
counts). The sink received {SINK_COUNTS.get('posts', 0):,} posts, {SINK_COUNTS.get('bytes', 0):,}
bytes. Same wrk settings and interleaved rounds as above; "off" is the first table's row.

{traced_table}

{traced_ratio_table}
"""
    if stdio:
        report += f"""
## stdio: {N:,} pipelined `tools/call` lines after `initialize`

`stdio_flood.py` writes the calls as fast as the pipe takes them and reads until all {N:,}
responses are in; every response's id and text are checked. {STDIO_ROUNDS} rounds after one
warm-up round; calls/s is the median. RSS is sampled when a quarter, half, three quarters and
all of the responses are in (shown for the round with the median calls/s).

{stdio_table}

{stdio_ratio}
"""
    report += f"""
## Against the bar

{chr(10).join(bars)}
"""
    if problems:
        report += "\n## Correctness problems\n\n" + "\n".join(problems) + "\n"
    with open(OUT, "w") as f:
        f.write(report)
    print(report)
    log(f"written to {OUT}")
    if problems:
        log("CORRECTNESS PROBLEMS:\n" + "\n".join(problems))
        sys.exit(1)


def idle_only():
    """`--idle`: only the idle-memory rounds, printed (the report file is left alone)."""
    rows, table = idle_rows(idle_comparison(BASE_PORT + 29))
    base = rows["bare axum"]
    print(f"Idle memory, medians of {IDLE_ROUNDS} rounds ({VERSIONS}):\n\n{table}\n")
    for name in ("rampart tokio", "rampart smol"):
        ratio = max(rows[name][when]["VmRSS"] / base[when]["VmRSS"] for when in ("fresh", "after"))
        print(f"- {name}: at most {ratio:.2f}x bare axum's RSS — {verdict(ratio <= IDLE_BAR)} "
              f"(bar ≤ {IDLE_BAR}x)")


if __name__ == "__main__":
    if sys.argv[1:] == ["--idle"]:
        IDLE_ROUNDS = IDLE_ROUNDS or 3
        idle_only()
        sys.exit(0)
    if not shutil.which("wrk"):
        raise SystemExit("wrk not found")
    main()
