#!/usr/bin/env bash
# End-to-end comparison of the `echo` tool served by rampart (tokio and smol), by the
# official Rust SDK (rmcp) and by a bare hyper server (the HTTP ceiling), over HTTP under
# wrk at each of the CONNECTIONS counts; the same call as a stateless MCP 2026-07-28 request
# (echo_modern.lua) to rampart (tokio and smol) and to rmcp's stateless mode
# (`rmcp-echo --modern`), in the same interleaved rounds; the legacy echo rate limited, the
# limit counted in-process or in Redis (a redis-server started for the run); the legacy echo
# with spans exported to an OTLP sink; by rampart and rmcp over stdio under a pipelined
# flood; and the idle memory (RSS fresh and after one request) of rampart (tokio, smol), a
# bare axum server (benches/peers/axum-echo), hyper and rmcp, each started alone. Builds
# everything in release, prints the tables and writes them to benches/e2e/results-latest.md.
# `run.sh --idle` builds the same and runs only the idle-memory rounds (about 20 s), printing
# the table without touching the report file.
# Exits non-zero if a server answers wrongly: the 2026-07-28 servers are checked with one
# request before any load and stop the run at the first bad response under load.
#
# Knobs (environment):
#   DURATION=10s      wrk duration of each measured round
#   WARMUP=3s         wrk warm-up per server before the rounds
#   CONNECTIONS="64 32" wrk connection counts: the legacy-era comparison runs at each (5 at
#                     most), the 2026-07-28, rate-limited and traced rounds at the first only
#   THREADS=1         wrk threads
#   ROUNDS=3          measured HTTP rounds (servers interleaved)
#   N=100000          stdio: pipelined tools/call lines per round
#   STDIO_ROUNDS=3    stdio rounds (after one warm-up round)
#   SERVER_CPU=0      CPU the servers are pinned to
#   LOAD_CPU=1        CPU wrk and the stdio driver are pinned to
#   REDIS_CPU=1       CPU the rate-limited rounds' redis-server is pinned to (default LOAD_CPU)
#   MODERN=1          0: leave out the 2026-07-28 HTTP rounds
#   LIMITED=1         0: leave out the rate-limited rounds (in-process limit against Redis)
#   TRACED=1          0: leave out the rounds with spans exported to an OTLP sink
#   SKIP_STDIO=0      1: leave out the stdio comparison
#   IDLE_ROUNDS=3     idle-memory rounds (0 leaves them out)
#   BASE_PORT=23480   servers on the ports from it up (+28 at most), the idle-memory servers on
#                     +29, Redis on +30, the OTLP sink on +31
#   ECHO_TEXT=...     the text echoed
#   OUT=...           report path (default benches/e2e/results-latest.md)
#
# With the defaults the run takes about 12 minutes (the build aside): 13 servers x (3 s +
# 3 x 10 s) at the first count, 4 x (3 s + 3 x 10 s) at each further one, the stdio rounds, and
# a few seconds of idle rounds.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

source "$root/benches/need.sh"
need wrk
[ "${LIMITED:-1}" = 0 ] || need redis-server
for tool in taskset python3 cargo; do
  command -v "$tool" >/dev/null 2>&1 || { echo "missing: $tool" >&2; exit 1; }
done

echo "building rampart-demo and the peers (release)" >&2
cargo build --release --quiet -p rampart-demo
# The peers are packages of their own (own [workspace] and lock file), outside the root
# workspace; their build output goes under the root target dir, which git ignores.
export CARGO_TARGET_DIR="$root/target/peers"
cargo build --release --quiet --manifest-path benches/peers/rmcp-echo/Cargo.toml
cargo build --release --quiet --manifest-path benches/peers/hyper-echo/Cargo.toml
cargo build --release --quiet --manifest-path benches/peers/axum-echo/Cargo.toml
unset CARGO_TARGET_DIR

locked() { # locked LOCKFILE CRATE -> version
  awk -v name="$2" '$0 == "name = \"" name "\"" { getline; gsub(/version = |"/, ""); print; exit }' "$1"
}
rmcp_lock=benches/peers/rmcp-echo/Cargo.lock
hyper_lock=benches/peers/hyper-echo/Cargo.lock
axum_lock=benches/peers/axum-echo/Cargo.lock
VERSIONS="Versions: rampart $(locked Cargo.lock rampart-core) (tokio $(locked Cargo.lock tokio), smol $(locked Cargo.lock smol));"
VERSIONS+=" rmcp $(locked $rmcp_lock rmcp) (axum $(locked $rmcp_lock axum), hyper $(locked $rmcp_lock hyper), tokio $(locked $rmcp_lock tokio));"
VERSIONS+=" ceiling: hyper $(locked $hyper_lock hyper) (hyper-util $(locked $hyper_lock hyper-util), tokio $(locked $hyper_lock tokio));"
VERSIONS+=" bare axum: axum $(locked $axum_lock axum) (hyper $(locked $axum_lock hyper), tokio $(locked $axum_lock tokio));"
VERSIONS+=" $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}'); $(rustc --version | awk '{print $1, $2}')."
export VERSIONS

export DEMO_BIN="$root/target/release/rampart-demo"
export RMCP_BIN="$root/target/peers/release/rmcp-echo"
export HYPER_BIN="$root/target/peers/release/hyper-echo"
export AXUM_BIN="$root/target/peers/release/axum-echo"
exec python3 "$here/compare.py" "$@"
