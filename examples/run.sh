#!/usr/bin/env bash
# Runs a quickstart example against a local himsa-sandbox that grants part of what is asked.
# Usage: examples/run.sh c|cpp|csharp
set -euo pipefail

lang=${1:-}
case "$lang" in
  c | cpp | csharp) ;;
  *) echo "usage: $0 c|cpp|csharp" >&2; exit 2 ;;
esac

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --quiet --lib -p himsa-conn
cargo build --quiet -p himsa-sandbox --bin himsa-sandbox
lib=${CARGO_TARGET_DIR:-$root/target}/debug
out=$(mktemp -d)

# The sandbox stops when its standard input closes, at the latest when this script ends.
coproc SANDBOX {
  exec "$lib/himsa-sandbox" --auto-approve-after 500 --auto-grant Limited,FirstName \
    --exit-on-stdin-close
}
trap 'kill "$SANDBOX_PID" 2>/dev/null || true; rm -rf "$out"' EXIT
read -r base <&"${SANDBOX[0]}"
read -r _ tenant _ <&"${SANDBOX[0]}"
echo "sandbox at $base, tenant $tenant"

case "$lang" in
  c)
    cc -std=c11 -Wall -Wextra -I include examples/c/quickstart.c -o "$out/quickstart" \
      -L "$lib" -lhimsa_conn -Wl,-rpath,"$lib"
    "$out/quickstart" "$base" "$tenant" sandbox-token
    ;;
  cpp)
    c++ -std=c++17 -Wall -Wextra -I include -I bindings/cpp/include \
      examples/cpp/quickstart.cpp -o "$out/quickstart" -L "$lib" -lhimsa_conn \
      -Wl,-rpath,"$lib"
    "$out/quickstart" "$base" "$tenant" sandbox-token
    ;;
  csharp)
    mcs -nologo -target:library -out:"$out/HimsaConn.dll" bindings/csharp/HimsaConn/*.cs
    mcs -nologo -out:"$out/Quickstart.exe" -r:"$out/HimsaConn.dll" examples/csharp/Quickstart.cs
    cp "$lib/libhimsa_conn.so" "$out/"
    LD_LIBRARY_PATH="$out" mono "$out/Quickstart.exe" "$base" "$tenant" sandbox-token
    ;;
esac
