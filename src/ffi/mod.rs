//! The C ABI: exported functions, the structs they hand out, and the guards every export
//! runs inside.
//!
//! Conventions, kept by every export:
//! - The return value is a [`HimsaStatus`]; details of the last call (message, HTTP status)
//!   are kept per thread and read with `himsa_last_error_message` and
//!   `himsa_last_http_status` right after the call, on the same thread.
//! - The object acted on comes first, inputs follow, out-parameters come last. An
//!   out-parameter is written only when the call returns `HIMSA_STATUS_OK`.
//! - Every pointer is checked for NULL, every string for UTF-8, and every panic is caught
//!   and returned as `HIMSA_STATUS_INTERNAL`; the host process never unwinds.

mod conn;
mod options;
mod output;

pub use conn::*;
pub use options::*;
pub use output::*;

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::{Error, HimsaStatus};

/// What the last call on this thread left behind.
struct LastCall {
    status: HimsaStatus,
    http_status: u16,
    message: CString,
}

thread_local! {
    static LAST_CALL: RefCell<LastCall> = RefCell::new(LastCall {
        status: HimsaStatus::Ok,
        http_status: 0,
        message: CString::default(),
    });
}

fn record(status: HimsaStatus, http_status: u16, message: &str) {
    LAST_CALL.with(|last| {
        let mut last = last.borrow_mut();
        last.status = status;
        last.http_status = http_status;
        last.message = to_c_string(message);
    });
}

/// Runs the body of an export: resets this thread's last-call record, catches panics, and
/// records the outcome. The body returns the HTTP status of its answer (0 for none).
pub(crate) fn guard(body: impl FnOnce() -> Result<u16, Error>) -> HimsaStatus {
    record(HimsaStatus::Ok, 0, "");
    let outcome = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        Err(Error::new(
            HimsaStatus::Internal,
            format!("internal error in himsa-conn: {what}"),
        ))
    });
    match outcome {
        Ok(http_status) => {
            record(HimsaStatus::Ok, http_status, "");
            HimsaStatus::Ok
        }
        Err(error) => {
            record(error.status(), error.http_status(), error.message());
            error.status()
        }
    }
}

/// A C string for `text`; a NUL inside the text (possible in server data) becomes U+FFFD.
pub(crate) fn to_c_string(text: &str) -> CString {
    CString::new(text)
        .unwrap_or_else(|_| CString::new(text.replace('\0', "\u{fffd}")).expect("no NUL is left"))
}

/// Borrows a required string argument.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that outlives the call.
pub(crate) unsafe fn arg_str<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, Error> {
    if ptr.is_null() {
        return Err(Error::invalid(format!("{name} is NULL")));
    }
    CStr::from_ptr(ptr).to_str().map_err(|_| {
        Error::new(
            HimsaStatus::InvalidUtf8,
            format!("{name} is not valid UTF-8"),
        )
    })
}

/// Borrows an optional string argument (NULL gives `None`).
///
/// # Safety
/// As [`arg_str`].
pub(crate) unsafe fn arg_opt_str<'a>(
    ptr: *const c_char,
    name: &str,
) -> Result<Option<&'a str>, Error> {
    if ptr.is_null() {
        Ok(None)
    } else {
        arg_str(ptr, name).map(Some)
    }
}

/// Borrows a required object argument.
///
/// # Safety
/// `ptr` is NULL or points to a live `T` that outlives the call.
pub(crate) unsafe fn arg_ref<'a, T>(ptr: *const T, name: &str) -> Result<&'a T, Error> {
    ptr.as_ref()
        .ok_or_else(|| Error::invalid(format!("{name} is NULL")))
}

/// Borrows a required out-parameter.
///
/// # Safety
/// `ptr` is NULL or points to writable memory for a `T`.
pub(crate) unsafe fn arg_out<'a, T>(ptr: *mut T, name: &str) -> Result<&'a mut T, Error> {
    ptr.as_mut()
        .ok_or_else(|| Error::invalid(format!("{name} is NULL")))
}

/// The status of the last call of the library made on this thread.
///
/// Read it right after the call, on the same thread. Every call of the library (except the
/// three `himsa_last_*` functions, `himsa_version` and `himsa_status_text`) replaces it.
#[no_mangle]
pub extern "C" fn himsa_last_status() -> HimsaStatus {
    LAST_CALL.with(|last| last.borrow().status)
}

/// The HTTP status the service answered in the last call made on this thread, or 0 when
/// that call received no answer (it failed before or while connecting, or sent nothing).
///
/// Set after successes too (200, or 404 for `HIMSA_STATUS_NEVER_CONNECTED`).
#[no_mangle]
pub extern "C" fn himsa_last_http_status() -> u32 {
    LAST_CALL.with(|last| u32::from(last.borrow().http_status))
}

/// A human-readable message about the last call made on this thread: what failed and what
/// to do about it; empty after a success. Never contains the access token.
///
/// The returned string is owned by the library and stays valid until the next call of the
/// library on this thread; copy it to keep it. Never NULL.
#[no_mangle]
pub extern "C" fn himsa_last_error_message() -> *const c_char {
    LAST_CALL.with(|last| last.borrow().message.as_ptr())
}

/// A static description of a status: its name, a colon and its meaning, for example
/// `"UNAUTHORIZED: the access token is missing, expired or invalid"`. A number that is not
/// a status gives `"UNKNOWN_STATUS: ..."`.
///
/// The returned string is static: never freed, valid for the life of the process.
#[no_mangle]
pub extern "C" fn himsa_status_text(status: u32) -> *const c_char {
    let text = match HimsaStatus::from_u32(status) {
        Some(known) => known.text(),
        None => "UNKNOWN_STATUS: this number is not a status of this library version\0",
    };
    text.as_ptr().cast()
}

/// The library's version, for example `"0.1.0"`. Bindings compare it with the version
/// they were written for when they load the library.
///
/// The returned string is static: never freed, valid for the life of the process.
#[no_mangle]
pub extern "C" fn himsa_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last_message() -> String {
        unsafe { CStr::from_ptr(himsa_last_error_message()) }
            .to_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn guard_records_success_failure_and_panic() {
        assert_eq!(guard(|| Ok(200)), HimsaStatus::Ok);
        assert_eq!(himsa_last_http_status(), 200);
        assert_eq!(last_message(), "");

        let failed = guard(|| Err(Error::new(HimsaStatus::Forbidden, "no").with_http_status(403)));
        assert_eq!(failed, HimsaStatus::Forbidden);
        assert_eq!(himsa_last_status(), HimsaStatus::Forbidden);
        assert_eq!(himsa_last_http_status(), 403);
        assert_eq!(last_message(), "no");

        let panicked = guard(|| panic!("boom"));
        assert_eq!(panicked, HimsaStatus::Internal);
        assert!(last_message().contains("boom"));

        assert_eq!(guard(|| Ok(0)), HimsaStatus::Ok);
        assert_eq!(last_message(), "");
    }

    #[test]
    fn last_call_is_per_thread() {
        guard(|| Err(Error::new(HimsaStatus::Timeout, "slow")));
        let other = std::thread::spawn(|| (himsa_last_status(), last_message()))
            .join()
            .unwrap();
        assert_eq!(other, (HimsaStatus::Ok, String::new()));
        assert_eq!(himsa_last_status(), HimsaStatus::Timeout);
    }

    #[test]
    fn arguments_are_checked() {
        let null = unsafe { arg_str(std::ptr::null(), "tenant_id") }.unwrap_err();
        assert_eq!(null.status(), HimsaStatus::InvalidArgument);
        assert_eq!(null.message(), "tenant_id is NULL");

        let bad = [0xffu8, 0xfe, 0];
        let err = unsafe { arg_str(bad.as_ptr().cast(), "token") }.unwrap_err();
        assert_eq!(err.status(), HimsaStatus::InvalidUtf8);

        let good = c"J\u{fc}rgen \u{c6}r\u{f8}";
        assert_eq!(
            unsafe { arg_str(good.as_ptr(), "x") }.unwrap(),
            "Jürgen Ærø"
        );
        assert_eq!(unsafe { arg_opt_str(std::ptr::null(), "x") }.unwrap(), None);
    }

    #[test]
    fn status_texts() {
        let text = |n| {
            unsafe { CStr::from_ptr(himsa_status_text(n)) }
                .to_str()
                .unwrap()
        };
        assert!(text(0).starts_with("OK:"));
        assert!(text(401).starts_with("UNAUTHORIZED:"));
        assert!(text(7).starts_with("UNKNOWN_STATUS:"));
        let version = unsafe { CStr::from_ptr(himsa_version()) }.to_str().unwrap();
        assert_eq!(version, env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn nul_inside_text_is_replaced() {
        assert_eq!(to_c_string("a\0b").to_str().unwrap(), "a\u{fffd}b");
    }
}
