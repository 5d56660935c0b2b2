#!/usr/bin/env python3
"""A bounded soak of the demo server under mixed load, with its memory sampled.

wrk drives the rotation in mixed.lua in windows of WINDOW seconds until SOAK_SECONDS have
passed; beside it, one thread opens legacy sessions and ends them (initialize, three calls,
DELETE) and another scrapes /metrics every 5 s, as Prometheus would. The server's RSS is
read from /proc every 5 s. The report gives, per window, the rate, p50, p99 and errors, then
the RSS at the start and end, its peak, and its slope (least squares over the samples after
the first window, in MiB per hour), and writes it to OUT.
"""

import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEMO = os.environ["DEMO_BIN"]
RUNTIME = os.environ.get("RUNTIME", "tokio")
SOAK_SECONDS = int(os.environ.get("SOAK_SECONDS", "600"))
WINDOW = int(os.environ.get("WINDOW", "30"))
CONNECTIONS = os.environ.get("CONNECTIONS", "32")
PORT = int(os.environ.get("PORT", "23470"))
SERVER_CPU = os.environ.get("SERVER_CPU", "0")
LOAD_CPU = os.environ.get("LOAD_CPU", "1")
OUT = os.environ.get("OUT", os.path.join(ROOT, "benches", "soak", "results-latest.md"))
EXTRA_ENV = os.environ.get("SERVER_ENV", "")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def request(conn, method, path, body=None, headers=None):
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    return response.status, dict(response.getheaders()), response.read()


class Side:
    """The session churn and the scrapes, counted."""

    def __init__(self):
        self.stop = threading.Event()
        self.sessions = 0
        self.session_errors = 0
        self.scrapes = 0
        self.scrape_errors = 0
        self.last_metrics = ""

    def churn(self):
        headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        init = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "soak", "version": "1"}}})
        while not self.stop.is_set():
            try:
                conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
                status, got, _ = request(conn, "POST", "/mcp", init, headers)
                session = got.get("Mcp-Session-Id") or got.get("mcp-session-id")
                if status != 200 or not session:
                    raise RuntimeError(f"initialize: {status}")
                bound = dict(headers, **{"Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-11-25"})
                note = json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"})
                request(conn, "POST", "/mcp", note, bound)
                for i in range(3):
                    call = json.dumps({"jsonrpc": "2.0", "id": i + 2, "method": "tools/call",
                                       "params": {"name": "echo", "arguments": {"text": "session"}}})
                    status, _, body = request(conn, "POST", "/mcp", call, bound)
                    if status != 200 or b"session" not in body:
                        raise RuntimeError(f"call: {status}")
                status, _, _ = request(conn, "DELETE", "/mcp", None, bound)
                if status not in (200, 204):
                    raise RuntimeError(f"delete: {status}")
                conn.close()
                self.sessions += 1
            except Exception:
                self.session_errors += 1
                time.sleep(0.1)
            self.stop.wait(0.05)

    def scrape(self):
        while not self.stop.is_set():
            try:
                conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
                status, _, body = request(conn, "GET", "/metrics")
                conn.close()
                if status != 200:
                    raise RuntimeError(str(status))
                self.last_metrics = body.decode()
                self.scrapes += 1
            except Exception:
                self.scrape_errors += 1
            self.stop.wait(5)


def wait_healthy(proc):
    deadline = time.time() + 30
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"the server exited: {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=1)
            if request(conn, "GET", "/health")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit("the server never answered /health")


def run_window(seconds):
    command = ["taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s",
               "-s", os.path.join(ROOT, "benches", "soak", "mixed.lua"), f"http://127.0.0.1:{PORT}"]
    output = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60).stdout
    match = re.search(r"^RESULT (.*)$", output, re.M)
    if not match:
        sys.exit(f"wrk gave no RESULT:\n{output}")
    fields = dict(pair.split("=") for pair in match.group(1).split())
    return {key: int(value) for key, value in fields.items()}


def bad(window):
    """Answers that were wrong or never came. A close at the request cap is not one: up to
    one read error per 1 000 requests (and per connection) is the server's cap at work."""
    capped = window["requests"] // 1000 + int(CONNECTIONS)
    excess = max(0, window["read_errors"] - capped)
    return (window["mismatches"] + window["connect_errors"] + window["write_errors"] + window["timeouts"]
            + excess)


def slope_mib_per_hour(samples):
    if len(samples) < 2:
        return 0.0
    xs = [t for t, _ in samples]
    ys = [kib / 1024 for _, kib in samples]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return 0.0 if den == 0 else sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den * 3600


def main():
    env = dict(os.environ, HOST="127.0.0.1", PORT=str(PORT), RATE_LIMIT="0")
    for pair in EXTRA_ENV.split():
        key, _, value = pair.partition("=")
        env[key] = value
    proc = subprocess.Popen(["taskset", "-c", SERVER_CPU, DEMO, "--runtime", RUNTIME], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_healthy(proc)
        start = time.time()
        samples = [(0.0, rss_kib(proc.pid))]
        side = Side()
        threads = [threading.Thread(target=side.churn, daemon=True),
                   threading.Thread(target=side.scrape, daemon=True)]
        for thread in threads:
            thread.start()

        def sample():
            while not side.stop.is_set():
                side.stop.wait(5)
                samples.append((time.time() - start, rss_kib(proc.pid)))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        windows = []
        # A last stub of a window (under 5 s) would say little: the run ends instead.
        while SOAK_SECONDS - (time.time() - start) >= min(5, SOAK_SECONDS):
            seconds = min(WINDOW, max(1, int(SOAK_SECONDS - (time.time() - start))))
            result = run_window(seconds)
            result["end_s"] = round(time.time() - start)
            windows.append(result)
            print(f"{result['end_s']:>5}s  {result['requests'] * 1e6 / result['duration_us']:>9.0f} req/s"
                  f"  p99 {result['p99_us'] / 1000:.2f} ms  mismatches {result['mismatches']}"
                  f"  rss {samples[-1][1] / 1024:.1f} MiB", file=sys.stderr, flush=True)
        side.stop.set()
        for thread in threads + [sampler]:
            thread.join(timeout=15)
        samples.append((time.time() - start, rss_kib(proc.pid)))
        alive = proc.poll() is None
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
    report(windows, samples, side, alive, proc.returncode)


def report(windows, samples, side, alive, code):
    settled = [(t, kib) for t, kib in samples if t >= WINDOW] or samples
    errors = sum(bad(w) for w in windows)
    lines = [
        f"# Soak: {SOAK_SECONDS} s of mixed load on {RUNTIME}",
        "",
        f"`benches/soak/run.sh` (RUNTIME={RUNTIME}, SOAK_SECONDS={SOAK_SECONDS}, WINDOW={WINDOW},"
        f" CONNECTIONS={CONNECTIONS}{', SERVER_ENV=' + EXTRA_ENV if EXTRA_ENV else ''}); server on CPU"
        f" {SERVER_CPU}, wrk on CPU {LOAD_CPU}. The rotation (benches/soak/mixed.lua): 12 legacy echo"
        " calls, 4 stateless 2026-07-28 echo calls, 2 tools/list, 1 unknown tool, 1 GET /health;"
        " beside it, sessions opened and deleted one after another, and /metrics scraped every 5 s.",
        "",
        "| window end | req/s | p50 ms | p99 ms | max ms | errors | closes |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for w in windows:
        lines.append(f"| {w['end_s']} s | {w['requests'] * 1e6 / w['duration_us']:.0f} | {w['p50_us'] / 1000:.2f}"
                     f" | {w['p99_us'] / 1000:.2f} | {w['max_us'] / 1000:.1f} | {bad(w)} | {w['read_errors']} |")
    p99s = [w["p99_us"] / 1000 for w in windows]
    lines += [
        "",
        f"- Requests: {sum(w['requests'] for w in windows)}, errors {errors} (wrong answers, connect and"
        " write errors, timeouts). `closes` are the connections the server closed after their"
        " 1 000th request (`max_requests_per_connection`), which wrk counts as read errors.",
        f"- p99 per window: first {p99s[0]:.2f} ms, last {p99s[-1]:.2f} ms, worst {max(p99s):.2f} ms.",
        f"- Sessions opened and deleted beside the load: {side.sessions}, failed {side.session_errors};"
        f" /metrics scrapes {side.scrapes}, failed {side.scrape_errors}.",
        f"- RSS: {samples[0][1] / 1024:.1f} MiB idle, {settled[0][1] / 1024:.1f} MiB after the first window,"
        f" {samples[-1][1] / 1024:.1f} MiB at the end, peak {max(k for _, k in samples) / 1024:.1f} MiB;"
        f" slope after the first window {slope_mib_per_hour(settled):+.2f} MiB/hour"
        f" ({len(settled)} samples, 5 s apart).",
        f"- The server was {'alive' if alive else 'DEAD'} at the end and exited with {code} on SIGTERM.",
    ]
    sessions = re.search(r"^rampart_sessions (\S+)$", side.last_metrics, re.M)
    if sessions:
        lines.append(f"- `rampart_sessions` at the last scrape: {sessions.group(1)}.")
    text = "\n".join(lines) + "\n"
    with open(OUT, "w") as out:
        out.write(text)
    print(text)
    if errors or side.session_errors or not alive:
        sys.exit(1)


if __name__ == "__main__":
    main()
