//! What the benchmarks share: an emulator with a connected app, handles made through the C
//! ABI, and the floor every library call is compared with (a plain `ureq` GET of the same
//! route with the same headers on a kept-alive connection, plus `serde_json` parsing).
//!
//! Every request goes to the in-process emulator on the loopback interface.

#![allow(dead_code)]

use std::ffi::{c_char, CStr, CString};
use std::ptr;
use std::time::Duration;

use himsa_conn::ffi::{
    himsa_conn_current_access, himsa_conn_current_access_json, himsa_conn_free, himsa_conn_new,
    himsa_conn_request_json, himsa_data_access_free, himsa_options_add_ca_pem, himsa_options_free,
    himsa_options_new, himsa_options_set_proxy, himsa_string_free, HimsaAccessRequest, HimsaConn,
    HimsaDataAccess, HimsaOptions,
};
use himsa_conn::HimsaStatus;
use himsa_sandbox::{Sandbox, SandboxConfig, DEFAULT_TENANT, SANDBOX_TOKEN};

/// The route every per-call benchmark reads.
pub const ROUTE: &str = "AppConnection/GetCurrentDataAccess";

/// A loopback emulator in which the default app has asked for Basic access, so that the
/// current-access route answers 200 with a body.
pub fn connected_sandbox() -> Sandbox {
    let sandbox = Sandbox::start(SandboxConfig::default()).expect("the emulator starts");
    let handle = Handle::new(&sandbox.base_url());
    handle.connect();
    drop(handle);
    sandbox
}

/// A handle of the C ABI, shareable between threads as the header allows.
pub struct Handle(*mut HimsaConn);

// SAFETY: the C ABI documents every `himsa_conn_*` call except the free as safe from many
// threads at once on one handle; the free happens in `Drop`, after every borrower is gone.
unsafe impl Send for Handle {}
unsafe impl Sync for Handle {}

fn c(text: &str) -> CString {
    CString::new(text).expect("no NUL")
}

/// The message the library left for the last call on this thread.
pub fn last_message() -> String {
    // SAFETY: the library returns a valid NUL-terminated string, never NULL.
    unsafe { CStr::from_ptr(himsa_conn::ffi::himsa_last_error_message()) }
        .to_string_lossy()
        .into_owned()
}

/// Options for a direct connection (no proxy from the environment), plus `extra_ca`.
fn options(direct: bool, extra_ca: Option<&str>) -> *mut HimsaOptions {
    let mut options: *mut HimsaOptions = ptr::null_mut();
    // SAFETY: out-pointer to a local; the strings live through each call.
    unsafe {
        assert_eq!(himsa_options_new(&mut options), HimsaStatus::Ok);
        if direct {
            assert_eq!(
                himsa_options_set_proxy(options, c"".as_ptr()),
                HimsaStatus::Ok
            );
        }
        if let Some(pem) = extra_ca {
            let pem = c(pem);
            assert_eq!(
                himsa_options_add_ca_pem(options, pem.as_ptr()),
                HimsaStatus::Ok,
                "{}",
                last_message()
            );
        }
    }
    options
}

impl Handle {
    /// A handle on `base_url` for the emulator's default tenant and token, connecting
    /// directly (a proxy from the environment must never see loopback traffic).
    pub fn new(base_url: &str) -> Handle {
        Handle::with(base_url, true, None)
    }

    /// A handle with the defaults of `himsa_conn_new(.., NULL, ..)` when `direct` is false,
    /// and with an extra CA certificate (PEM) when given.
    pub fn with(base_url: &str, direct: bool, extra_ca: Option<&str>) -> Handle {
        let base = c(base_url);
        let tenant = c(DEFAULT_TENANT);
        let token = c(SANDBOX_TOKEN);
        let options = if direct || extra_ca.is_some() {
            options(direct, extra_ca)
        } else {
            ptr::null_mut()
        };
        let mut conn: *mut HimsaConn = ptr::null_mut();
        // SAFETY: valid strings, options from `himsa_options_new` or NULL, out to a local.
        let status = unsafe {
            himsa_conn_new(
                base.as_ptr(),
                tenant.as_ptr(),
                token.as_ptr(),
                options,
                &mut conn,
            )
        };
        // SAFETY: from `himsa_options_new` or NULL; read during the call only.
        unsafe { himsa_options_free(options) };
        assert_eq!(status, HimsaStatus::Ok, "{}", last_message());
        Handle(conn)
    }

    /// Asks for Basic access once, so that the current-access route answers 200.
    pub fn connect(&self) {
        let request = HimsaAccessRequest {
            level: 2,
            patient_fields: ptr::null(),
            patient_fields_len: 0,
            data_types: ptr::null(),
            data_types_len: 0,
        };
        let mut json: *mut c_char = ptr::null_mut();
        // SAFETY: live handle, valid request, out to a local; the string is freed once.
        unsafe {
            let status = himsa_conn_request_json(self.0, &request, &mut json);
            assert_eq!(status, HimsaStatus::Ok, "{}", last_message());
            himsa_string_free(json);
        }
    }

    /// `himsa_conn_current_access`: the answer read into the C struct, then freed.
    /// Returns the number of level entries so that the work cannot be optimised away.
    pub fn current_struct(&self) -> u32 {
        let mut access: *mut HimsaDataAccess = ptr::null_mut();
        // SAFETY: live handle, out to a local; the struct is freed once.
        unsafe {
            let status = himsa_conn_current_access(self.0, &mut access);
            assert_eq!(status, HimsaStatus::Ok, "{}", last_message());
            let levels = (*access).levels_len;
            himsa_data_access_free(access);
            levels
        }
    }

    /// `himsa_conn_current_access_json`: the answer's text, then freed. Returns its length.
    pub fn current_json(&self) -> usize {
        let mut json: *mut c_char = ptr::null_mut();
        // SAFETY: live handle, out to a local; the string is freed once.
        unsafe {
            let status = himsa_conn_current_access_json(self.0, &mut json);
            assert_eq!(status, HimsaStatus::Ok, "{}", last_message());
            let len = CStr::from_ptr(json).to_bytes().len();
            himsa_string_free(json);
            len
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: created by `himsa_conn_new`, freed once, no call in progress.
        unsafe { himsa_conn_free(self.0) };
    }
}

/// The floor: what an app would do without the library.
pub struct Floor {
    agent: ureq::Agent,
    url: String,
    authorization: String,
}

impl Floor {
    /// A plain agent: ureq's defaults (no timeouts), except that no proxy is used.
    pub fn new(base_url: &str) -> Floor {
        Floor::build(base_url, false)
    }

    /// The same with the timeouts the library sets (a connect timeout and a global one),
    /// to tell what those cost inside ureq from what the library adds.
    pub fn with_timeouts(base_url: &str) -> Floor {
        Floor::build(base_url, true)
    }

    fn build(base_url: &str, timeouts: bool) -> Floor {
        let mut config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            .user_agent(himsa_conn::DEFAULT_USER_AGENT);
        if timeouts {
            config = config
                .timeout_connect(Some(Duration::from_secs(10)))
                .timeout_global(Some(Duration::from_secs(30)));
        }
        Floor {
            agent: config.build().new_agent(),
            url: format!("{base_url}/{DEFAULT_TENANT}/api/{ROUTE}"),
            authorization: format!("Bearer {SANDBOX_TOKEN}"),
        }
    }

    /// One GET with the library's headers, the body parsed as JSON. Returns the number of
    /// level entries.
    pub fn current(&self) -> usize {
        let mut response = self
            .agent
            .get(&self.url)
            .header("Authorization", self.authorization.as_str())
            .header("X-Api-Version", "1.0")
            .header("Accept", "application/json")
            .call()
            .expect("the floor request succeeds");
        assert_eq!(response.status().as_u16(), 200);
        let body = response
            .body_mut()
            .read_to_vec()
            .expect("the floor body is read");
        let value: serde_json::Value = serde_json::from_slice(&body).expect("the body is JSON");
        value["userAccountAccessLevels"]
            .as_array()
            .map_or(0, Vec::len)
    }
}
