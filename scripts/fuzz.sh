#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for a bounded time each.
#
#   scripts/fuzz.sh [seconds-per-target]     (default 20)
#
# Each target starts from its committed seeds (fuzz/seeds/<target>) plus the inputs kept
# from earlier runs (fuzz/corpus/<target>, not committed). A crash stops the script with
# exit code 1 and names the input saved under fuzz/artifacts/<target>/; turn it into a test
# in tests/hardening_regressions.rs.
#
# cargo-fuzz needs a nightly toolchain. When none can be had, the script fails in CI (CI is
# set and not empty) and otherwise prints a SKIP line and exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-20}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
  echo "usage: scripts/fuzz.sh [seconds-per-target]" >&2
  exit 2
fi
targets=(current_data_access app_connection request merge)

skip_or_fail() {
  if [ -n "${CI:-}" ]; then
    echo "FAIL: $1" >&2
    exit 1
  fi
  echo "SKIP: fuzzing not run: $1"
  exit 0
}

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "no nightly toolchain; trying: rustup toolchain install nightly --profile minimal"
  rustup toolchain install nightly --profile minimal >/dev/null 2>&1 ||
    skip_or_fail "no nightly toolchain, and rustup could not install one"
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz missing; installing it from crates.io"
  cargo install cargo-fuzz --locked >/dev/null 2>&1 ||
    skip_or_fail "cargo-fuzz is missing and could not be installed (cargo install cargo-fuzz)"
fi

echo "building the fuzz targets ($(cargo +nightly --version))"
(cd fuzz && cargo +nightly fuzz build)

status=0
for target in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$target"
  log="fuzz/corpus/$target.log"
  echo "== $target: ${seconds}s"
  if (cd fuzz && cargo +nightly fuzz run "$target" "corpus/$target" "seeds/$target" -- \
      -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10) >"$log" 2>&1; then
    grep -E '^Done [0-9]+ runs' "$log" || tail -n 3 "$log"
  else
    status=1
    echo "CRASH in $target; last lines of $log:"
    tail -n 30 "$log"
    ls "fuzz/artifacts/$target" 2>/dev/null | sed "s|^|  fuzz/artifacts/$target/|"
  fi
done

if [ "$status" -eq 0 ]; then
  echo "fuzz: ${#targets[@]} targets, ${seconds}s each, no crash"
fi
exit "$status"
