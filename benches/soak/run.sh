#!/usr/bin/env bash
# A bounded soak of the demo server under mixed load (benches/soak/soak.py says what runs):
# builds the demo in release, runs SOAK_SECONDS (default 600) of wrk windows with session
# churn and /metrics scrapes beside them, samples the server's RSS, prints the table and
# writes it to benches/soak/results-latest.md. Exits non-zero on any error or a dead server.
#
# Knobs (environment): SOAK_SECONDS=600, WINDOW=30, CONNECTIONS=32, RUNTIME=tokio|smol,
# PORT=23470, SERVER_CPU=0, LOAD_CPU=1, SERVER_ENV="KEY=value ..." (more server settings,
# e.g. OTEL_EXPORTER_OTLP_ENDPOINT=...), OUT=path.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

source "$root/benches/need.sh"
need wrk
for tool in taskset python3 cargo; do
  command -v "$tool" >/dev/null 2>&1 || { echo "missing: $tool" >&2; exit 1; }
done

echo "building rampart-demo (release)" >&2
cargo build --release --quiet -p rampart-demo
export DEMO_BIN="$root/target/release/rampart-demo"
exec python3 "$here/soak.py"
