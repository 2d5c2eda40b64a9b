//! Concurrency soak: one connection handle, driven through the C ABI by 8 threads making
//! 500 calls each against the in-process sandbox, with faults armed at random from seeded
//! generators, the token replaced and calls cancelled while they run.
//!
//! It proves that
//! - every call returns a definite status from the set its faults can cause (never
//!   `HIMSA_STATUS_INTERNAL`), writes its output exactly when it returns OK, and leaves the
//!   same status in the thread's last-call record;
//! - the resident memory returns to its plateau: after a warm-up of 100 calls per thread,
//!   the remaining 3,200 calls grow it by less than a generous bound;
//! - no POST is duplicated. Only thread 0 posts, one call at a time, and it collects the
//!   POSTs the sandbox logged during each of its calls: all of one call's POSTs carry the
//!   same `X-Idempotent-ID`, there are at most 1 + max_retries of them, every one but the
//!   last failed in a way that allows a resend (its answer was cut, or it was 429, 502,
//!   503 or 504), and no id is ever used by two calls.
//!
//! The arming sequence of each thread is seeded; which thread's call meets an armed fault
//! depends on scheduling, so the counts of each status vary between runs while every
//! assertion holds for any interleaving.

use std::collections::{BTreeMap, HashSet};
use std::ffi::{c_char, CString};
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use himsa_conn::ffi::*;
use himsa_conn::HimsaStatus;
use himsa_sandbox::{
    Fault, LoggedRequest, Route, Sandbox, SandboxConfig, TokenGrant, DEFAULT_APP, DEFAULT_TENANT,
    SANDBOX_TOKEN,
};

const THREADS: usize = 8;
const CALLS: usize = 500;
const WARM_UP: usize = 100;
const MAX_RETRIES: u32 = 2;
const SECOND_TOKEN: &str = "soak-second-token";

/// A small seeded generator (SplitMix64), enough to pick faults and calls.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A handle shared by the threads, as the header allows.
struct Conn(*mut HimsaConn);

// SAFETY: the header documents a HimsaConn as usable from many threads at once.
unsafe impl Send for Conn {}
// SAFETY: as above.
unsafe impl Sync for Conn {}

impl Drop for Conn {
    fn drop(&mut self) {
        unsafe { himsa_conn_free(self.0) };
    }
}

fn open(base_url: &str) -> Conn {
    let c = |text: &str| CString::new(text).unwrap();
    let mut options = ptr::null_mut();
    let mut conn = ptr::null_mut();
    unsafe {
        assert_eq!(himsa_options_new(&mut options), HimsaStatus::Ok);
        assert_eq!(
            himsa_options_set_proxy(options, c"".as_ptr()),
            HimsaStatus::Ok
        );
        assert_eq!(
            himsa_options_set_timeouts(options, 2_000, 3_000, 6_000),
            HimsaStatus::Ok
        );
        assert_eq!(
            himsa_options_set_retries(options, MAX_RETRIES, 20),
            HimsaStatus::Ok
        );
        assert_eq!(
            himsa_options_set_poll_interval(options, 5, 20),
            HimsaStatus::Ok
        );
        let status = himsa_conn_new(
            c(base_url).as_ptr(),
            c(DEFAULT_TENANT).as_ptr(),
            c(SANDBOX_TOKEN).as_ptr(),
            options,
            &mut conn,
        );
        himsa_options_free(options);
        assert_eq!(status, HimsaStatus::Ok);
    }
    Conn(conn)
}

/// Resident set size in bytes, from `/proc/self/statm` (pages of 4 KiB on this platform).
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("read /proc/self/statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("statm has a resident field");
    pages * 4096
}

/// The faults a thread may arm: each is short, so no call comes near its deadline.
fn random_fault(rng: &mut Rng) -> (Route, Fault) {
    let route = match rng.below(4) {
        0 => Route::CurrentDataAccess,
        1 => Route::PostAppConnection,
        2 => Route::GetAppConnection,
        _ => Route::Any,
    };
    let status = |code: u16, retry_after: Option<&str>| Fault::Status {
        code,
        retry_after: retry_after.map(str::to_owned),
    };
    let fault = match rng.below(16) {
        0 => status(500, None),
        1 => status(502, None),
        2 => status(503, Some("0")),
        3 => status(504, None),
        4 => status(429, Some("0")),
        5 => status(401, None),
        6 => status(403, None),
        7 => status(404, None),
        8 => Fault::DropMidAnswer,
        9 => Fault::TruncatedJson,
        10 => Fault::HtmlPage(502),
        11 => Fault::EmptyBody,
        12 => Fault::WrongShape,
        13 => Fault::CloseAfterAnswer,
        14 => Fault::Delay(Duration::from_millis(15)),
        _ => Fault::Deprecated {
            sunset: "2030-01-01".into(),
        },
    };
    (route, fault)
}

/// Statuses the armed faults, the cancels and the normal answers can lead to.
const EXPECTED: &[HimsaStatus] = &[
    HimsaStatus::Ok,
    HimsaStatus::NeverConnected,
    HimsaStatus::Network,
    HimsaStatus::UnreadableAnswer,
    HimsaStatus::Unauthorized,
    HimsaStatus::Forbidden,
    HimsaStatus::NotFound,
    HimsaStatus::RateLimited,
    HimsaStatus::ServerError,
    HimsaStatus::Cancelled,
];

/// Whether a POST's outcome allows the client to send the same request again.
fn allows_resend(post: &LoggedRequest) -> bool {
    matches!(post.fault, Some(Fault::DropMidAnswer)) || matches!(post.status, 429 | 502..=504)
}

/// One call chosen by the generator; returns its status after checking the output rule.
fn one_call(conn: *const HimsaConn, rng: &mut Rng, posting: bool) -> HimsaStatus {
    let need = HimsaAccessRequest {
        level: 1 + rng.below(3) as u32,
        patient_fields: ptr::null(),
        patient_fields_len: 0,
        data_types: ptr::null(),
        data_types_len: 0,
    };
    let choice = if posting {
        rng.below(3)
    } else {
        3 + rng.below(3)
    };
    let status = match choice {
        0 => {
            let mut out = ptr::null_mut();
            let status = unsafe { himsa_conn_request(conn, &need, &mut out) };
            assert_eq!(status == HimsaStatus::Ok, !out.is_null());
            unsafe { himsa_app_connection_free(out) };
            status
        }
        1 => {
            let mut out = ptr::null_mut();
            let status = unsafe { himsa_conn_ensure_access(conn, &need, 2, &mut out) };
            assert_eq!(status == HimsaStatus::Ok, !out.is_null());
            unsafe { himsa_decision_free(out) };
            status
        }
        2 => {
            let mut out: *mut c_char = ptr::null_mut();
            let status = unsafe { himsa_conn_ensure_access_json(conn, &need, 1, &mut out) };
            assert_eq!(status == HimsaStatus::Ok, !out.is_null());
            unsafe { himsa_string_free(out) };
            status
        }
        3 => {
            let mut out = ptr::null_mut();
            let status = unsafe { himsa_conn_current_access(conn, &mut out) };
            assert_eq!(status == HimsaStatus::Ok, !out.is_null());
            unsafe { himsa_data_access_free(out) };
            status
        }
        4 => {
            let mut out: *mut c_char = ptr::null_mut();
            let status = unsafe { himsa_conn_current_access_json(conn, &mut out) };
            assert_eq!(status == HimsaStatus::Ok, !out.is_null());
            unsafe { himsa_string_free(out) };
            status
        }
        _ => {
            let mut out = ptr::null_mut();
            let status = unsafe { himsa_conn_app_connection(conn, &mut out) };
            assert_eq!(status == HimsaStatus::Ok, !out.is_null());
            unsafe { himsa_app_connection_free(out) };
            status
        }
    };
    assert_eq!(himsa_last_status(), status, "the thread's record matches");
    status
}

#[test]
fn eight_threads_five_hundred_calls_each_on_one_handle() {
    let started = Instant::now();
    let sandbox = Arc::new(Sandbox::start(SandboxConfig::default()).expect("sandbox"));
    sandbox.add_token(TokenGrant::new(SECOND_TOKEN, DEFAULT_APP, "Second", true));
    let conn = Arc::new(open(&sandbox.base_url()));
    let warmed = Arc::new(Barrier::new(THREADS + 1));
    let measured = Arc::new(Barrier::new(THREADS + 1));
    let done = Arc::new(AtomicBool::new(false));
    let post_runs: Arc<Mutex<Vec<Vec<LoggedRequest>>>> = Arc::default();

    let workers: Vec<_> = (0..THREADS)
        .map(|index| {
            let (conn, sandbox) = (Arc::clone(&conn), Arc::clone(&sandbox));
            let (warmed, measured) = (Arc::clone(&warmed), Arc::clone(&measured));
            let post_runs = Arc::clone(&post_runs);
            thread::spawn(move || {
                let mut rng = Rng(0x5eed_0000 + index as u64);
                let mut counts: BTreeMap<u32, usize> = BTreeMap::new();
                for call in 0..CALLS {
                    if call == WARM_UP {
                        warmed.wait();
                        measured.wait();
                    }
                    if rng.below(10) == 0 {
                        let (route, fault) = random_fault(&mut rng);
                        sandbox.arm(route, fault, 1);
                    }
                    if index == 1 && call == CALLS / 2 {
                        let token = CString::new(SECOND_TOKEN).unwrap();
                        let status = unsafe { himsa_conn_set_access_token(conn.0, token.as_ptr()) };
                        assert_eq!(status, HimsaStatus::Ok);
                    }
                    let posting = index == 0;
                    let status = one_call(conn.0, &mut rng, posting);
                    assert!(EXPECTED.contains(&status), "unexpected {status:?}");
                    *counts.entry(status as u32).or_default() += 1;
                    if posting {
                        // Only this thread posts, and its call has returned: every POST the
                        // sandbox logged since the last drain belongs to this call.
                        let batch = sandbox.requests();
                        sandbox.clear_log();
                        let posts: Vec<_> =
                            batch.into_iter().filter(|r| r.method == "POST").collect();
                        if !posts.is_empty() {
                            post_runs.lock().unwrap().push(posts);
                        }
                    }
                }
                counts
            })
        })
        .collect();

    // Cancels calls in progress every few milliseconds until the workers are done.
    let canceller = {
        let (conn, done) = (Arc::clone(&conn), Arc::clone(&done));
        thread::spawn(move || {
            let mut cancels = 0u32;
            while !done.load(Ordering::SeqCst) {
                thread::sleep(Duration::from_millis(25));
                assert_eq!(unsafe { himsa_conn_cancel(conn.0) }, HimsaStatus::Ok);
                cancels += 1;
            }
            cancels
        })
    };

    warmed.wait();
    let plateau = rss_bytes();
    measured.wait();

    let mut totals: BTreeMap<u32, usize> = BTreeMap::new();
    for worker in workers {
        for (status, n) in worker.join().expect("a worker panicked") {
            *totals.entry(status).or_default() += n;
        }
    }
    done.store(true, Ordering::SeqCst);
    let cancels = canceller.join().unwrap();
    let end = rss_bytes();

    // Every call ended with a status.
    assert_eq!(totals.values().sum::<usize>(), THREADS * CALLS);
    assert!(totals.get(&(HimsaStatus::Ok as u32)).copied().unwrap_or(0) > 0);
    let summary: Vec<String> = totals
        .iter()
        .map(|(status, n)| format!("{:?}={n}", HimsaStatus::from_u32(*status).unwrap()))
        .collect();
    eprintln!(
        "soak: {} calls in {:?}, {cancels} cancels, rss {} -> {} KiB: {}",
        THREADS * CALLS,
        started.elapsed(),
        plateau / 1024,
        end / 1024,
        summary.join(" ")
    );

    // Memory returns to its plateau: 3,200 calls after the warm-up may not add 32 MiB.
    let growth = end.saturating_sub(plateau);
    assert!(
        growth < 32 * 1024 * 1024,
        "resident memory grew by {} KiB after the warm-up",
        growth / 1024
    );

    // No POST was duplicated.
    let runs = post_runs.lock().unwrap();
    let mut ids_seen = HashSet::new();
    let mut total_posts = 0;
    for run in runs.iter() {
        total_posts += run.len();
        let id = run[0]
            .idempotency_id
            .clone()
            .expect("every POST carries an id");
        assert!(
            run.iter()
                .all(|p| p.idempotency_id.as_deref() == Some(id.as_str())),
            "one call used two ids: {run:?}"
        );
        assert!(run.len() <= 1 + MAX_RETRIES as usize, "{run:?}");
        for post in &run[..run.len() - 1] {
            assert!(allows_resend(post), "resent after a whole answer: {run:?}");
        }
        assert!(ids_seen.insert(id), "an id was used by two calls");
    }
    assert!(!runs.is_empty(), "the posting thread reached the service");
    eprintln!(
        "soak: {} posting calls reached the service with {total_posts} POSTs",
        runs.len()
    );
}
