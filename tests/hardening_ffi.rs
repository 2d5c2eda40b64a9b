//! The C ABI under hostile callers, called from Rust through `himsa_conn::ffi`: NULL for
//! every pointer of every export, bad UTF-8, empty text, malformed tenant ids and base URLs,
//! enum values out of range, very long tokens, one handle shared by many threads while its
//! token is replaced and its calls cancelled, and the per-thread last-error record.
//!
//! Every rejected call must fail before anything is sent: the sandbox's request log proves
//! it.

use std::collections::BTreeSet;
use std::ffi::{c_char, c_void, CStr, CString};
use std::ptr;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use himsa_conn::ffi::*;
use himsa_conn::HimsaLogLevel;
use himsa_conn::HimsaStatus;
use himsa_sandbox::{Sandbox, SandboxConfig, TokenGrant, DEFAULT_APP, DEFAULT_TENANT};

const TOKEN: &str = "sandbox-token";

fn c(text: &str) -> CString {
    CString::new(text).expect("test text has no NUL")
}

/// The last message, lower case with `_` read as a space, so that checks accept both
/// `base URL` and `base_url`.
fn last_words() -> String {
    last_message().replace('_', " ").to_lowercase()
}

fn last_message() -> String {
    unsafe { CStr::from_ptr(himsa_last_error_message()) }
        .to_string_lossy()
        .into_owned()
}

fn sandbox() -> Sandbox {
    Sandbox::start(SandboxConfig::default()).expect("sandbox starts on loopback")
}

/// Options with short timeouts and no proxy from the environment.
fn quick_options() -> *mut HimsaOptions {
    let mut options = ptr::null_mut();
    unsafe {
        assert_eq!(himsa_options_new(&mut options), HimsaStatus::Ok);
        assert_eq!(
            himsa_options_set_proxy(options, c"".as_ptr()),
            HimsaStatus::Ok
        );
        assert_eq!(
            himsa_options_set_timeouts(options, 2_000, 5_000, 10_000),
            HimsaStatus::Ok
        );
        assert_eq!(
            himsa_options_set_poll_interval(options, 10, 50),
            HimsaStatus::Ok
        );
        assert_eq!(himsa_options_set_retries(options, 2, 50), HimsaStatus::Ok);
    }
    options
}

/// A connection handle, freed when dropped; shared between threads as the header allows.
struct Conn(*mut HimsaConn);

// SAFETY: the header documents a HimsaConn as usable from many threads at once.
unsafe impl Send for Conn {}
// SAFETY: as above.
unsafe impl Sync for Conn {}

impl Conn {
    fn open(base_url: &str, token: &str) -> Conn {
        let options = quick_options();
        let mut conn = ptr::null_mut();
        let status = unsafe {
            himsa_conn_new(
                c(base_url).as_ptr(),
                c(DEFAULT_TENANT).as_ptr(),
                c(token).as_ptr(),
                options,
                &mut conn,
            )
        };
        unsafe { himsa_options_free(options) };
        assert_eq!(status, HimsaStatus::Ok, "{}", last_message());
        assert!(!conn.is_null());
        Conn(conn)
    }

    fn ptr(&self) -> *const HimsaConn {
        self.0
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        unsafe { himsa_conn_free(self.0) };
    }
}

/// A valid need for Basic access with no lists.
fn basic_need() -> HimsaAccessRequest {
    HimsaAccessRequest {
        level: 2,
        patient_fields: ptr::null(),
        patient_fields_len: 0,
        data_types: ptr::null(),
        data_types_len: 0,
    }
}

/// The exported function names declared in the committed header.
fn header_exports() -> BTreeSet<String> {
    let header = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("include/himsa_conn.h"),
    )
    .expect("read include/himsa_conn.h");
    let mut names = BTreeSet::new();
    for line in header.lines() {
        let code = line.trim_start();
        if code.starts_with('*') || code.starts_with('/') || code.starts_with('#') {
            continue;
        }
        let mut rest = code;
        while let Some(start) = rest.find("himsa_") {
            let tail = &rest[start..];
            let end = tail
                .find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_'))
                .unwrap_or(tail.len());
            if tail[end..].starts_with('(') {
                names.insert(tail[..end].to_owned());
            }
            rest = &tail[end..];
        }
    }
    names
}

/// A call of an export with its arguments already chosen.
type Call = Box<dyn Fn() -> HimsaStatus>;

/// One row of the NULL table: the export, the argument passed as NULL, and the call.
struct NullCase {
    export: &'static str,
    argument: &'static str,
    call: Call,
}

fn null_case(
    export: &'static str,
    argument: &'static str,
    call: impl Fn() -> HimsaStatus + 'static,
) -> NullCase {
    NullCase {
        export,
        argument,
        call: Box::new(call),
    }
}

/// Every pointer argument of every export, NULL in turn, the other arguments valid. The
/// out-parameters that stay valid point at a sentinel that must not be overwritten.
fn null_table(conn: *const HimsaConn, options: *mut HimsaOptions) -> Vec<NullCase> {
    let sentinel_conn = ptr::dangling_mut::<HimsaConn>();
    let sentinel_text = ptr::dangling_mut::<c_char>();
    let need = Box::leak(Box::new(basic_need())) as *const HimsaAccessRequest;
    let url = c"http://127.0.0.1:9";
    let tenant = c"3f6b2a1c-7d4e-4c8a-9b1f-5e2d7c9a0b14";
    let token = c"t";

    // Each closure checks that the out-parameters it passed stayed untouched.
    macro_rules! out_kept {
        ($status:expr, $out:expr, $sentinel:expr) => {{
            let status = $status;
            assert_eq!($out, $sentinel, "an out-parameter was written on failure");
            status
        }};
    }

    vec![
        null_case("himsa_conn_new", "base_url", move || {
            let mut out = sentinel_conn;
            out_kept!(
                unsafe {
                    himsa_conn_new(
                        ptr::null(),
                        tenant.as_ptr(),
                        token.as_ptr(),
                        ptr::null(),
                        &mut out,
                    )
                },
                out,
                sentinel_conn
            )
        }),
        null_case("himsa_conn_new", "tenant_id", move || {
            let mut out = sentinel_conn;
            out_kept!(
                unsafe {
                    himsa_conn_new(
                        url.as_ptr(),
                        ptr::null(),
                        token.as_ptr(),
                        ptr::null(),
                        &mut out,
                    )
                },
                out,
                sentinel_conn
            )
        }),
        null_case("himsa_conn_new", "access_token", move || {
            let mut out = sentinel_conn;
            out_kept!(
                unsafe {
                    himsa_conn_new(
                        url.as_ptr(),
                        tenant.as_ptr(),
                        ptr::null(),
                        ptr::null(),
                        &mut out,
                    )
                },
                out,
                sentinel_conn
            )
        }),
        null_case("himsa_conn_new", "conn_out", move || unsafe {
            himsa_conn_new(
                url.as_ptr(),
                tenant.as_ptr(),
                token.as_ptr(),
                ptr::null(),
                ptr::null_mut(),
            )
        }),
        null_case("himsa_conn_set_access_token", "conn", move || unsafe {
            himsa_conn_set_access_token(ptr::null(), token.as_ptr())
        }),
        null_case(
            "himsa_conn_set_access_token",
            "access_token",
            move || unsafe { himsa_conn_set_access_token(conn, ptr::null()) },
        ),
        null_case("himsa_conn_cancel", "conn", move || unsafe {
            himsa_conn_cancel(ptr::null())
        }),
        null_case("himsa_conn_deprecation", "conn", move || {
            let (mut flag, mut date) = (7u8, sentinel_text);
            let status = unsafe { himsa_conn_deprecation(ptr::null(), &mut flag, &mut date) };
            assert_eq!((flag, date), (7, sentinel_text));
            status
        }),
        null_case("himsa_conn_deprecation", "deprecated_out", move || {
            let mut date = sentinel_text;
            out_kept!(
                unsafe { himsa_conn_deprecation(conn, ptr::null_mut(), &mut date) },
                date,
                sentinel_text
            )
        }),
        null_case("himsa_conn_deprecation", "sunset_date_out", move || {
            let mut flag = 7u8;
            out_kept!(
                unsafe { himsa_conn_deprecation(conn, &mut flag, ptr::null_mut()) },
                flag,
                7
            )
        }),
        null_case("himsa_conn_current_access", "conn", move || {
            let mut out = ptr::dangling_mut::<HimsaDataAccess>();
            out_kept!(
                unsafe { himsa_conn_current_access(ptr::null(), &mut out) },
                out,
                ptr::dangling_mut::<HimsaDataAccess>()
            )
        }),
        null_case("himsa_conn_current_access", "access_out", move || unsafe {
            himsa_conn_current_access(conn, ptr::null_mut())
        }),
        null_case("himsa_conn_current_access_json", "conn", move || {
            let mut out = sentinel_text;
            out_kept!(
                unsafe { himsa_conn_current_access_json(ptr::null(), &mut out) },
                out,
                sentinel_text
            )
        }),
        null_case(
            "himsa_conn_current_access_json",
            "json_out",
            move || unsafe { himsa_conn_current_access_json(conn, ptr::null_mut()) },
        ),
        null_case("himsa_conn_request", "conn", move || {
            let mut out = ptr::dangling_mut::<HimsaAppConnection>();
            out_kept!(
                unsafe { himsa_conn_request(ptr::null(), need, &mut out) },
                out,
                ptr::dangling_mut::<HimsaAppConnection>()
            )
        }),
        null_case("himsa_conn_request", "request", move || {
            let mut out = ptr::dangling_mut::<HimsaAppConnection>();
            out_kept!(
                unsafe { himsa_conn_request(conn, ptr::null(), &mut out) },
                out,
                ptr::dangling_mut::<HimsaAppConnection>()
            )
        }),
        null_case("himsa_conn_request", "connection_out", move || unsafe {
            himsa_conn_request(conn, need, ptr::null_mut())
        }),
        null_case("himsa_conn_request_json", "conn", move || {
            let mut out = sentinel_text;
            out_kept!(
                unsafe { himsa_conn_request_json(ptr::null(), need, &mut out) },
                out,
                sentinel_text
            )
        }),
        null_case("himsa_conn_request_json", "request", move || {
            let mut out = sentinel_text;
            out_kept!(
                unsafe { himsa_conn_request_json(conn, ptr::null(), &mut out) },
                out,
                sentinel_text
            )
        }),
        null_case("himsa_conn_request_json", "json_out", move || unsafe {
            himsa_conn_request_json(conn, need, ptr::null_mut())
        }),
        null_case("himsa_conn_app_connection", "conn", move || {
            let mut out = ptr::dangling_mut::<HimsaAppConnection>();
            out_kept!(
                unsafe { himsa_conn_app_connection(ptr::null(), &mut out) },
                out,
                ptr::dangling_mut::<HimsaAppConnection>()
            )
        }),
        null_case(
            "himsa_conn_app_connection",
            "connection_out",
            move || unsafe { himsa_conn_app_connection(conn, ptr::null_mut()) },
        ),
        null_case("himsa_conn_app_connection_json", "conn", move || {
            let mut out = sentinel_text;
            out_kept!(
                unsafe { himsa_conn_app_connection_json(ptr::null(), &mut out) },
                out,
                sentinel_text
            )
        }),
        null_case(
            "himsa_conn_app_connection_json",
            "json_out",
            move || unsafe { himsa_conn_app_connection_json(conn, ptr::null_mut()) },
        ),
        null_case("himsa_conn_ensure_access", "conn", move || {
            let mut out = ptr::dangling_mut::<HimsaDecision>();
            out_kept!(
                unsafe { himsa_conn_ensure_access(ptr::null(), need, 1, &mut out) },
                out,
                ptr::dangling_mut::<HimsaDecision>()
            )
        }),
        null_case("himsa_conn_ensure_access", "need", move || {
            let mut out = ptr::dangling_mut::<HimsaDecision>();
            out_kept!(
                unsafe { himsa_conn_ensure_access(conn, ptr::null(), 1, &mut out) },
                out,
                ptr::dangling_mut::<HimsaDecision>()
            )
        }),
        null_case("himsa_conn_ensure_access", "decision_out", move || unsafe {
            himsa_conn_ensure_access(conn, need, 1, ptr::null_mut())
        }),
        null_case("himsa_conn_ensure_access_json", "conn", move || {
            let mut out = sentinel_text;
            out_kept!(
                unsafe { himsa_conn_ensure_access_json(ptr::null(), need, 1, &mut out) },
                out,
                sentinel_text
            )
        }),
        null_case("himsa_conn_ensure_access_json", "need", move || {
            let mut out = sentinel_text;
            out_kept!(
                unsafe { himsa_conn_ensure_access_json(conn, ptr::null(), 1, &mut out) },
                out,
                sentinel_text
            )
        }),
        null_case(
            "himsa_conn_ensure_access_json",
            "json_out",
            move || unsafe { himsa_conn_ensure_access_json(conn, need, 1, ptr::null_mut()) },
        ),
        null_case("himsa_conn_wait_for_approval", "conn", move || {
            let mut out = ptr::dangling_mut::<HimsaDecision>();
            out_kept!(
                unsafe { himsa_conn_wait_for_approval(ptr::null(), need, 1000, &mut out) },
                out,
                ptr::dangling_mut::<HimsaDecision>()
            )
        }),
        null_case("himsa_conn_wait_for_approval", "need", move || {
            let mut out = ptr::dangling_mut::<HimsaDecision>();
            out_kept!(
                unsafe { himsa_conn_wait_for_approval(conn, ptr::null(), 1000, &mut out) },
                out,
                ptr::dangling_mut::<HimsaDecision>()
            )
        }),
        null_case(
            "himsa_conn_wait_for_approval",
            "decision_out",
            move || unsafe { himsa_conn_wait_for_approval(conn, need, 1000, ptr::null_mut()) },
        ),
        null_case("himsa_conn_wait_for_approval_json", "conn", move || {
            let mut out = sentinel_text;
            out_kept!(
                unsafe { himsa_conn_wait_for_approval_json(ptr::null(), need, 1000, &mut out) },
                out,
                sentinel_text
            )
        }),
        null_case("himsa_conn_wait_for_approval_json", "need", move || {
            let mut out = sentinel_text;
            out_kept!(
                unsafe { himsa_conn_wait_for_approval_json(conn, ptr::null(), 1000, &mut out) },
                out,
                sentinel_text
            )
        }),
        null_case(
            "himsa_conn_wait_for_approval_json",
            "json_out",
            move || unsafe { himsa_conn_wait_for_approval_json(conn, need, 1000, ptr::null_mut()) },
        ),
        null_case("himsa_options_new", "options_out", || unsafe {
            himsa_options_new(ptr::null_mut())
        }),
        null_case("himsa_options_set_user_agent", "options", || unsafe {
            himsa_options_set_user_agent(ptr::null_mut(), c"Agent/1".as_ptr())
        }),
        null_case(
            "himsa_options_set_user_agent",
            "user_agent",
            move || unsafe { himsa_options_set_user_agent(options, ptr::null()) },
        ),
        null_case("himsa_options_set_timeouts", "options", || unsafe {
            himsa_options_set_timeouts(ptr::null_mut(), 1, 1, 1)
        }),
        null_case("himsa_options_set_retries", "options", || unsafe {
            himsa_options_set_retries(ptr::null_mut(), 1, 1)
        }),
        null_case("himsa_options_set_proxy", "options", || unsafe {
            himsa_options_set_proxy(ptr::null_mut(), c"".as_ptr())
        }),
        null_case("himsa_options_add_ca_pem", "options", || unsafe {
            himsa_options_add_ca_pem(ptr::null_mut(), c"x".as_ptr())
        }),
        null_case("himsa_options_add_ca_pem", "pem", move || unsafe {
            himsa_options_add_ca_pem(options, ptr::null())
        }),
        null_case("himsa_options_set_max_answer_bytes", "options", || unsafe {
            himsa_options_set_max_answer_bytes(ptr::null_mut(), 4096)
        }),
        null_case("himsa_options_set_poll_interval", "options", || unsafe {
            himsa_options_set_poll_interval(ptr::null_mut(), 1, 2)
        }),
        null_case("himsa_options_set_log_callback", "options", || unsafe {
            himsa_options_set_log_callback(ptr::null_mut(), None, ptr::null_mut(), 1)
        }),
    ]
}

/// Exports whose pointer arguments may all be NULL, or that take none: what they do with
/// NULL is checked in `nullable_pointers_are_accepted` and the status/text tests.
const NO_REQUIRED_POINTER: &[&str] = &[
    "himsa_conn_free",
    "himsa_options_free",
    "himsa_string_free",
    "himsa_data_access_free",
    "himsa_app_connection_free",
    "himsa_decision_free",
    "himsa_last_status",
    "himsa_last_http_status",
    "himsa_last_error_message",
    "himsa_status_text",
    "himsa_version",
];

#[test]
fn every_required_pointer_of_every_export_rejects_null() {
    let sandbox = sandbox();
    let conn = Conn::open(&sandbox.base_url(), TOKEN);
    let options = quick_options();
    let table = null_table(conn.ptr(), options);

    // The table covers the header: a new export without a row fails here.
    let covered: BTreeSet<String> = table
        .iter()
        .map(|case| case.export.to_owned())
        .chain(NO_REQUIRED_POINTER.iter().map(|s| (*s).to_owned()))
        .collect();
    assert_eq!(
        header_exports(),
        covered,
        "exports missing from the NULL table"
    );

    for case in &table {
        let status = (case.call)();
        let what = format!("{}({} = NULL)", case.export, case.argument);
        assert_eq!(status, HimsaStatus::InvalidArgument, "{what}");
        assert_eq!(himsa_last_status(), HimsaStatus::InvalidArgument, "{what}");
        assert_eq!(himsa_last_http_status(), 0, "{what}");
        let message = last_message();
        assert!(
            message.contains(case.argument) && message.contains("NULL"),
            "{what}: the message must name the argument, got {message:?}"
        );
    }
    unsafe { himsa_options_free(options) };
    assert_eq!(sandbox.requests(), vec![], "a rejected call sent a request");
}

#[test]
fn nullable_pointers_are_accepted() {
    unsafe {
        himsa_conn_free(ptr::null_mut());
        himsa_options_free(ptr::null_mut());
        himsa_string_free(ptr::null_mut());
        himsa_data_access_free(ptr::null_mut());
        himsa_app_connection_free(ptr::null_mut());
        himsa_decision_free(ptr::null_mut());
    }

    // NULL options mean the defaults; a NULL proxy means the environment; a NULL log
    // callback removes the callback.
    let mut conn = ptr::null_mut();
    let status = unsafe {
        himsa_conn_new(
            c"http://127.0.0.1:9".as_ptr(),
            c(DEFAULT_TENANT).as_ptr(),
            c"t".as_ptr(),
            ptr::null(),
            &mut conn,
        )
    };
    assert_eq!(status, HimsaStatus::Ok, "{}", last_message());
    unsafe { himsa_conn_free(conn) };
    let options = quick_options();
    unsafe {
        assert_eq!(
            himsa_options_set_proxy(options, ptr::null()),
            HimsaStatus::Ok
        );
        assert_eq!(
            himsa_options_set_log_callback(options, None, ptr::null_mut(), 4),
            HimsaStatus::Ok
        );
        himsa_options_free(options);
    }

    // Lists of length zero may be NULL; a NULL list with a length is refused.
    let sandbox = sandbox();
    let conn = Conn::open(&sandbox.base_url(), TOKEN);
    let mut need = basic_need();
    need.data_types_len = 2;
    let mut out = ptr::null_mut();
    let status = unsafe { himsa_conn_ensure_access(conn.ptr(), &need, 0, &mut out) };
    assert_eq!(status, HimsaStatus::InvalidArgument);
    assert!(
        last_message().contains("data_types is NULL"),
        "{}",
        last_message()
    );
    need.data_types_len = 0;
    need.patient_fields_len = 1;
    let status = unsafe { himsa_conn_ensure_access(conn.ptr(), &need, 0, &mut out) };
    assert_eq!(status, HimsaStatus::InvalidArgument);
    assert!(last_message().contains("patient_fields is NULL"));
    let names = [ptr::null::<c_char>()];
    need.patient_fields = names.as_ptr();
    let status = unsafe { himsa_conn_ensure_access(conn.ptr(), &need, 0, &mut out) };
    assert_eq!(status, HimsaStatus::InvalidArgument);
    assert_eq!(last_message(), "patient_fields[0] is NULL");
    assert!(out.is_null());
    assert_eq!(sandbox.requests(), vec![]);
}

#[test]
fn invalid_utf8_is_its_own_status_and_names_the_argument() {
    let bad: &[u8] = b"caf\xe9\0";
    let bad = bad.as_ptr().cast::<c_char>();
    let url = c"http://127.0.0.1:9";
    let tenant = c(DEFAULT_TENANT);
    let token = c"t";
    let mut conn = ptr::null_mut();
    let cases: Vec<(&str, HimsaStatus)> = vec![
        ("base_url", unsafe {
            himsa_conn_new(bad, tenant.as_ptr(), token.as_ptr(), ptr::null(), &mut conn)
        }),
        ("tenant_id", unsafe {
            himsa_conn_new(url.as_ptr(), bad, token.as_ptr(), ptr::null(), &mut conn)
        }),
        ("access_token", unsafe {
            himsa_conn_new(url.as_ptr(), tenant.as_ptr(), bad, ptr::null(), &mut conn)
        }),
    ];
    for (argument, status) in cases {
        assert_eq!(status, HimsaStatus::InvalidUtf8, "{argument}");
        assert!(conn.is_null());
    }

    let options = quick_options();
    let setters: Vec<(&str, Call)> = vec![
        (
            "user_agent",
            Box::new(move || unsafe { himsa_options_set_user_agent(options, bad) }),
        ),
        (
            "proxy_url",
            Box::new(move || unsafe { himsa_options_set_proxy(options, bad) }),
        ),
        (
            "pem",
            Box::new(move || unsafe { himsa_options_add_ca_pem(options, bad) }),
        ),
    ];
    for (argument, call) in setters {
        assert_eq!(call(), HimsaStatus::InvalidUtf8, "{argument}");
        assert!(last_message().contains(argument), "{}", last_message());
    }
    unsafe { himsa_options_free(options) };

    let sandbox = sandbox();
    let conn = Conn::open(&sandbox.base_url(), TOKEN);
    let status = unsafe { himsa_conn_set_access_token(conn.ptr(), bad) };
    assert_eq!(status, HimsaStatus::InvalidUtf8);
    assert!(last_message().contains("access_token"));
    let names = [bad];
    let mut need = basic_need();
    need.patient_fields = names.as_ptr();
    need.patient_fields_len = 1;
    let mut json = ptr::null_mut();
    let status = unsafe { himsa_conn_ensure_access_json(conn.ptr(), &need, 1, &mut json) };
    assert_eq!(status, HimsaStatus::InvalidUtf8);
    assert!(last_message().contains("patient_fields[0]"));
    assert!(json.is_null());

    // A token replaced by bad UTF-8 is not replaced: the old one still works.
    let mut text = ptr::null_mut();
    let status = unsafe { himsa_conn_current_access_json(conn.ptr(), &mut text) };
    assert_eq!(status, HimsaStatus::NeverConnected, "{}", last_message());
    let sent: Vec<_> = sandbox.requests().into_iter().map(|r| r.status).collect();
    assert_eq!(sent, vec![404], "only the last call reached the service");
}

#[test]
fn empty_text_where_text_is_required() {
    let mut conn = ptr::null_mut();
    let rows = [
        ("", DEFAULT_TENANT, "t", "base URL"),
        ("http://127.0.0.1:9", "", "t", "tenant id"),
        ("http://127.0.0.1:9", DEFAULT_TENANT, "", "access token"),
        ("http://127.0.0.1:9", DEFAULT_TENANT, "   ", "access token"),
    ];
    for (base, tenant_id, token, named) in rows {
        let status = unsafe {
            himsa_conn_new(
                c(base).as_ptr(),
                c(tenant_id).as_ptr(),
                c(token).as_ptr(),
                ptr::null(),
                &mut conn,
            )
        };
        assert_eq!(status, HimsaStatus::InvalidArgument, "{named}");
        assert!(
            last_words().contains(&named.to_lowercase()),
            "{named}: {}",
            last_message()
        );
        assert!(conn.is_null());
    }

    let options = quick_options();
    unsafe {
        assert_eq!(
            himsa_options_set_user_agent(options, c"".as_ptr()),
            HimsaStatus::InvalidArgument
        );
        assert_eq!(
            himsa_options_add_ca_pem(options, c"".as_ptr()),
            HimsaStatus::InvalidArgument
        );
        himsa_options_free(options);
    }

    let sandbox = sandbox();
    let conn = Conn::open(&sandbox.base_url(), TOKEN);
    let status = unsafe { himsa_conn_set_access_token(conn.ptr(), c"".as_ptr()) };
    assert_eq!(status, HimsaStatus::InvalidArgument);
    let names = [c" ".as_ptr()];
    let mut need = basic_need();
    need.patient_fields = names.as_ptr();
    need.patient_fields_len = 1;
    let mut out = ptr::null_mut();
    let status = unsafe { himsa_conn_request(conn.ptr(), &need, &mut out) };
    assert_eq!(status, HimsaStatus::InvalidArgument);
    assert!(last_message().contains("patient_fields[0] is empty"));
    assert_eq!(sandbox.requests(), vec![]);
}

#[test]
fn tenant_ids_that_are_not_guids() {
    let rows = [
        "tenant",
        "3f6b2a1c7d4e4c8a9b1f5e2d7c9a0b14",
        "{3f6b2a1c-7d4e-4c8a-9b1f-5e2d7c9a0b14}",
        "3f6b2a1c-7d4e-4c8a-9b1f-5e2d7c9a0b1g",
        "3f6b2a1c-7d4e-4c8a-9b1f-5e2d7c9a0b14/../x",
        "../../3f6b2a1c-7d4e-4c8a-9b1f-5e2d7c9",
        "3f6b2a1c-7d4e-4c8a-9b1f-5e2d7c9a0b1\u{e9}",
        " 3f6b2a1c-7d4e-4c8a-9b1f-5e2d7c9a0b14",
    ];
    for tenant in rows {
        let mut conn = ptr::null_mut();
        let status = unsafe {
            himsa_conn_new(
                c"http://127.0.0.1:9".as_ptr(),
                c(tenant).as_ptr(),
                c"t".as_ptr(),
                ptr::null(),
                &mut conn,
            )
        };
        assert_eq!(status, HimsaStatus::InvalidArgument, "{tenant:?}");
        assert!(last_message().contains("not a GUID"), "{}", last_message());
        assert!(conn.is_null());
    }
}

#[test]
fn base_urls_that_do_not_parse_or_are_not_allowed() {
    // None of these hosts is contacted: a handle is never made for them.
    let rows = [
        ("not a url", "not a valid URL"),
        ("https://", "base URL"),
        ("127.0.0.1:8080", "base URL"),
        ("http://api.example.invalid", "not loopback"),
        ("http://[::2]:80", "not loopback"),
        ("http://localhost.example.invalid", "not loopback"),
        ("ftp://127.0.0.1", "must start with https://"),
        ("ws://localhost:1", "must start with https://"),
        ("file:///etc/passwd", "base URL"),
        ("https://host.example.invalid/?q=1", "query"),
    ];
    for (url, named) in rows {
        let mut conn = ptr::null_mut();
        let status = unsafe {
            himsa_conn_new(
                c(url).as_ptr(),
                c(DEFAULT_TENANT).as_ptr(),
                c"t".as_ptr(),
                ptr::null(),
                &mut conn,
            )
        };
        assert_eq!(status, HimsaStatus::InvalidArgument, "{url}");
        let message = last_message();
        assert!(
            last_words().contains(&named.to_lowercase()),
            "{url}: {message}"
        );
        assert!(conn.is_null(), "{url}");
    }
}

#[test]
fn enum_values_out_of_range_from_c() {
    let sandbox = sandbox();
    let conn = Conn::open(&sandbox.base_url(), TOKEN);

    for level in [0u32, 4, 99, u32::MAX] {
        let mut need = basic_need();
        need.level = level;
        let mut out = ptr::null_mut();
        let status = unsafe { himsa_conn_ensure_access(conn.ptr(), &need, 1, &mut out) };
        assert_eq!(status, HimsaStatus::InvalidArgument, "level {level}");
        assert!(last_message().contains(&format!("level {level}")));
        let status = unsafe { himsa_conn_request(conn.ptr(), &need, &mut ptr::null_mut()) };
        assert_eq!(status, HimsaStatus::InvalidArgument, "level {level}");
    }
    for policy in [3u32, 7, u32::MAX] {
        let mut out = ptr::null_mut();
        let status =
            unsafe { himsa_conn_ensure_access(conn.ptr(), &basic_need(), policy, &mut out) };
        assert_eq!(status, HimsaStatus::InvalidArgument, "policy {policy}");
        assert!(last_message().contains(&format!("policy {policy}")));
        assert!(out.is_null());
    }
    let options = quick_options();
    for max_level in [0u32, 5, u32::MAX] {
        let status = unsafe {
            himsa_options_set_log_callback(options, Some(count_lines), ptr::null_mut(), max_level)
        };
        assert_eq!(
            status,
            HimsaStatus::InvalidArgument,
            "log level {max_level}"
        );
        assert!(last_message().contains(&format!("max_level {max_level}")));
    }
    unsafe { himsa_options_free(options) };
    for number in [2u32, 7, 99, 402, 601, 901, u32::MAX] {
        let text = unsafe { CStr::from_ptr(himsa_status_text(number)) };
        assert!(
            text.to_str().unwrap().starts_with("UNKNOWN_STATUS:"),
            "{number}"
        );
    }
    for status in HimsaStatus::ALL {
        let text = unsafe { CStr::from_ptr(himsa_status_text(status as u32)) };
        assert!(!text.to_str().unwrap().starts_with("UNKNOWN"), "{status:?}");
    }
    assert_eq!(sandbox.requests(), vec![]);
}

unsafe extern "C" fn count_lines(_: HimsaLogLevel, _: *const c_char, _: *mut c_void) {}

#[test]
fn a_token_of_16_kib_is_sent_whole() {
    let long: String = (0..16 * 1024)
        .map(|i| (b'A' + (i % 26) as u8) as char)
        .collect();
    let sandbox = sandbox();
    sandbox.add_token(TokenGrant::new(&long, DEFAULT_APP, "Long Token", true));
    let conn = Conn::open(&sandbox.base_url(), &long);
    let mut json = ptr::null_mut();
    let status = unsafe { himsa_conn_current_access_json(conn.ptr(), &mut json) };
    // The sandbox knows only the whole token: a cut one would be answered 401.
    assert_eq!(status, HimsaStatus::NeverConnected, "{}", last_message());
    assert_eq!(himsa_last_http_status(), 404);
    assert!(
        !last_message().contains(&long[..64]),
        "no token in messages"
    );

    // Replacing it with another long token works the same way.
    let other = long.to_lowercase();
    sandbox.add_token(TokenGrant::new(&other, DEFAULT_APP, "Other", true));
    let status = unsafe { himsa_conn_set_access_token(conn.ptr(), c(&other).as_ptr()) };
    assert_eq!(status, HimsaStatus::Ok);
    let status = unsafe { himsa_conn_current_access_json(conn.ptr(), &mut json) };
    assert_eq!(status, HimsaStatus::NeverConnected, "{}", last_message());
    assert!(json.is_null());
    assert_eq!(sandbox.requests().len(), 2);
}

#[test]
fn one_handle_eight_callers_a_token_replacer_and_a_canceller() {
    const CALLERS: usize = 8;
    const CALLS: usize = 40;
    let sandbox = sandbox();
    sandbox.add_token(TokenGrant::new("second-token", DEFAULT_APP, "Second", true));
    let conn = Arc::new(Conn::open(&sandbox.base_url(), TOKEN));
    let mut out = ptr::null_mut();
    let status = unsafe { himsa_conn_request(conn.ptr(), &basic_need(), &mut out) };
    assert_eq!(status, HimsaStatus::Ok, "{}", last_message());
    unsafe { himsa_app_connection_free(out) };
    let start = Arc::new(Barrier::new(CALLERS + 2));

    let callers: Vec<_> = (0..CALLERS)
        .map(|index| {
            let conn = Arc::clone(&conn);
            let start = Arc::clone(&start);
            thread::spawn(move || {
                start.wait();
                let mut seen = Vec::with_capacity(CALLS);
                for call in 0..CALLS {
                    let status = if (index + call) % 2 == 0 {
                        let mut access = ptr::null_mut();
                        let status = unsafe { himsa_conn_current_access(conn.ptr(), &mut access) };
                        assert_eq!(status == HimsaStatus::Ok, !access.is_null());
                        unsafe { himsa_data_access_free(access) };
                        status
                    } else {
                        let mut json = ptr::null_mut();
                        let status =
                            unsafe { himsa_conn_app_connection_json(conn.ptr(), &mut json) };
                        assert_eq!(status == HimsaStatus::Ok, !json.is_null());
                        unsafe { himsa_string_free(json) };
                        status
                    };
                    // The thread's record is its own, whatever the other threads do.
                    assert_eq!(himsa_last_status(), status);
                    if status == HimsaStatus::Ok {
                        assert_eq!(himsa_last_http_status(), 200);
                        assert_eq!(last_message(), "");
                    }
                    seen.push(status);
                }
                seen
            })
        })
        .collect();
    let replacer = {
        let conn = Arc::clone(&conn);
        let start = Arc::clone(&start);
        thread::spawn(move || {
            start.wait();
            for round in 0..200 {
                let token = if round % 2 == 0 {
                    c"second-token"
                } else {
                    c"sandbox-token"
                };
                let status = unsafe { himsa_conn_set_access_token(conn.ptr(), token.as_ptr()) };
                assert_eq!(status, HimsaStatus::Ok);
                thread::sleep(Duration::from_millis(1));
            }
        })
    };
    let canceller = {
        let conn = Arc::clone(&conn);
        thread::spawn(move || {
            start.wait();
            for _ in 0..50 {
                assert_eq!(unsafe { himsa_conn_cancel(conn.ptr()) }, HimsaStatus::Ok);
                thread::sleep(Duration::from_millis(3));
            }
        })
    };

    let mut statuses = Vec::new();
    for caller in callers {
        statuses.extend(caller.join().expect("a caller panicked"));
    }
    replacer.join().expect("the replacer panicked");
    canceller.join().expect("the canceller panicked");

    assert_eq!(statuses.len(), CALLERS * CALLS);
    let unexpected: Vec<_> = statuses
        .iter()
        .filter(|s| !matches!(s, HimsaStatus::Ok | HimsaStatus::Cancelled))
        .collect();
    assert!(unexpected.is_empty(), "{unexpected:?}");
    assert!(statuses.contains(&HimsaStatus::Ok));

    // Every request the service saw carried one of the two valid tokens.
    assert!(sandbox.requests().iter().all(|r| r.status == 200));

    // After the storm the handle still works.
    let mut json = ptr::null_mut();
    assert_eq!(
        unsafe { himsa_conn_current_access_json(conn.ptr(), &mut json) },
        HimsaStatus::Ok
    );
    unsafe { himsa_string_free(json) };
}

#[test]
fn the_wait_for_approval_refuses_a_zero_or_negative_deadline() {
    let sandbox = sandbox();
    let conn = Conn::open(&sandbox.base_url(), TOKEN);
    for timeout in [0i64, -1, -1000, i64::MIN] {
        let mut decision = ptr::null_mut();
        let status = unsafe {
            himsa_conn_wait_for_approval(conn.ptr(), &basic_need(), timeout, &mut decision)
        };
        assert_eq!(status, HimsaStatus::InvalidArgument, "{timeout}");
        assert!(last_message().contains("timeout_ms"), "{}", last_message());
        assert!(decision.is_null());
        let mut json = ptr::null_mut();
        let status = unsafe {
            himsa_conn_wait_for_approval_json(conn.ptr(), &basic_need(), timeout, &mut json)
        };
        assert_eq!(status, HimsaStatus::InvalidArgument, "{timeout}");
        assert!(json.is_null());
    }
    assert_eq!(sandbox.requests(), vec![], "nothing is sent");

    // The largest deadline C can pass is accepted and ends as soon as there is an answer.
    let started = Instant::now();
    let mut decision = ptr::null_mut();
    let status =
        unsafe { himsa_conn_wait_for_approval(conn.ptr(), &basic_need(), i64::MAX, &mut decision) };
    assert_eq!(status, HimsaStatus::Ok, "{}", last_message());
    assert_eq!(
        unsafe { &*decision }.outcome,
        himsa_conn::HimsaOutcome::NeverConnected
    );
    unsafe { himsa_decision_free(decision) };
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn the_last_error_of_one_thread_is_not_seen_by_another() {
    let sandbox = sandbox();
    let conn = Arc::new(Conn::open(&sandbox.base_url(), TOKEN));
    let failed = Arc::new(Barrier::new(2));
    let checked = Arc::new(Barrier::new(2));

    let other = {
        let conn = Arc::clone(&conn);
        let failed = Arc::clone(&failed);
        let checked = Arc::clone(&checked);
        thread::spawn(move || {
            // Succeeds first, then waits while the main thread fails.
            let mut json = ptr::null_mut();
            let status = unsafe { himsa_conn_current_access_json(conn.ptr(), &mut json) };
            assert_eq!(status, HimsaStatus::NeverConnected);
            failed.wait();
            let mine = (
                himsa_last_status(),
                himsa_last_http_status(),
                last_message(),
            );
            checked.wait();
            mine
        })
    };

    let mut bad = ptr::null_mut();
    let status = unsafe {
        himsa_conn_new(
            c"http://127.0.0.1:9".as_ptr(),
            c"not-a-guid".as_ptr(),
            c"t".as_ptr(),
            ptr::null(),
            &mut bad,
        )
    };
    assert_eq!(status, HimsaStatus::InvalidArgument);
    let message_ptr = himsa_last_error_message();
    failed.wait();
    checked.wait();
    let (status, http, message) = other.join().unwrap();
    assert_eq!(status, HimsaStatus::NeverConnected);
    assert_eq!(http, 404);
    assert!(message.contains("never connected"), "{message}");
    assert!(!message.contains("GUID"));

    // This thread's record is untouched by the other's calls, and its pointer still valid.
    assert_eq!(himsa_last_status(), HimsaStatus::InvalidArgument);
    assert_eq!(himsa_last_http_status(), 0);
    assert_eq!(himsa_last_error_message(), message_ptr);
    assert!(last_message().contains("not a GUID"));

    // A fresh thread starts clean.
    let fresh = thread::spawn(|| (himsa_last_status(), last_message()))
        .join()
        .unwrap();
    assert_eq!(fresh, (HimsaStatus::Ok, String::new()));
}
