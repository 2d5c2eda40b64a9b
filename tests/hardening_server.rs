//! Answers the service (the sandbox with faults armed) can give that `tests/client.rs` does
//! not already cover: 504, `Retry-After` beyond the cap, 404 outside the current access,
//! 401 inside the planner, damaged answers to the POST and to the app connection, very
//! deep JSON, and the deprecation notice through the C ABI.

use std::ffi::{c_char, CStr};
use std::ptr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use himsa_conn::ffi::*;
use himsa_conn::{
    AccessLevel, AppConnectionRequest, Client, Config, HimsaRequestPolicy, HimsaStatus, Need,
    ProxySetting,
};
use himsa_sandbox::{Fault, Route, Sandbox, SandboxConfig, DEFAULT_TENANT, SANDBOX_TOKEN};

/// Generous upper bound for a call whose own waits are far shorter.
const BOUND: Duration = Duration::from_secs(8);

fn sandbox() -> Sandbox {
    Sandbox::start(SandboxConfig::default()).expect("sandbox starts on loopback")
}

fn config(sandbox: &Sandbox) -> Config {
    config_at(&sandbox.base_url(), SANDBOX_TOKEN)
}

fn config_at(base_url: &str, token: &str) -> Config {
    let mut config = Config::new(base_url, DEFAULT_TENANT, token);
    config.proxy = ProxySetting::Direct;
    config.max_retry_wait = Duration::from_millis(300);
    config.overall_timeout = Duration::from_secs(20);
    config
}

fn client(sandbox: &Sandbox) -> Client {
    Client::new(config(sandbox)).expect("valid configuration")
}

fn ask(level: AccessLevel) -> AppConnectionRequest {
    AppConnectionRequest {
        user_account_access_level: level,
        patient_fields: Vec::new(),
        data_types: Vec::new(),
    }
}

fn status(code: u16, retry_after: Option<&str>) -> Fault {
    Fault::Status {
        code,
        retry_after: retry_after.map(str::to_owned),
    }
}

fn statuses(sandbox: &Sandbox) -> Vec<(String, u16)> {
    sandbox
        .requests()
        .into_iter()
        .map(|r| (r.method, r.status))
        .collect()
}

#[test]
fn a_504_is_retried_and_then_reported_as_a_server_error() {
    let sandbox = sandbox();
    let client = client(&sandbox);
    client.request_access(&ask(AccessLevel::Limited)).unwrap();
    sandbox.clear_log();

    sandbox.arm(Route::CurrentDataAccess, status(504, None), 1);
    assert!(client.current_data_access().unwrap().is_some());
    let codes: Vec<u16> = sandbox.requests().iter().map(|r| r.status).collect();
    assert_eq!(codes, vec![504, 200]);

    sandbox.clear_log();
    sandbox.arm(Route::CurrentDataAccess, status(504, None), 10);
    let err = client.current_data_access().unwrap_err();
    assert_eq!(err.status(), HimsaStatus::ServerError, "{err}");
    assert_eq!(err.http_status(), 504);
    assert!(err.message().contains("(HTTP 504)"), "{err}");
    assert_eq!(sandbox.requests().len(), 3, "first attempt and two retries");
}

#[test]
fn retry_after_beyond_the_cap_is_cut_to_the_longest_wait() {
    for (code, retry_after) in [
        (429, "3600"),
        (503, "86400"),
        (503, "Fri, 31 Dec 2100 23:59:59 GMT"),
    ] {
        let sandbox = sandbox();
        let client = client(&sandbox);
        client.request_access(&ask(AccessLevel::Limited)).unwrap();
        sandbox.clear_log();
        sandbox.arm(Route::CurrentDataAccess, status(code, Some(retry_after)), 1);
        let started = Instant::now();
        let answer = client.current_data_access();
        let elapsed = started.elapsed();
        assert!(
            answer.unwrap().is_some(),
            "{code} {retry_after}: success after the capped wait"
        );
        assert!(elapsed < BOUND, "{code} {retry_after}: waited {elapsed:?}");
        let codes: Vec<u16> = sandbox.requests().iter().map(|r| r.status).collect();
        assert_eq!(codes, vec![code, 200], "{retry_after}");
    }
}

#[test]
fn not_found_means_never_connected_only_for_the_current_access() {
    let sandbox = sandbox();
    let client = client(&sandbox);

    // A 404 to the POST is not "never connected": the request failed.
    sandbox.arm(Route::PostAppConnection, status(404, None), 1);
    let err = client.request_access(&ask(AccessLevel::Basic)).unwrap_err();
    assert_eq!(err.status(), HimsaStatus::NotFound, "{err}");
    assert_eq!(err.http_status(), 404);
    assert!(err.message().contains("POST AppConnection"), "{err}");

    client.request_access(&ask(AccessLevel::Basic)).unwrap();
    sandbox.arm(Route::GetAppConnection, status(404, None), 1);
    let err = client.app_connection().unwrap_err();
    assert_eq!(err.status(), HimsaStatus::NotFound, "{err}");
    assert!(err.message().contains("GET AppConnection"), "{err}");

    // The same through the C ABI: NEVER_CONNECTED (1) for the current access only.
    let fresh = Sandbox::start(SandboxConfig::default()).unwrap();
    let conn = open(&fresh.base_url());
    let mut json: *mut c_char = ptr::null_mut();
    let got = unsafe { himsa_conn_current_access_json(conn, &mut json) };
    assert_eq!(got, HimsaStatus::NeverConnected);
    assert_eq!(got as u32, 1);
    assert_eq!(himsa_last_http_status(), 404);
    assert!(json.is_null(), "no output unless OK");
    let got = unsafe { himsa_conn_app_connection_json(conn, &mut json) };
    assert_eq!(got, HimsaStatus::NotFound);
    assert_eq!(himsa_last_http_status(), 404);
    assert!(json.is_null());
    unsafe { himsa_conn_free(conn) };
}

#[test]
fn a_wrong_base_path_reads_as_never_connected_and_the_request_then_fails() {
    // Limitation (documented in docs/reliability.md): a base URL with a wrong path prefix
    // makes every route answer 404, which reads as "never connected"; the request that
    // the planner then posts fails with NOT_FOUND, so no access is asked in the wrong place.
    let sandbox = sandbox();
    let cfg = config_at(
        &format!("{}/wrong-prefix", sandbox.base_url()),
        SANDBOX_TOKEN,
    );
    let client = Client::new(cfg).unwrap();
    assert_eq!(client.current_data_access().unwrap(), None);
    let err = client
        .ensure_access(
            &Need::level(AccessLevel::Basic),
            HimsaRequestPolicy::IfNeeded,
        )
        .unwrap_err();
    assert_eq!(err.status(), HimsaStatus::NotFound, "{err}");
    assert_eq!(sandbox.access(DEFAULT_TENANT, "sandbox-app"), None);
}

#[test]
fn unauthorized_stops_the_planner_before_any_post() {
    let sandbox = sandbox();
    let refused = Client::new(config_at(&sandbox.base_url(), "unknown-token")).unwrap();
    let err = refused
        .ensure_access(&Need::level(AccessLevel::Basic), HimsaRequestPolicy::Always)
        .unwrap_err();
    assert_eq!(err.status(), HimsaStatus::Unauthorized, "{err}");
    assert!(err.message().contains("invalid_token"), "{err}");
    assert!(!err.message().contains("unknown-token"));
    assert_eq!(statuses(&sandbox), vec![("GET".to_owned(), 401)]);

    // A 401 to the POST itself is not retried either.
    let good = client(&sandbox);
    sandbox.clear_log();
    sandbox.arm(Route::PostAppConnection, status(401, None), 5);
    let err = good
        .ensure_access(
            &Need::level(AccessLevel::Basic),
            HimsaRequestPolicy::IfNeeded,
        )
        .unwrap_err();
    assert_eq!(err.status(), HimsaStatus::Unauthorized);
    assert_eq!(
        statuses(&sandbox),
        vec![("GET".to_owned(), 404), ("POST".to_owned(), 401)]
    );
}

#[test]
fn damaged_answers_to_the_post_are_reported_and_never_resent() {
    let table = [
        (
            Fault::TruncatedJson,
            HimsaStatus::UnreadableAnswer,
            "not valid JSON",
        ),
        (Fault::EmptyBody, HimsaStatus::UnreadableAnswer, "empty"),
        (Fault::HtmlPage(200), HimsaStatus::UnreadableAnswer, "HTML"),
        (
            Fault::DeepJson(10_000),
            HimsaStatus::UnreadableAnswer,
            "JSON",
        ),
        (
            Fault::Oversized(2 * 1024 * 1024),
            HimsaStatus::AnswerTooLarge,
            "cap",
        ),
    ];
    for (fault, expected, words) in table {
        let name = format!("{fault:?}");
        let sandbox = sandbox();
        let client = client(&sandbox);
        sandbox.arm(Route::PostAppConnection, fault, 5);
        let err = client.request_access(&ask(AccessLevel::Basic)).unwrap_err();
        assert_eq!(err.status(), expected, "{name}: {err}");
        assert_eq!(err.http_status(), 200, "{name}");
        assert!(err.message().contains(words), "{name}: {err}");
        let posts = sandbox
            .requests()
            .into_iter()
            .filter(|r| r.method == "POST")
            .count();
        assert_eq!(
            posts, 1,
            "{name}: an unreadable answer is not a reason to resend"
        );
    }
}

#[test]
fn wrong_shapes_of_the_app_connection_are_read_leniently() {
    let sandbox = sandbox();
    let client = client(&sandbox);
    sandbox.arm(Route::PostAppConnection, Fault::WrongShape, 1);
    let answer = client.request_access(&ask(AccessLevel::Basic)).unwrap();
    assert_eq!(answer.value.app_connection_id, "", "a list is not an id");
    assert!(!answer.value.warnings.is_empty());
    assert!(
        answer.raw.contains("appConnectionId"),
        "the raw body is kept"
    );

    client.request_access(&ask(AccessLevel::Basic)).unwrap();
    sandbox.arm(Route::GetAppConnection, Fault::WrongShape, 1);
    let answer = client.app_connection().unwrap();
    assert!(!answer.value.warnings.is_empty());
}

#[test]
fn json_nested_far_beyond_any_parser_limit_does_not_overflow_the_stack() {
    let sandbox = sandbox();
    let client = client(&sandbox);
    client.request_access(&ask(AccessLevel::Limited)).unwrap();
    // 400,000 levels: 800 KB, under the 1 MiB cap, so the parser sees all of it.
    for route in [Route::CurrentDataAccess, Route::GetAppConnection] {
        sandbox.arm(route, Fault::DeepJson(400_000), 1);
        let err = match route {
            Route::CurrentDataAccess => client.current_data_access().map(|_| ()).unwrap_err(),
            _ => client.app_connection().map(|_| ()).unwrap_err(),
        };
        assert_eq!(err.status(), HimsaStatus::UnreadableAnswer, "{err}");
        assert!(err.message().contains("recursion"), "{err}");
    }
}

fn open(base_url: &str) -> *mut HimsaConn {
    let mut options = ptr::null_mut();
    let mut conn = ptr::null_mut();
    unsafe {
        assert_eq!(himsa_options_new(&mut options), HimsaStatus::Ok);
        assert_eq!(
            himsa_options_set_proxy(options, c"".as_ptr()),
            HimsaStatus::Ok
        );
        let url = std::ffi::CString::new(base_url).unwrap();
        let tenant = std::ffi::CString::new(DEFAULT_TENANT).unwrap();
        let token = std::ffi::CString::new(SANDBOX_TOKEN).unwrap();
        let status = himsa_conn_new(
            url.as_ptr(),
            tenant.as_ptr(),
            token.as_ptr(),
            options,
            &mut conn,
        );
        himsa_options_free(options);
        assert_eq!(status, HimsaStatus::Ok);
    }
    conn
}

#[test]
fn the_deprecation_notice_reaches_c_and_is_logged_once() {
    let sandbox = sandbox();
    let conn = open(&sandbox.base_url());
    let mut flag = 9u8;
    let mut date: *mut c_char = ptr::null_mut();
    assert_eq!(
        unsafe { himsa_conn_deprecation(conn, &mut flag, &mut date) },
        HimsaStatus::Ok
    );
    assert_eq!((flag, date.is_null()), (0, true));

    sandbox.arm(
        Route::Any,
        Fault::Deprecated {
            sunset: "2027-06-30T00:00:00Z".into(),
        },
        1,
    );
    let mut json = ptr::null_mut();
    assert_eq!(
        unsafe { himsa_conn_current_access_json(conn, &mut json) },
        HimsaStatus::NeverConnected
    );
    assert_eq!(
        unsafe { himsa_conn_deprecation(conn, &mut flag, &mut date) },
        HimsaStatus::Ok
    );
    assert_eq!(flag, 1);
    assert_eq!(
        unsafe { CStr::from_ptr(date) }.to_str().unwrap(),
        "2027-06-30T00:00:00Z"
    );
    unsafe {
        himsa_string_free(date);
        himsa_conn_free(conn);
    }

    // Announced on every answer, warned about once per client.
    let announcing = Sandbox::start(SandboxConfig {
        deprecated_sunset: Some("2027-01-01".into()),
        ..SandboxConfig::default()
    })
    .unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    let mut cfg = config(&announcing);
    cfg.log = Some(Arc::new(move |level, line: &str| {
        sink.lock().unwrap().push((level, line.to_owned()))
    }));
    let client = Client::new(cfg).unwrap();
    for _ in 0..3 {
        client.current_data_access().unwrap();
    }
    let warnings: Vec<_> = lines
        .lock()
        .unwrap()
        .iter()
        .filter(|(level, line)| {
            *level == himsa_conn::HimsaLogLevel::Warn && line.contains("retire")
        })
        .cloned()
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].1.contains("2027-01-01"));
}
