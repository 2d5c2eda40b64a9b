//! The connection handle and its calls.

use std::ffi::c_char;
use std::time::Duration;

use crate::client::{Answer, Client};
use crate::config::Config;
use crate::error::{Error, HimsaStatus};
use crate::model::{AppConnection, CurrentDataAccess};
use crate::planner::{Decision, HimsaRequestPolicy, Need};

use super::output::{AppConnectionBox, DataAccessBox, DecisionBox};
use super::{arg_out, arg_ref, arg_str, guard, to_c_string};
use super::{HimsaAccessRequest, HimsaAppConnection, HimsaDataAccess, HimsaDecision, HimsaOptions};

/// A connection to the App Connection API for one tenant: configuration, token and a pool
/// of kept-alive HTTP connections.
///
/// Thread safety: every `himsa_conn_*` call may be made on the same handle from many
/// threads at once, except `himsa_conn_free`, which must be the last call on the handle.
pub struct HimsaConn {
    client: Client,
}

/// Runs a call body on the client behind `conn`.
unsafe fn with_conn(
    conn: *const HimsaConn,
    body: impl FnOnce(&Client) -> Result<u16, Error>,
) -> HimsaStatus {
    guard(|| {
        let conn = arg_ref(conn, "conn")?;
        body(&conn.client)
    })
}

fn never_connected() -> Error {
    Error::new(
        HimsaStatus::NeverConnected,
        "the app was never connected in this tenant; ask for access to connect it",
    )
    .with_http_status(404)
}

fn into_json_out(text: &str, out: &mut *mut c_char) {
    *out = to_c_string(text).into_raw();
}

/// Creates a connection. Nothing is sent until the first call.
///
/// `base_url` is the API base, the ID token's `api` claim (for example
/// `"https://api.eu.noah-es.com"`); it must use `https://`, except for loopback hosts
/// (`127.0.0.0/8`, `localhost`, `[::1]`) where `http://` is allowed. `tenant_id` is the
/// tenant's GUID (the `tenantid` claim). `access_token` is the bearer token; it is copied,
/// and its copy is zeroed when replaced or freed. `options` may be NULL for the defaults;
/// it is read during the call only.
///
/// On success `*conn_out` receives a handle owned by the caller, to be freed with
/// `himsa_conn_free`. Fails with `HIMSA_STATUS_INVALID_ARGUMENT` or
/// `HIMSA_STATUS_INVALID_UTF8` for bad arguments, with a message naming the argument.
///
/// # Safety
/// The strings are NULL (an error) or NUL-terminated; `options` is NULL or from
/// `himsa_options_new`; `conn_out` points to writable memory for a pointer.
#[no_mangle]
pub unsafe extern "C" fn himsa_conn_new(
    base_url: *const c_char,
    tenant_id: *const c_char,
    access_token: *const c_char,
    options: *const HimsaOptions,
    conn_out: *mut *mut HimsaConn,
) -> HimsaStatus {
    guard(|| {
        let base_url = arg_str(base_url, "base_url")?;
        let tenant_id = arg_str(tenant_id, "tenant_id")?;
        let access_token = arg_str(access_token, "access_token")?;
        let out = arg_out(conn_out, "conn_out")?;

        let mut config = Config::new(base_url, tenant_id, access_token);
        if let Some(options) = options.as_ref() {
            options.apply(&mut config);
        }
        let client = Client::new(config)?;
        *out = Box::into_raw(Box::new(HimsaConn { client }));
        Ok(0)
    })
}

/// Frees a connection, its pooled connections and its copy of the token (zeroed).
///
/// # Safety
/// `conn` is NULL (then nothing happens) or was returned by `himsa_conn_new` and not freed
/// yet, and no other call on it is in progress or will follow.
#[no_mangle]
pub unsafe extern "C" fn himsa_conn_free(conn: *mut HimsaConn) {
    if !conn.is_null() {
        drop(Box::from_raw(conn));
    }
}

/// Replaces the access token for the calls that start after this one (tokens expire; the
/// host refreshes them). The old token's memory is zeroed.
///
/// # Safety
/// `conn` comes from `himsa_conn_new`; `access_token` is a NUL-terminated string (copied).
#[no_mangle]
pub unsafe extern "C" fn himsa_conn_set_access_token(
    conn: *const HimsaConn,
    access_token: *const c_char,
) -> HimsaStatus {
    with_conn(conn, |client| {
        client.set_access_token(arg_str(access_token, "access_token")?)?;
        Ok(0)
    })
}

/// Cancels every call in progress on the connection, from any thread; they return
/// `HIMSA_STATUS_CANCELLED`. Calls started afterwards are not affected.
///
/// Limitation: a request already on the wire is not interrupted; its call returns when
/// that attempt ends, bounded by the per-attempt timeout. Waits end at once.
///
/// # Safety
/// `conn` comes from `himsa_conn_new`.
#[no_mangle]
pub unsafe extern "C" fn himsa_conn_cancel(conn: *const HimsaConn) -> HimsaStatus {
    with_conn(conn, |client| {
        client.cancel();
        Ok(0)
    })
}

/// Tells whether the service announced that it will retire this API version, from the
/// `Noah-Deprecated` and `Noah-Sunset-Date` headers of the latest answer that carried them.
///
/// On success `*deprecated_out` is 1 or 0, and `*sunset_date_out` receives the sunset date
/// text owned by the caller (free with `himsa_string_free`), or NULL when not deprecated or
/// no date was given.
///
/// # Safety
/// `conn` comes from `himsa_conn_new`; both out-parameters point to writable memory.
#[no_mangle]
pub unsafe extern "C" fn himsa_conn_deprecation(
    conn: *const HimsaConn,
    deprecated_out: *mut u8,
    sunset_date_out: *mut *mut c_char,
) -> HimsaStatus {
    with_conn(conn, |client| {
        let deprecated = arg_out(deprecated_out, "deprecated_out")?;
        let sunset = arg_out(sunset_date_out, "sunset_date_out")?;
        let notice = client.deprecation();
        *deprecated = u8::from(notice.is_some());
        *sunset = match notice.and_then(|n| n.sunset_date) {
            Some(date) => to_c_string(&date).into_raw(),
            None => std::ptr::null_mut(),
        };
        Ok(0)
    })
}

fn current(client: &Client) -> Result<Answer<CurrentDataAccess>, Error> {
    client.current_data_access()?.ok_or_else(never_connected)
}

/// Reads the app's current data access in the tenant.
///
/// Returns `HIMSA_STATUS_NEVER_CONNECTED` (not a failure) when the app was never connected;
/// `*access_out` is then left untouched. On success `*access_out` receives a struct owned
/// by the caller, to be freed with `himsa_data_access_free`.
///
/// # Safety
/// `conn` comes from `himsa_conn_new`; `access_out` points to writable memory.
#[no_mangle]
pub unsafe extern "C" fn himsa_conn_current_access(
    conn: *const HimsaConn,
    access_out: *mut *mut HimsaDataAccess,
) -> HimsaStatus {
    with_conn(conn, |client| {
        let out = arg_out(access_out, "access_out")?;
        let answer = current(client)?;
        *out = DataAccessBox::build(&answer.value)?.into_raw();
        Ok(answer.http_status)
    })
}

/// As `himsa_conn_current_access`, with the answer's JSON text exactly as the service sent
/// it. On success `*json_out` receives a UTF-8 string owned by the caller, to be freed with
/// `himsa_string_free`.
///
/// # Safety
/// `conn` comes from `himsa_conn_new`; `json_out` points to writable memory.
#[no_mangle]
pub unsafe extern "C" fn himsa_conn_current_access_json(
    conn: *const HimsaConn,
    json_out: *mut *mut c_char,
) -> HimsaStatus {
    with_conn(conn, |client| {
        let out = arg_out(json_out, "json_out")?;
        let answer = current(client)?;
        into_json_out(&answer.raw, out);
        Ok(answer.http_status)
    })
}

fn send_request(
    client: &Client,
    request: &HimsaAccessRequest,
) -> Result<Answer<AppConnection>, Error> {
    // SAFETY: the caller promises the struct's pointers are valid for their lengths.
    let body = unsafe { request.read() }?;
    client.request_access(&body)
}

/// Asks for access exactly as given, with a fresh `X-Idempotent-ID` (reused by retries).
/// Prefer `himsa_conn_ensure_access`, which never asks for less than is already granted:
/// a request replaces the earlier one, and asking for less can remove approved access.
///
/// On success `*connection_out` receives a struct owned by the caller, to be freed with
/// `himsa_app_connection_free`.
///
/// # Safety
/// `conn` comes from `himsa_conn_new`; `request` points to a valid `HimsaAccessRequest`;
/// `connection_out` points to writable memory.
#[no_mangle]
pub unsafe extern "C" fn himsa_conn_request(
    conn: *const HimsaConn,
    request: *const HimsaAccessRequest,
    connection_out: *mut *mut HimsaAppConnection,
) -> HimsaStatus {
    with_conn(conn, |client| {
        let body = arg_ref(request, "request")?;
        let out = arg_out(connection_out, "connection_out")?;
        let answer = send_request(client, body)?;
        *out = AppConnectionBox::build(&answer.value)?.into_raw();
        Ok(answer.http_status)
    })
}

/// As `himsa_conn_request`, with the answer's JSON text exactly as the service sent it,
/// owned by the caller (free with `himsa_string_free`).
///
/// # Safety
/// As `himsa_conn_request`.
#[no_mangle]
pub unsafe extern "C" fn himsa_conn_request_json(
    conn: *const HimsaConn,
    request: *const HimsaAccessRequest,
    json_out: *mut *mut c_char,
) -> HimsaStatus {
    with_conn(conn, |client| {
        let body = arg_ref(request, "request")?;
        let out = arg_out(json_out, "json_out")?;
        let answer = send_request(client, body)?;
        into_json_out(&answer.raw, out);
        Ok(answer.http_status)
    })
}

/// Reads the app connection (portal URL, whether the signed-in user may approve). Fails
/// with `HIMSA_STATUS_NOT_FOUND` when the app never asked for access in the tenant.
///
/// On success `*connection_out` receives a struct owned by the caller, to be freed with
/// `himsa_app_connection_free`.
///
/// # Safety
/// `conn` comes from `himsa_conn_new`; `connection_out` points to writable memory.
#[no_mangle]
pub unsafe extern "C" fn himsa_conn_app_connection(
    conn: *const HimsaConn,
    connection_out: *mut *mut HimsaAppConnection,
) -> HimsaStatus {
    with_conn(conn, |client| {
        let out = arg_out(connection_out, "connection_out")?;
        let answer = client.app_connection()?;
        *out = AppConnectionBox::build(&answer.value)?.into_raw();
        Ok(answer.http_status)
    })
}

/// As `himsa_conn_app_connection`, with the answer's JSON text exactly as the service sent
/// it, owned by the caller (free with `himsa_string_free`).
///
/// # Safety
/// As `himsa_conn_app_connection`.
#[no_mangle]
pub unsafe extern "C" fn himsa_conn_app_connection_json(
    conn: *const HimsaConn,
    json_out: *mut *mut c_char,
) -> HimsaStatus {
    with_conn(conn, |client| {
        let out = arg_out(json_out, "json_out")?;
        let answer = client.app_connection()?;
        into_json_out(&answer.raw, out);
        Ok(answer.http_status)
    })
}

fn read_need(need: *const HimsaAccessRequest) -> Result<Need, Error> {
    // SAFETY: the caller promises `need` is NULL or valid, with valid inner pointers.
    let request = unsafe { arg_ref(need, "need")?.read() }?;
    Ok(Need {
        level: request.user_account_access_level,
        patient_fields: request.patient_fields,
        data_types: request.data_types,
    })
}

fn read_policy(value: u32) -> Result<HimsaRequestPolicy, Error> {
    match value {
        0 => Ok(HimsaRequestPolicy::CheckOnly),
        1 => Ok(HimsaRequestPolicy::IfNeeded),
        2 => Ok(HimsaRequestPolicy::Always),
        other => Err(Error::invalid(format!(
            "policy {other} is not a HimsaRequestPolicy (0 check only, 1 if needed, 2 always)"
        ))),
    }
}

fn wait_timeout(timeout_ms: i64) -> Result<Duration, Error> {
    if timeout_ms <= 0 {
        return Err(Error::invalid(format!(
            "timeout_ms {timeout_ms} must be above zero (milliseconds to wait for approval)"
        )));
    }
    Ok(Duration::from_millis(timeout_ms as u64))
}

/// Runs the planner: reads the current access and decides for `need`; with policy
/// `HIMSA_REQUEST_POLICY_IF_NEEDED` it asks for access when something needed was never
/// asked for, and with `HIMSA_REQUEST_POLICY_ALWAYS` also when it is pending or denied. A
/// request never asks for less than is already granted or pending.
///
/// `policy` is a `HimsaRequestPolicy` value. On success `*decision_out` receives a struct
/// owned by the caller, to be freed with `himsa_decision_free`; its `outcome` says
/// granted, pending approval (with portal URL and whether this user may approve), denied,
/// never connected or not requested.
///
/// # Safety
/// `conn` comes from `himsa_conn_new`; `need` points to a valid `HimsaAccessRequest`;
/// `decision_out` points to writable memory.
#[no_mangle]
pub unsafe extern "C" fn himsa_conn_ensure_access(
    conn: *const HimsaConn,
    need: *const HimsaAccessRequest,
    policy: u32,
    decision_out: *mut *mut HimsaDecision,
) -> HimsaStatus {
    with_conn(conn, |client| {
        let need = read_need(need)?;
        let policy = read_policy(policy)?;
        let out = arg_out(decision_out, "decision_out")?;
        let decision = client.ensure_access(&need, policy)?;
        *out = DecisionBox::build(&decision)?.into_raw();
        Ok(200)
    })
}

/// As `himsa_conn_ensure_access`, with the decision as JSON text owned by the caller (free
/// with `himsa_string_free`).
///
/// # Safety
/// As `himsa_conn_ensure_access`.
#[no_mangle]
pub unsafe extern "C" fn himsa_conn_ensure_access_json(
    conn: *const HimsaConn,
    need: *const HimsaAccessRequest,
    policy: u32,
    json_out: *mut *mut c_char,
) -> HimsaStatus {
    with_conn(conn, |client| {
        let need = read_need(need)?;
        let policy = read_policy(policy)?;
        let out = arg_out(json_out, "json_out")?;
        let decision = client.ensure_access(&need, policy)?;
        into_json_out(&decision.to_value().to_string(), out);
        Ok(200)
    })
}

/// Waits until `need` is granted or denied: polls the current access with growing waits
/// (see `himsa_options_set_poll_interval`) for up to `timeout_ms` milliseconds (above 0).
///
/// The outcome is granted, denied, not requested (the pending request was replaced by one
/// without the need) or never connected. Fails with `HIMSA_STATUS_TIMEOUT` when still
/// pending at the deadline and `HIMSA_STATUS_CANCELLED` after `himsa_conn_cancel`. On
/// success `*decision_out` receives a struct owned by the caller, to be freed with
/// `himsa_decision_free`.
///
/// # Safety
/// As `himsa_conn_ensure_access`.
#[no_mangle]
pub unsafe extern "C" fn himsa_conn_wait_for_approval(
    conn: *const HimsaConn,
    need: *const HimsaAccessRequest,
    timeout_ms: i64,
    decision_out: *mut *mut HimsaDecision,
) -> HimsaStatus {
    with_conn(conn, |client| {
        let need = read_need(need)?;
        let timeout = wait_timeout(timeout_ms)?;
        let out = arg_out(decision_out, "decision_out")?;
        let decision = client.wait_for_approval(&need, timeout)?;
        *out = DecisionBox::build(&decision)?.into_raw();
        Ok(200)
    })
}

/// As `himsa_conn_wait_for_approval`, with the decision as JSON text owned by the caller
/// (free with `himsa_string_free`).
///
/// # Safety
/// As `himsa_conn_ensure_access`.
#[no_mangle]
pub unsafe extern "C" fn himsa_conn_wait_for_approval_json(
    conn: *const HimsaConn,
    need: *const HimsaAccessRequest,
    timeout_ms: i64,
    json_out: *mut *mut c_char,
) -> HimsaStatus {
    with_conn(conn, |client| {
        let need = read_need(need)?;
        let timeout = wait_timeout(timeout_ms)?;
        let out = arg_out(json_out, "json_out")?;
        let decision: Decision = client.wait_for_approval(&need, timeout)?;
        into_json_out(&decision.to_value().to_string(), out);
        Ok(200)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ptr;

    #[test]
    fn null_arguments_are_named() {
        let mut conn: *mut HimsaConn = ptr::null_mut();
        let status = unsafe {
            himsa_conn_new(
                c"http://127.0.0.1:1".as_ptr(),
                ptr::null(),
                c"t".as_ptr(),
                ptr::null(),
                &mut conn,
            )
        };
        assert_eq!(status, HimsaStatus::InvalidArgument);
        assert!(conn.is_null(), "out-parameters are written only on success");
        let mut access: *mut HimsaDataAccess = ptr::null_mut();
        assert_eq!(
            unsafe { himsa_conn_current_access(ptr::null(), &mut access) },
            HimsaStatus::InvalidArgument
        );
        unsafe { himsa_conn_free(ptr::null_mut()) };
    }

    #[test]
    fn policy_and_timeout_are_checked() {
        assert_eq!(read_policy(1).unwrap(), HimsaRequestPolicy::IfNeeded);
        assert!(read_policy(3).is_err());
        assert!(wait_timeout(0).is_err());
        assert!(wait_timeout(-5).is_err());
        assert_eq!(wait_timeout(1500).unwrap(), Duration::from_millis(1500));
        assert_eq!(never_connected().status(), HimsaStatus::NeverConnected);
    }
}
