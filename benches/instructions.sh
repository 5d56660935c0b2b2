#!/usr/bin/env bash
# Instructions per HTTP echo round trip through the core, counted by callgrind: a figure that
# does not drift with machine noise, for comparing commits. Builds the profile example in
# release, runs it for 1 and for 1 + ROUNDS round trips, and prints the difference divided by
# ROUNDS, for the plain echo, the typed echo, the echo with span records on, the echo as a
# stateless 2026-07-28 request, and the echo under the per-client rate limit (in-process).
#
# Knobs (environment): ROUNDS=1000.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"
source "$here/need.sh"
need valgrind

rounds="${ROUNDS:-1000}"
cargo build --release --quiet -p rampart-benches --example http_profile
profile="$root/target/release/examples/http_profile"

# collected N ARGS... -> the instructions callgrind counts for N round trips
collected() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$profile" "$@" 2>&1 |
    awk '/Collected :/ { print $NF }'
}

printf '%-28s %s\n' "round trip" "instructions"
for variant in "echo" "echo_typed" "echo traced" "echo modern" "echo limited"; do
  set -- $variant
  tool="$1"
  shift
  one=$(collected 1 "$tool" "$@")
  many=$(collected $((rounds + 1)) "$tool" "$@")
  printf '%-28s %d\n' "$variant" $(((many - one) / rounds))
done
