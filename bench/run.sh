#!/usr/bin/env bash
# Runs the whole benchmark suite and prints one table of ratios (each against a baseline
# measured in the same run) followed by the absolute figures.
#
#   bash bench/run.sh
#
# Steps: release build of the library and of the emulator, size of the stripped cdylib,
# the C program and (when `mcs` and `mono` exist) the C# program against one emulator
# process, the criterion bench, then the suite bench, which prints the table. All traffic
# goes to emulators on 127.0.0.1; every loop is bounded in count and time.
#
# Environment: CALLS (default 10000) calls per variant in the C and C# programs;
# SKIP_CRITERION=1 leaves out the criterion bench.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
calls=${CALLS:-10000}

# Loopback only: no proxy from the environment may see this traffic.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY

out=$root/target/bench
mkdir -p "$out"
results=$out/results.tsv
: >"$results"

step() { printf '\n== %s\n' "$*" >&2; }

step "packages"
# On a fresh Debian machine (as root) the C and C# programs need a compiler and Mono with
# the HttpClient and JSON assemblies; elsewhere the C# rows are skipped with a message.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && ! command -v mcs >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gcc \
    mono-mcs mono-runtime libmono-system-net-http4.0-cil \
    libmono-system-runtime-serialization4.0-cil >/dev/null
fi

step "machine"
{
  echo "cores: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "rustc: $(rustc --version)"
} | tee "$out/machine.txt" >&2

step "release build"
cargo build --release --lib
cargo build --release -p himsa-sandbox --bin himsa-sandbox
lib=$root/target/release/libhimsa_conn.so

step "size"
mkdir -p "$out/size"
cp "$lib" "$out/size/libhimsa_conn.so"
strip --strip-all "$out/size/libhimsa_conn.so"
printf 'size.cdylib_bytes\t%s\n' "$(stat -c %s "$lib")" >>"$results"
printf 'size.cdylib_stripped_bytes\t%s\n' "$(stat -c %s "$out/size/libhimsa_conn.so")" >>"$results"

step "C and C# programs"
cc -O2 -std=c11 -Wall -Wextra -I"$root/include" "$root/bench/c/bench.c" \
  -L"$root/target/release" -lhimsa_conn -Wl,-rpath,"$root/target/release" -o "$out/c-bench"

csharp=
# Mono looks for a DllImport library next to the program before LD_LIBRARY_PATH, so the
# library just built is put there; a stale copy in that place was once loaded instead.
cp "$lib" "$out/libhimsa_conn.so"
if command -v mcs >/dev/null && command -v mono >/dev/null; then
  refs=(-r:System.Net.Http.dll -r:System.Runtime.Serialization.dll)
  wrapper=$root/bindings/csharp/HimsaConn
  if compgen -G "$wrapper/*.cs" >/dev/null &&
    mcs -nologo -optimize+ -target:library -out:"$out/HimsaConn.dll" "$wrapper"/*.cs >&2 &&
    mcs -nologo -optimize+ -define:WRAPPER -out:"$out/Bench.exe" -r:"$out/HimsaConn.dll" \
      "${refs[@]}" "$root/bench/csharp/Bench.cs" >&2; then
    csharp=wrapper
  elif mcs -nologo -optimize+ -out:"$out/Bench.exe" "${refs[@]}" \
    "$root/bench/csharp/Bench.cs" >&2; then
    echo "the C# wrapper did not build; the C# program uses P/Invoke directly" >&2
    csharp=pinvoke
  else
    echo "the C# program did not build (Debian: libmono-system-net-http4.0-cil and" \
      "libmono-system-runtime-serialization4.0-cil); its rows are left out" >&2
  fi
else
  echo "mcs or mono not found; the C# rows are left out" >&2
fi

# On a virtual machine a thread woken on another, idle CPU starts tens of microseconds
# late, and a call wakes two threads (the emulator's, then the caller's). Which CPU each
# lands on is the scheduler's choice and changes over a run, which made medians jump
# between about 30 and 120 us. The emulator and the programs therefore share CPU 0; one
# extra run of the C program on CPU 1 shows the cost of the split (`c_split.*`).
pin=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  pin=(taskset -c 0)
  printf 'pinning\temulator and programs on CPU 0 (taskset)\n' >>"$results"
else
  printf 'pinning\tnone (taskset missing or one CPU)\n' >>"$results"
fi
coproc SANDBOX { exec "${pin[@]}" "$root/target/release/himsa-sandbox" --exit-on-stdin-close; }
sandbox_pid=$SANDBOX_PID
stop_sandbox() {
  if [ -n "${sandbox_pid:-}" ]; then
    kill "$sandbox_pid" 2>/dev/null || true
    wait "$sandbox_pid" 2>/dev/null || true
    sandbox_pid=
  fi
}
trap stop_sandbox EXIT
read -r base_url <&"${SANDBOX[0]}"
case "$base_url" in
  http://127.*) echo "emulator at $base_url" >&2 ;;
  *) echo "unexpected emulator address: $base_url" >&2; exit 1 ;;
esac

# The two programs take turns, three times each, so that a change in the machine's load
# touches both alike; each figure is the median of the three runs.
runs=$out/runs.tsv
: >"$runs"
for turn in 1 2 3; do
  echo "turn $turn: C" >&2
  timeout 300 "${pin[@]}" "$out/c-bench" "$base_url" "$((calls / 3))" >>"$runs"
  if [ -n "$csharp" ]; then
    echo "turn $turn: C# ($csharp)" >&2
    LD_LIBRARY_PATH="$root/target/release${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
      timeout 300 "${pin[@]}" mono "$out/Bench.exe" "$base_url" "$((calls / 3))" >>"$runs"
  fi
done
if [ ${#pin[@]} -gt 0 ]; then
  echo "C, emulator on CPU 0 and program on CPU 1" >&2
  timeout 300 taskset -c 1 "$out/c-bench" "$base_url" "$((calls / 3))" |
    sed -n 's/^c\.\(struct\|json\)\./c_split.\1./p' >>"$runs"
fi
stop_sandbox
awk -F'\t' '
  $2 ~ /^-?[0-9.]+$/ { n[$1]++; v[$1, n[$1]] = $2; next }
  { text[$1] = $2 }
  END {
    for (k in n) {
      m = n[k]
      for (i = 1; i <= m; i++) s[i] = v[k, i]
      for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (s[j] < s[i]) { t = s[i]; s[i] = s[j]; s[j] = t }
      printf "%s\t%s\n", k, s[int((m + 1) / 2)]
    }
    for (k in text) printf "%s\t%s\n", k, text[k]
  }' "$runs" | sort | tee -a "$results" >&2

if [ "${SKIP_CRITERION:-}" != 1 ]; then
  step "criterion: per-call cost"
  cargo bench --bench call
fi

step "suite"
HIMSA_BENCH_RESULTS=$results HIMSA_BENCH_TABLE=$out/table.md HIMSA_BENCH_RAW=$out/raw.tsv \
  cargo bench --bench suite
echo "table: $out/table.md; every figure: $out/raw.tsv and $results" >&2
