//! The benchmark suite: every figure of `docs/performance.md` as a ratio against a baseline
//! measured in the same run, then the absolute figures.
//!
//! Run through `bench/run.sh`, which also runs the C and C# programs and passes their
//! figures in a file named by `HIMSA_BENCH_RESULTS` (`key<TAB>value` lines); the suite adds
//! them to its table. On its own: `cargo bench --bench suite`.
//!
//! Every request goes to the in-process emulator on the loopback interface, and every loop
//! is bounded both in count and in time.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::env;
use std::fmt::Write as _;
use std::hint::black_box;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use himsa_conn::{Client, Config, ProxySetting};
use himsa_sandbox::{Sandbox, SandboxConfig, DEFAULT_TENANT, SANDBOX_TOKEN};

use common::{Floor, Handle, ROUTE};

// ---------------------------------------------------------------------------------------
// Allocation counting: only the thread that switched counting on is counted, so the
// emulator's own threads never show up in the figures.

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static ALLOCATED_BYTES: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static COUNT_HERE: Cell<bool> = const { Cell::new(false) };
}

fn note(size: usize) {
    if COUNT_HERE.try_with(Cell::get).unwrap_or(false) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        ALLOCATED_BYTES.fetch_add(size as u64, Ordering::Relaxed);
    }
}

// SAFETY: every method forwards to the system allocator unchanged; counting has no effect
// on the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        System.alloc_zeroed(layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        System.realloc(ptr, layout, new_size)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Allocations and bytes per call of `calls` runs of `work` on this thread.
fn allocations_per_call(calls: u32, mut work: impl FnMut()) -> (f64, f64) {
    let (a0, b0) = (
        ALLOCATIONS.load(Ordering::Relaxed),
        ALLOCATED_BYTES.load(Ordering::Relaxed),
    );
    COUNT_HERE.with(|c| c.set(true));
    for _ in 0..calls {
        work();
    }
    COUNT_HERE.with(|c| c.set(false));
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - a0;
    let bytes = ALLOCATED_BYTES.load(Ordering::Relaxed) - b0;
    (
        allocations as f64 / f64::from(calls),
        bytes as f64 / f64::from(calls),
    )
}

// ---------------------------------------------------------------------------------------
// Sizes of the runs. Each loop also stops at its time bound.

/// Interleaved rounds of the per-call comparison, and calls per round and variant.
const ROUNDS: usize = 20;
const PER_ROUND: usize = 250;
/// Sequential calls on one handle whose TCP connections are counted.
const REUSE_CALLS: usize = 1_000;
/// Thread counts of the scaling runs, and the length of each run.
const THREADS: [usize; 4] = [1, 2, 4, 8];
const WINDOW: Duration = Duration::from_millis(250);
const WINDOWS: usize = 3;
/// Handles created for the start-up figures.
const CREATIONS: usize = 200;
const CREATIONS_WITH_CA: usize = 10;
/// Calls whose allocations are counted, and calls of the peak-memory children.
const COUNTED_CALLS: u32 = 500;
const RSS_CALLS: usize = 10_000;
/// No single phase may run longer than this.
const PHASE_LIMIT: Duration = Duration::from_secs(30);

/// A certificate made for this benchmark only, to time handle creation with an extra CA.
const EXTRA_CA: &str = "-----BEGIN CERTIFICATE-----
MIIBkDCCATegAwIBAgIUD+DOfc/9/rFqluD25714uoiCVDMwCgYIKoZIzj0EAwIw
HjEcMBoGA1UEAwwTaGltc2EtY29ubiBiZW5jaCBDQTAeFw0yNjEyMDQxNTMyMjla
Fw0zNjEyMDExNTMyMjlaMB4xHDAaBgNVBAMME2hpbXNhLWNvbm4gYmVuY2ggQ0Ew
WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQmW68qcz52VR8H24yo9E/UehdkpQaZ
djUabd7Mx6L2SCb1DPFF2PUx1jHOCXr7oXF4jZBEuqbZ9WSPz+kpCzgao1MwUTAd
BgNVHQ4EFgQUkK+yc3J/PUxr3VkPigHZi/3jSUIwHwYDVR0jBBgwFoAUkK+yc3J/
PUxr3VkPigHZi/3jSUIwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNHADBE
AiAXilILgm7LWGmecYFxvvDzWLiccHo5Gr6hZRkOJZhLAwIgR6fxyhK5YV3isBX2
gmoEYkuaP4T4dpzsdRAg1+mmtHs=
-----END CERTIFICATE-----
";

// ---------------------------------------------------------------------------------------
// Statistics.

fn nanos(d: Duration) -> f64 {
    d.as_nanos() as f64
}

/// Median and 99th percentile of a set of durations, in nanoseconds.
fn median_p99(samples: &mut [Duration]) -> (f64, f64) {
    assert!(!samples.is_empty(), "no samples");
    samples.sort_unstable();
    let at = |q: f64| {
        let index = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len()) - 1;
        nanos(samples[index])
    };
    (at(0.5), at(0.99))
}

fn time(work: impl FnOnce()) -> Duration {
    let start = Instant::now();
    work();
    start.elapsed()
}

// ---------------------------------------------------------------------------------------
// The figures.

#[derive(Default)]
struct Figures {
    values: BTreeMap<String, f64>,
    texts: BTreeMap<String, String>,
}

impl Figures {
    fn set(&mut self, key: &str, value: f64) {
        self.values.insert(key.to_owned(), value);
    }

    fn get(&self, key: &str) -> Option<f64> {
        self.values.get(key).copied()
    }

    /// Adds the `key<TAB>value` lines of the C and C# programs and the size step.
    fn load(&mut self, path: &str) {
        let Ok(text) = std::fs::read_to_string(path) else {
            eprintln!("suite: no results file at {path}; C, C# and size rows are left out");
            return;
        };
        for line in text.lines() {
            let Some((key, value)) = line.split_once('\t') else {
                continue;
            };
            match value.trim().parse::<f64>() {
                Ok(number) => self.set(key.trim(), number),
                Err(_) => {
                    self.texts
                        .insert(key.trim().to_owned(), value.trim().to_owned());
                }
            }
        }
    }
}

/// A client of the Rust API, connecting directly.
fn rust_client(base: &str) -> Client {
    let mut config = Config::new(base, DEFAULT_TENANT, SANDBOX_TOKEN);
    config.proxy = ProxySetting::Direct;
    Client::new(config).expect("the client is built")
}

fn rust_call(client: &Client) -> usize {
    client
        .current_data_access()
        .expect("the call succeeds")
        .expect("the app is connected")
        .value
        .user_account_access_levels
        .len()
}

/// 1. Per-call cost in interleaved rounds, and 5. allocations per call.
fn per_call(base: &str, figures: &mut Figures) {
    let handle = Handle::new(base);
    let floor = Floor::new(base);
    let floor_timeouts = Floor::with_timeouts(base);
    let client = rust_client(base);

    let variants: Vec<Variant<'_>> = vec![
        (
            "floor",
            Box::new(|| {
                black_box(floor.current());
            }),
        ),
        (
            "floor_timeouts",
            Box::new(|| {
                black_box(floor_timeouts.current());
            }),
        ),
        (
            "c_struct",
            Box::new(|| {
                black_box(handle.current_struct());
            }),
        ),
        (
            "c_json",
            Box::new(|| {
                black_box(handle.current_json());
            }),
        ),
        (
            "rust_api",
            Box::new(|| {
                black_box(rust_call(&client));
            }),
        ),
    ];

    // Caller and emulator on one CPU first: the figures the targets are checked on.
    let pinned = pin_threads("0", None);
    figures.set("call.pinned", if pinned { 1.0 } else { 0.0 });
    let every: Vec<&Variant<'_>> = variants.iter().collect();
    take_turns(&every, "call", figures);
    // Then the emulator's threads on the other CPU: the wake-up of an idle virtual CPU
    // lands on every call, for the floor and the library alike.
    if pinned && pin_threads("1", Some("0")) {
        let split: Vec<&Variant<'_>> = variants
            .iter()
            .filter(|(name, _)| matches!(*name, "floor" | "c_struct" | "c_json"))
            .collect();
        take_turns(&split, "split", figures);
        pin_threads("0", None);
    }

    for (name, call) in &variants {
        let (allocations, bytes) = allocations_per_call(COUNTED_CALLS, call);
        figures.set(&format!("alloc.{name}.count"), allocations);
        figures.set(&format!("alloc.{name}.bytes"), bytes);
    }
    if pinned {
        pin_threads(&all_cpus(), None);
    }
}

type Variant<'a> = (&'a str, Box<dyn Fn() + 'a>);

/// Warms every variant up, then times each call of `ROUNDS` interleaved rounds of
/// `PER_ROUND` calls per variant (the order rotates per round); sets
/// `{prefix}.{name}.median_ns`, `.p99_ns`, `.mean_ns` and `.samples`.
fn take_turns(variants: &[&Variant<'_>], prefix: &str, figures: &mut Figures) {
    for variant in variants {
        for _ in 0..200 {
            (variant.1)();
        }
    }
    let mut samples: Vec<Vec<Duration>> =
        vec![Vec::with_capacity(ROUNDS * PER_ROUND); variants.len()];
    let started = Instant::now();
    for round in 0..ROUNDS {
        if started.elapsed() > PHASE_LIMIT {
            break;
        }
        // The order rotates so that no variant always runs right after another.
        for k in 0..variants.len() {
            let v = (round + k) % variants.len();
            let call = &variants[v].1;
            for _ in 0..PER_ROUND {
                samples[v].push(time(call));
            }
        }
    }
    for (variant, mut taken) in variants.iter().zip(samples) {
        let name = variant.0;
        let mean = taken.iter().map(|d| nanos(*d)).sum::<f64>() / taken.len() as f64;
        let (median, p99) = median_p99(&mut taken);
        figures.set(&format!("{prefix}.{name}.mean_ns"), mean);
        figures.set(&format!("{prefix}.{name}.median_ns"), median);
        figures.set(&format!("{prefix}.{name}.p99_ns"), p99);
        figures.set(&format!("{prefix}.{name}.samples"), taken.len() as f64);
    }
}

/// CPUs this process may use, counted before any pinning (the count follows the
/// affinity of the calling thread, so it is taken once, first).
fn cpu_count() -> usize {
    static COUNT: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *COUNT.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Every CPU of the machine, as `taskset` writes a list.
fn all_cpus() -> String {
    format!("0-{}", cpu_count().saturating_sub(1))
}

/// Puts the threads of this process on `cpus` with `taskset`, the calling thread on
/// `caller` when given (else on `cpus` too). Threads started later inherit the CPUs of the
/// thread that starts them, so the emulator's connection threads follow its accept thread.
/// False when there are fewer than two CPUs or `taskset` failed; nothing is pinned then.
fn pin_threads(cpus: &str, caller: Option<&str>) -> bool {
    if cpu_count() < 2 {
        return false;
    }
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return false;
    };
    let me = std::fs::read_link("/proc/thread-self")
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_owned()));
    let mut all_ok = true;
    for task in tasks.flatten() {
        let tid = task.file_name();
        let list = match caller {
            Some(c) if me.as_deref() == Some(tid.as_os_str()) => c,
            _ => cpus,
        };
        let done = Command::new("taskset")
            .args(["-p", "-c", list])
            .arg(&tid)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        // A thread that ended meanwhile (ureq's resolver threads are short-lived) is no
        // failure.
        let gone = !task.path().exists();
        if !done && !gone {
            eprintln!("suite: taskset -p -c {list} {tid:?} failed");
        }
        all_ok &= done || gone;
    }
    all_ok
}

/// 2. TCP connections opened by sequential calls on one handle, and by the floor's agent.
fn reuse(sandbox: &Sandbox, figures: &mut Figures) {
    let base = sandbox.base_url();
    let handle = Handle::new(&base);
    sandbox.clear_log();
    let before = sandbox.connections_opened();
    let started = Instant::now();
    let mut calls = 0;
    while calls < REUSE_CALLS && started.elapsed() < PHASE_LIMIT {
        black_box(handle.current_struct());
        calls += 1;
    }
    let opened = sandbox.connections_opened() - before;
    let mut ids: Vec<u64> = sandbox
        .requests()
        .iter()
        .filter(|r| r.path.ends_with(ROUTE))
        .map(|r| r.connection_id)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    figures.set("reuse.calls", calls as f64);
    figures.set("reuse.lib.connections", opened as f64);
    figures.set("reuse.lib.distinct_ids", ids.len() as f64);

    let floor = Floor::new(&base);
    let before = sandbox.connections_opened();
    for _ in 0..calls {
        black_box(floor.current());
    }
    figures.set(
        "reuse.floor.connections",
        (sandbox.connections_opened() - before) as f64,
    );
    sandbox.clear_log();
}

/// Calls per second of `threads` threads, sharing one handle or with one handle each.
fn throughput(base: &str, threads: usize, shared: bool) -> f64 {
    let handles: Vec<Handle> = (0..if shared { 1 } else { threads })
        .map(|_| Handle::new(base))
        .collect();
    for handle in &handles {
        for _ in 0..threads.min(8) {
            handle.current_struct();
        }
    }
    let barrier = Barrier::new(threads + 1);
    let total = AtomicU64::new(0);
    let mut elapsed = Duration::ZERO;
    std::thread::scope(|s| {
        for t in 0..threads {
            let handle = &handles[if shared { 0 } else { t }];
            let (barrier, total) = (&barrier, &total);
            s.spawn(move || {
                // A few calls first, so that a shared handle has a connection per thread.
                for _ in 0..20 {
                    handle.current_struct();
                }
                barrier.wait();
                let end = Instant::now() + WINDOW;
                let mut calls = 0u64;
                while Instant::now() < end && calls < 1_000_000 {
                    black_box(handle.current_struct());
                    calls += 1;
                }
                total.fetch_add(calls, Ordering::Relaxed);
                barrier.wait();
            });
        }
        barrier.wait();
        let start = Instant::now();
        barrier.wait();
        elapsed = start.elapsed();
    });
    total.load(Ordering::Relaxed) as f64 / elapsed.as_secs_f64()
}

/// Scaling with threads (figure 3): shared and separate handles alternate in short
/// windows, so that a change in the machine's load touches both alike.
fn scaling(base: &str, figures: &mut Figures) {
    for threads in THREADS {
        let (mut shared, mut own) = (0.0, 0.0);
        for _ in 0..WINDOWS {
            shared += throughput(base, threads, true);
            own += throughput(base, threads, false);
        }
        let windows = WINDOWS as f64;
        figures.set(&format!("scale.{threads}.shared_per_s"), shared / windows);
        figures.set(&format!("scale.{threads}.own_per_s"), own / windows);
    }
}

/// 4. Start-up: creating handles and the first call on a fresh one.
fn startup(base: &str, figures: &mut Figures) {
    let mut creations = Vec::with_capacity(CREATIONS);
    let mut cold_calls = Vec::with_capacity(CREATIONS);
    let started = Instant::now();
    while creations.len() < CREATIONS && started.elapsed() < PHASE_LIMIT {
        let mut made = None;
        creations.push(time(|| made = Some(Handle::with(base, false, None))));
        let handle = made.expect("made");
        cold_calls.push(time(|| {
            black_box(handle.current_struct());
        }));
    }
    let (create, _) = median_p99(&mut creations);
    let (cold, _) = median_p99(&mut cold_calls);
    figures.set("start.create_default.median_ns", create);
    figures.set("start.first_call.median_ns", cold);

    let mut with_ca = Vec::with_capacity(CREATIONS_WITH_CA);
    let started = Instant::now();
    while with_ca.len() < CREATIONS_WITH_CA && started.elapsed() < PHASE_LIMIT {
        with_ca.push(time(|| drop(Handle::with(base, true, Some(EXTRA_CA)))));
    }
    let (create_ca, _) = median_p99(&mut with_ca);
    figures.set("start.create_extra_ca.median_ns", create_ca);
}

/// Peak resident memory of a child process making `RSS_CALLS` calls of `mode`.
fn child_peak_kb(base: &str, mode: &str) -> Option<f64> {
    let exe = env::current_exe().ok()?;
    let output = Command::new(exe)
        .env("HIMSA_BENCH_CHILD", mode)
        .env("HIMSA_BENCH_URL", base)
        .output()
        .ok()?;
    if !output.status.success() {
        eprintln!(
            "suite: the {mode} child failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        return None;
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("peak_rss_kb\t")?.trim().parse().ok())
}

/// The child side: one handle or agent, `RSS_CALLS` calls (1 for `idle`), peak memory.
fn child(mode: &str) {
    let base = env::var("HIMSA_BENCH_URL").expect("HIMSA_BENCH_URL is set");
    let calls = if mode == "idle" { 1 } else { RSS_CALLS };
    if env::var_os("HIMSA_BENCH_CONNECT").is_some() {
        Handle::new(&base).connect();
    }
    let started = Instant::now();
    let limit = PHASE_LIMIT * 2;
    if mode == "floor" {
        let floor = Floor::new(&base);
        for _ in 0..calls {
            black_box(floor.current());
            if started.elapsed() > limit {
                break;
            }
        }
    } else {
        let handle = Handle::new(&base);
        for _ in 0..calls {
            black_box(handle.current_struct());
            if started.elapsed() > limit {
                break;
            }
        }
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let peak = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0);
    println!("peak_rss_kb\t{peak}");
}

/// 5. Peak memory of 10,000 calls, against the floor and against a single call.
fn memory(base: &str, figures: &mut Figures) {
    for mode in ["idle", "lib", "floor"] {
        if let Some(kb) = child_peak_kb(base, mode) {
            figures.set(&format!("rss.{mode}.kb"), kb);
        }
    }
}

// ---------------------------------------------------------------------------------------
// The table.

struct Row {
    measure: String,
    library: String,
    baseline: String,
    ratio: Option<f64>,
    target: &'static str,
    met: Option<bool>,
}

fn micros(ns: f64) -> String {
    format!("{:.1} µs", ns / 1000.0)
}

fn millis(ns: f64) -> String {
    format!("{:.2} ms", ns / 1e6)
}

fn ratio_rows(f: &Figures) -> Vec<Row> {
    let mut rows = Vec::new();
    #[allow(clippy::type_complexity)]
    fn ratio_row(
        measure: &str,
        lib: Option<f64>,
        base: Option<f64>,
        show: fn(f64) -> String,
        target: &'static str,
        check: Option<fn(f64) -> bool>,
    ) -> Option<Row> {
        let (lib, base) = (lib?, base?);
        let r = lib / base;
        Some(Row {
            measure: measure.to_owned(),
            library: show(lib),
            baseline: show(base),
            ratio: Some(r),
            target,
            met: check.map(|c| c(r)),
        })
    }
    let g = |k: &str| f.get(k);
    let count = |v: f64| format!("{v:.0}");
    let per_s = |v: f64| format!("{v:.0}/s");
    let kb = |v: f64| format!("{:.1} MiB", v / 1024.0);
    let allocs = |v: f64| format!("{v:.1}");
    let bytes = |v: f64| format!("{v:.0} B");

    rows.extend(ratio_row(
        "call, median: C ABI struct / floor",
        g("call.c_struct.median_ns"),
        g("call.floor.median_ns"),
        micros,
        "<= 1.05",
        Some(|r| r <= 1.05),
    ));
    rows.extend(ratio_row(
        "call, median: C ABI JSON / floor",
        g("call.c_json.median_ns"),
        g("call.floor.median_ns"),
        micros,
        "<= 1.05",
        Some(|r| r <= 1.05),
    ));
    rows.extend(ratio_row(
        "call, median: Rust API / floor",
        g("call.rust_api.median_ns"),
        g("call.floor.median_ns"),
        micros,
        "",
        None,
    ));
    rows.extend(ratio_row(
        "call, median: floor with the library's timeouts / floor",
        g("call.floor_timeouts.median_ns"),
        g("call.floor.median_ns"),
        micros,
        "",
        None,
    ));
    rows.extend(ratio_row(
        "call, p99: C ABI struct / floor",
        g("call.c_struct.p99_ns"),
        g("call.floor.p99_ns"),
        micros,
        "",
        None,
    ));
    rows.extend(ratio_row(
        "call, p99: C ABI JSON / floor",
        g("call.c_json.p99_ns"),
        g("call.floor.p99_ns"),
        micros,
        "",
        None,
    ));
    rows.extend(ratio_row(
        "call, median, emulator on the other CPU: C ABI struct / floor",
        g("split.c_struct.median_ns"),
        g("split.floor.median_ns"),
        micros,
        "",
        None,
    ));
    rows.extend(ratio_row(
        "call, median, emulator on the other CPU: C ABI JSON / floor",
        g("split.c_json.median_ns"),
        g("split.floor.median_ns"),
        micros,
        "",
        None,
    ));
    rows.extend(ratio_row(
        "floor, median: emulator on the other CPU / on the same CPU",
        g("split.floor.median_ns"),
        g("call.floor.median_ns"),
        micros,
        "",
        None,
    ));
    if let (Some(opened), Some(calls)) = (g("reuse.lib.connections"), g("reuse.calls")) {
        rows.push(Row {
            measure: format!("TCP connections per {calls:.0} sequential calls, one handle"),
            library: count(opened),
            baseline: g("reuse.floor.connections").map_or(String::new(), count),
            ratio: None,
            target: "= 1",
            met: Some(opened == 1.0),
        });
    }
    for threads in THREADS {
        let check: Option<fn(f64) -> bool> = (threads == 8).then_some(|r| r >= 0.80);
        rows.extend(ratio_row(
            &format!("{threads} threads: one shared handle / a handle each (calls/s)"),
            g(&format!("scale.{threads}.shared_per_s")),
            g(&format!("scale.{threads}.own_per_s")),
            per_s,
            if threads == 8 { ">= 0.80" } else { "" },
            check,
        ));
    }
    rows.extend(ratio_row(
        "create handle (defaults) / warm call",
        g("start.create_default.median_ns"),
        g("call.c_struct.median_ns"),
        micros,
        "",
        None,
    ));
    rows.extend(ratio_row(
        "create handle with an extra CA / warm call",
        g("start.create_extra_ca.median_ns"),
        g("call.c_struct.median_ns"),
        millis,
        "",
        None,
    ));
    rows.extend(ratio_row(
        "first call on a new handle / warm call",
        g("start.first_call.median_ns"),
        g("call.c_struct.median_ns"),
        micros,
        "",
        None,
    ));
    rows.extend(ratio_row(
        "first handle of the process / warm call",
        g("start.create_first.ns"),
        g("call.c_struct.median_ns"),
        micros,
        "",
        None,
    ));
    rows.extend(ratio_row(
        "heap allocations per call: C ABI struct / floor",
        g("alloc.c_struct.count"),
        g("alloc.floor.count"),
        allocs,
        "",
        None,
    ));
    rows.extend(ratio_row(
        "heap bytes per call: C ABI struct / floor",
        g("alloc.c_struct.bytes"),
        g("alloc.floor.bytes"),
        bytes,
        "",
        None,
    ));
    rows.extend(ratio_row(
        "peak RSS, 10,000 calls: library / floor (Rust process)",
        g("rss.lib.kb"),
        g("rss.floor.kb"),
        kb,
        "",
        None,
    ));
    rows.extend(ratio_row(
        "peak RSS: 10,000 calls / 1 call (library)",
        g("rss.lib.kb"),
        g("rss.idle.kb"),
        kb,
        "",
        None,
    ));
    rows.extend(ratio_row(
        "C# wrapper on Mono / C, median (struct call)",
        g("cs.lib_struct.median_ns"),
        g("c.struct.median_ns"),
        micros,
        "<= 1.10",
        Some(|r| r <= 1.10),
    ));
    rows.extend(ratio_row(
        "C# wrapper on Mono / C, median (JSON call)",
        g("cs.lib_json.median_ns"),
        g("c.json.median_ns"),
        micros,
        "",
        None,
    ));
    rows.extend(ratio_row(
        "C# wrapper / HttpClient + JSON on Mono, median",
        g("cs.lib_struct.median_ns"),
        g("cs.httpclient.median_ns"),
        micros,
        "< 1",
        Some(|r| r < 1.0),
    ));
    rows.extend(ratio_row(
        "C program, struct call: emulator on the other CPU / same CPU, median",
        g("c_split.struct.median_ns"),
        g("c.struct.median_ns"),
        micros,
        "",
        None,
    ));
    rows.extend(ratio_row(
        "C program: C ABI struct / C ABI JSON, median",
        g("c.struct.median_ns"),
        g("c.json.median_ns"),
        micros,
        "",
        None,
    ));
    rows
}

fn absolute_rows(f: &Figures) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    let mut add = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            rows.push((name.to_owned(), value));
        }
    };
    let g = |k: &str| f.get(k);
    for (name, key) in [
        ("floor: ureq GET + serde_json", "floor"),
        ("floor with the library's timeouts", "floor_timeouts"),
        ("C ABI, struct (himsa_conn_current_access)", "c_struct"),
        ("C ABI, JSON (himsa_conn_current_access_json)", "c_json"),
        ("Rust API (Client::current_data_access)", "rust_api"),
        ("emulator on the other CPU, floor", "split.floor"),
        ("emulator on the other CPU, C ABI struct", "split.c_struct"),
        ("emulator on the other CPU, C ABI JSON", "split.c_json"),
    ] {
        let key = if key.contains('.') {
            key.to_owned()
        } else {
            format!("call.{key}")
        };
        if let (Some(m), Some(p)) = (g(&format!("{key}.median_ns")), g(&format!("{key}.p99_ns"))) {
            add(
                &format!("per call, {name}: median / p99"),
                Some(format!("{} / {}", micros(m), micros(p))),
            );
        }
    }
    for key in ["floor", "floor_timeouts", "c_struct", "c_json", "rust_api"] {
        if let (Some(n), Some(b)) = (
            g(&format!("alloc.{key}.count")),
            g(&format!("alloc.{key}.bytes")),
        ) {
            add(
                &format!("heap per call, {key}: allocations / bytes"),
                Some(format!("{n:.1} / {b:.0} B")),
            );
        }
    }
    for threads in THREADS {
        if let (Some(s), Some(o)) = (
            g(&format!("scale.{threads}.shared_per_s")),
            g(&format!("scale.{threads}.own_per_s")),
        ) {
            add(
                &format!("{threads} threads: calls/s shared handle / handle each"),
                Some(format!("{s:.0} / {o:.0}")),
            );
        }
    }
    add(
        "first handle of the process (defaults)",
        g("start.create_first.ns").map(micros),
    );
    add(
        "create handle, defaults (median)",
        g("start.create_default.median_ns").map(micros),
    );
    add(
        "create handle with an extra CA (median)",
        g("start.create_extra_ca.median_ns").map(millis),
    );
    add(
        "first call on a new handle (median)",
        g("start.first_call.median_ns").map(micros),
    );
    for (name, key) in [
        ("Rust child, library, 1 call", "rss.idle.kb"),
        ("Rust child, library, 10,000 calls", "rss.lib.kb"),
        ("Rust child, floor, 10,000 calls", "rss.floor.kb"),
        ("C program, 10,000 + 10,000 calls", "c.peak_rss_kb"),
        ("C# program on Mono, all its calls", "cs.peak_rss_kb"),
    ] {
        add(
            &format!("peak RSS, {name}"),
            g(key).map(|kb| format!("{:.1} MiB", kb / 1024.0)),
        );
    }
    for (name, key) in [
        ("C, struct call", "c.struct"),
        ("C, JSON call", "c.json"),
        ("C, struct call, program on the other CPU", "c_split.struct"),
        ("C, JSON call, program on the other CPU", "c_split.json"),
        ("C# on Mono, struct call", "cs.lib_struct"),
        ("C# on Mono, JSON call", "cs.lib_json"),
        ("C# on Mono, HttpClient + JSON", "cs.httpclient"),
    ] {
        if let (Some(m), Some(p)) = (g(&format!("{key}.median_ns")), g(&format!("{key}.p99_ns"))) {
            add(
                &format!("per call, {name}: median / p99"),
                Some(format!("{} / {}", micros(m), micros(p))),
            );
        }
    }
    add(
        "stripped release cdylib",
        g("size.cdylib_stripped_bytes").map(|b| format!("{b:.0} B ({:.2} MiB)", b / 1048576.0)),
    );
    add(
        "unstripped release cdylib",
        g("size.cdylib_bytes").map(|b| format!("{b:.0} B ({:.2} MiB)", b / 1048576.0)),
    );
    for (key, text) in &f.texts {
        rows.push((key.clone(), text.clone()));
    }
    rows
}

fn table(f: &Figures) -> String {
    let mut out = String::new();
    out.push_str("| measure | library | baseline | ratio | target | met |\n");
    out.push_str("|---|---:|---:|---:|---|---|\n");
    for row in ratio_rows(f) {
        let met = match row.met {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "",
        };
        let ratio = row.ratio.map_or(String::new(), |r| format!("{r:.3}"));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            row.measure, row.library, row.baseline, ratio, row.target, met
        );
    }
    out.push_str("\n| absolute figure | value |\n|---|---:|\n");
    for (name, value) in absolute_rows(f) {
        let _ = writeln!(out, "| {name} | {value} |");
    }
    out
}

fn main() {
    if let Ok(mode) = env::var("HIMSA_BENCH_CHILD") {
        child(&mode);
        return;
    }
    // `cargo bench` passes `--bench`; a filter that does not name this suite skips it.
    let args: Vec<String> = env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    if !args.is_empty() && !args.iter().any(|a| "suite".contains(a.as_str())) {
        return;
    }

    cpu_count();
    let mut figures = Figures::default();
    let sandbox = Sandbox::start(SandboxConfig::default()).expect("the emulator starts");
    let base = sandbox.base_url();

    let mut first = None;
    let took = time(|| first = Some(Handle::with(&base, false, None)));
    figures.set("start.create_first.ns", nanos(took));
    first.expect("made").connect();

    type Phase<'a> = (&'a str, &'a dyn Fn(&mut Figures));
    let phases: [Phase<'_>; 5] = [
        ("per-call cost and allocations", &|f| per_call(&base, f)),
        ("connection reuse", &|f| reuse(&sandbox, f)),
        ("scaling", &|f| scaling(&base, f)),
        ("start-up", &|f| startup(&base, f)),
        ("peak memory", &|f| memory(&base, f)),
    ];
    for (name, phase) in phases {
        eprintln!("suite: {name}");
        let took = time(|| phase(&mut figures));
        eprintln!("suite: {name} took {:.1} s", took.as_secs_f64());
        sandbox.clear_log();
    }

    if let Ok(path) = env::var("HIMSA_BENCH_RESULTS") {
        figures.load(&path);
    }
    let text = table(&figures);
    println!("\n{text}");
    if let Ok(path) = env::var("HIMSA_BENCH_TABLE") {
        if let Err(e) = std::fs::write(&path, &text) {
            eprintln!("suite: cannot write {path}: {e}");
        }
    }
    let mut raw = String::new();
    for (key, value) in &figures.values {
        let _ = writeln!(raw, "{key}\t{value:.1}");
    }
    if let Ok(path) = env::var("HIMSA_BENCH_RAW") {
        let _ = std::fs::write(&path, raw);
    }
}
