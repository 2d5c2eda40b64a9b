#!/usr/bin/env bash
# Undefined-behaviour and memory checks beyond the normal test run:
#   1. Miri over the unit tests of the C ABI glue (no network): cargo +nightly miri test --lib ffi::
#   2. The real C program under AddressSanitizer + UndefinedBehaviorSanitizer, and under
#      valgrind with leak checking (tests/ffi_c.rs).
#   3. With --asan: the Rust-side C ABI tests and the soak with the library itself built
#      under AddressSanitizer (nightly, -Zbuild-std; a long build).
#
#   scripts/sanitizers.sh [--asan]
#
# Steps that need a nightly toolchain or Miri fail in CI (CI set and not empty) when those
# cannot be had, and otherwise print a SKIP line. Results are recorded in
# docs/reliability.md.
set -euo pipefail
cd "$(dirname "$0")/.."

skip_or_fail() {
  if [ -n "${CI:-}" ]; then
    echo "FAIL: $1" >&2
    exit 1
  fi
  echo "SKIP: $1"
}

have_nightly() {
  cargo +nightly --version >/dev/null 2>&1 ||
    rustup toolchain install nightly --profile minimal >/dev/null 2>&1
}

echo "== 1. miri: unit tests of src/ffi"
if have_nightly &&
  { cargo +nightly miri --version >/dev/null 2>&1 ||
    rustup +nightly component add miri rust-src >/dev/null 2>&1; }; then
  # Isolation stays on: these tests touch neither the network nor the file system.
  cargo +nightly miri test --lib ffi::
else
  skip_or_fail "miri needs a nightly toolchain with the miri component"
fi

echo "== 2. C program under ASan/UBSan and valgrind"
cargo test --test ffi_c -- clean_under_address_and_undefined_sanitizers \
  no_leaks_or_memory_errors_under_valgrind

if [ "${1:-}" = "--asan" ]; then
  echo "== 3. Rust C ABI tests and soak with the library under AddressSanitizer"
  if have_nightly; then
    RUSTFLAGS="-Zsanitizer=address" RUSTDOCFLAGS="-Zsanitizer=address" \
      cargo +nightly test -Zbuild-std --target x86_64-unknown-linux-gnu \
      --test hardening_ffi --test soak
  else
    skip_or_fail "AddressSanitizer builds need a nightly toolchain"
  fi
fi
echo "sanitizers: done"
