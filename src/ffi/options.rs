//! Optional settings of a connection, set one by one so that new settings never change the
//! ABI of the existing ones.

use std::ffi::{c_char, c_void};
use std::sync::Arc;
use std::time::Duration;

use crate::config::{Config, HimsaLogLevel, ProxySetting};
use crate::error::{Error, HimsaStatus};

use super::{arg_opt_str, arg_out, arg_str, guard};

/// Receives a log line: its level, the text (UTF-8, valid only during the call) and the
/// `user_data` given with the callback. May be called from any thread that calls the
/// library, and from several at once; it must not call back into the library.
pub type HimsaLogCallback = Option<
    unsafe extern "C" fn(level: HimsaLogLevel, message: *const c_char, user_data: *mut c_void),
>;

/// Optional settings for `himsa_conn_new`. Create with `himsa_options_new`, free with
/// `himsa_options_free`. Not thread-safe: set it up on one thread.
pub struct HimsaOptions {
    user_agent: Option<String>,
    timeouts: Option<(Duration, Duration, Duration)>,
    max_retries: Option<u32>,
    max_retry_wait: Option<Duration>,
    proxy: ProxySetting,
    extra_ca_pem: Vec<String>,
    max_answer_bytes: Option<u64>,
    poll: Option<(Duration, Duration)>,
    log: Option<(
        unsafe extern "C" fn(HimsaLogLevel, *const c_char, *mut c_void),
        UserData,
        u32,
    )>,
}

/// The host's `user_data` pointer. The library never dereferences it; the host promises in
/// the callback's documentation that it may be passed to any thread.
#[derive(Clone, Copy)]
struct UserData(*mut c_void);

// SAFETY: the pointer is only handed back to the host's callback, as documented.
unsafe impl Send for UserData {}
// SAFETY: as above.
unsafe impl Sync for UserData {}

/// The most retries a caller may configure.
const MAX_RETRIES_LIMIT: u32 = 10;

impl HimsaOptions {
    fn new() -> HimsaOptions {
        HimsaOptions {
            user_agent: None,
            timeouts: None,
            max_retries: None,
            max_retry_wait: None,
            proxy: ProxySetting::FromEnvironment,
            extra_ca_pem: Vec::new(),
            max_answer_bytes: None,
            poll: None,
            log: None,
        }
    }

    /// Applies the settings onto a configuration.
    pub(crate) fn apply(&self, config: &mut Config) {
        if let Some(agent) = &self.user_agent {
            config.user_agent.clone_from(agent);
        }
        if let Some((connect, request, overall)) = self.timeouts {
            config.connect_timeout = connect;
            config.request_timeout = request;
            config.overall_timeout = overall;
        }
        if let Some(retries) = self.max_retries {
            config.max_retries = retries;
        }
        if let Some(wait) = self.max_retry_wait {
            config.max_retry_wait = wait;
        }
        config.proxy = self.proxy.clone();
        config.extra_ca_pem.clone_from(&self.extra_ca_pem);
        if let Some(cap) = self.max_answer_bytes {
            config.max_answer_bytes = cap;
        }
        if let Some((first, longest)) = self.poll {
            config.poll_interval = first;
            config.max_poll_interval = longest;
        }
        if let Some((callback, user_data, max_level)) = self.log {
            config.log = Some(Arc::new(move |level: HimsaLogLevel, message: &str| {
                if level as u32 <= max_level {
                    let text = super::to_c_string(message);
                    let data = user_data;
                    // SAFETY: the host registered this callback for exactly this use.
                    unsafe { callback(level, text.as_ptr(), data.0) };
                }
            }));
        }
    }
}

fn millis(ms: u32, name: &str) -> Result<Duration, Error> {
    if ms == 0 {
        return Err(Error::invalid(format!("{name} must be greater than zero")));
    }
    Ok(Duration::from_millis(u64::from(ms)))
}

/// Creates options with every setting at its default: timeouts 10 s to connect, 30 s per
/// attempt and 60 s per call; 2 retries waiting at most 10 s; proxy from the environment
/// and the system; the operating system's CA store; answers up to 1 MiB; polls for approval
/// every 2 s growing to 30 s; no log.
///
/// On success `*options_out` receives options owned by the caller, to be freed with
/// `himsa_options_free`.
///
/// # Safety
/// `options_out` is NULL (an error) or points to writable memory for a pointer.
#[no_mangle]
pub unsafe extern "C" fn himsa_options_new(options_out: *mut *mut HimsaOptions) -> HimsaStatus {
    guard(|| {
        let out = arg_out(options_out, "options_out")?;
        *out = Box::into_raw(Box::new(HimsaOptions::new()));
        Ok(0)
    })
}

/// Frees options. Connections created with them keep their own copy.
///
/// # Safety
/// `options` is NULL (then nothing happens) or was returned by `himsa_options_new` and not
/// freed yet.
#[no_mangle]
pub unsafe extern "C" fn himsa_options_free(options: *mut HimsaOptions) {
    if !options.is_null() {
        drop(Box::from_raw(options));
    }
}

/// Runs a setter body on the options behind `options`.
unsafe fn with_options(
    options: *mut HimsaOptions,
    body: impl FnOnce(&mut HimsaOptions) -> Result<(), Error>,
) -> HimsaStatus {
    guard(|| {
        let options = arg_out(options, "options")?;
        body(options).map(|()| 0)
    })
}

/// Sets the `User-Agent` sent with every request, for example `"MyFitting/4.2"`.
///
/// # Safety
/// `options` comes from `himsa_options_new`; `user_agent` is a NUL-terminated UTF-8 string
/// (copied; the caller keeps ownership).
#[no_mangle]
pub unsafe extern "C" fn himsa_options_set_user_agent(
    options: *mut HimsaOptions,
    user_agent: *const c_char,
) -> HimsaStatus {
    with_options(options, |o| {
        let text = arg_str(user_agent, "user_agent")?;
        if text.is_empty() || text.chars().any(char::is_control) {
            return Err(Error::invalid(
                "user_agent must be non-empty printable text",
            ));
        }
        o.user_agent = Some(text.to_owned());
        Ok(())
    })
}

/// Sets the timeouts in milliseconds: to open a connection, for one attempt (sending to the
/// last byte of the answer), and for a whole call with its retries. Each must be above 0.
///
/// # Safety
/// `options` comes from `himsa_options_new`.
#[no_mangle]
pub unsafe extern "C" fn himsa_options_set_timeouts(
    options: *mut HimsaOptions,
    connect_ms: u32,
    request_ms: u32,
    overall_ms: u32,
) -> HimsaStatus {
    with_options(options, |o| {
        o.timeouts = Some((
            millis(connect_ms, "connect_ms")?,
            millis(request_ms, "request_ms")?,
            millis(overall_ms, "overall_ms")?,
        ));
        Ok(())
    })
}

/// Sets how often a failed attempt is retried (0 to 10; 0 disables retries) and the
/// longest wait between two attempts in milliseconds (above 0), whatever `Retry-After`
/// asks.
///
/// # Safety
/// `options` comes from `himsa_options_new`.
#[no_mangle]
pub unsafe extern "C" fn himsa_options_set_retries(
    options: *mut HimsaOptions,
    max_retries: u32,
    max_wait_ms: u32,
) -> HimsaStatus {
    with_options(options, |o| {
        if max_retries > MAX_RETRIES_LIMIT {
            return Err(Error::invalid(format!(
                "max_retries {max_retries} is above the limit of {MAX_RETRIES_LIMIT}"
            )));
        }
        o.max_retry_wait = Some(millis(max_wait_ms, "max_wait_ms")?);
        o.max_retries = Some(max_retries);
        Ok(())
    })
}

/// Chooses the proxy: NULL uses the environment (`HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`)
/// and on Windows the system settings, the default; `""` connects directly; otherwise a
/// proxy URL such as `"http://user:password@proxy:3128"`.
///
/// # Safety
/// `options` comes from `himsa_options_new`; `proxy_url` is NULL or a NUL-terminated UTF-8
/// string (copied).
#[no_mangle]
pub unsafe extern "C" fn himsa_options_set_proxy(
    options: *mut HimsaOptions,
    proxy_url: *const c_char,
) -> HimsaStatus {
    with_options(options, |o| {
        o.proxy = match arg_opt_str(proxy_url, "proxy_url")? {
            None => ProxySetting::FromEnvironment,
            Some("") => ProxySetting::Direct,
            Some(url) => {
                ureq::Proxy::new(url).map_err(|_| {
                    Error::invalid("proxy_url is not a valid proxy URL (http://host:port)")
                })?;
                ProxySetting::Url(url.to_owned())
            }
        };
        Ok(())
    })
}

/// Adds CA certificates (PEM text, one or more) trusted besides the operating system's
/// store, for example the root of a TLS-inspecting firewall. May be called several times.
///
/// # Safety
/// `options` comes from `himsa_options_new`; `pem` is a NUL-terminated string (copied).
#[no_mangle]
pub unsafe extern "C" fn himsa_options_add_ca_pem(
    options: *mut HimsaOptions,
    pem: *const c_char,
) -> HimsaStatus {
    with_options(options, |o| {
        let text = arg_str(pem, "pem")?;
        let certificates = ureq::tls::parse_pem(text.as_bytes())
            .filter(|item| matches!(item, Ok(ureq::tls::PemItem::Certificate(_))))
            .count();
        if certificates == 0 {
            return Err(Error::invalid("pem holds no PEM certificate"));
        }
        o.extra_ca_pem.push(text.to_owned());
        Ok(())
    })
}

/// Sets the largest answer read, in bytes (at least 1024). A larger answer fails with
/// `HIMSA_STATUS_ANSWER_TOO_LARGE` without being read into memory.
///
/// # Safety
/// `options` comes from `himsa_options_new`.
#[no_mangle]
pub unsafe extern "C" fn himsa_options_set_max_answer_bytes(
    options: *mut HimsaOptions,
    max_bytes: u64,
) -> HimsaStatus {
    with_options(options, |o| {
        if max_bytes < 1024 {
            return Err(Error::invalid("max_bytes must be at least 1024"));
        }
        o.max_answer_bytes = Some(max_bytes);
        Ok(())
    })
}

/// Sets how `himsa_conn_wait_for_approval` polls: the first wait between two reads and the
/// longest, in milliseconds; the wait doubles from the first to the longest.
///
/// # Safety
/// `options` comes from `himsa_options_new`.
#[no_mangle]
pub unsafe extern "C" fn himsa_options_set_poll_interval(
    options: *mut HimsaOptions,
    first_ms: u32,
    longest_ms: u32,
) -> HimsaStatus {
    with_options(options, |o| {
        let first = millis(first_ms, "first_ms")?;
        let longest = millis(longest_ms, "longest_ms")?;
        if first > longest {
            return Err(Error::invalid("first_ms must not exceed longest_ms"));
        }
        o.poll = Some((first, longest));
        Ok(())
    })
}

/// Sets a callback for the library's log lines up to `max_level` (a `HimsaLogLevel`: 1
/// errors only ... 4 everything). NULL removes it. Lines never contain the token.
///
/// # Safety
/// `options` comes from `himsa_options_new`. `callback`, when not NULL, stays callable and
/// `user_data` stays valid for as long as any connection created with these options lives.
#[no_mangle]
pub unsafe extern "C" fn himsa_options_set_log_callback(
    options: *mut HimsaOptions,
    callback: HimsaLogCallback,
    user_data: *mut c_void,
    max_level: u32,
) -> HimsaStatus {
    with_options(options, |o| {
        if !(1..=4).contains(&max_level) {
            return Err(Error::invalid(format!(
                "max_level {max_level} is not 1 to 4"
            )));
        }
        o.log = callback.map(|cb| (cb, UserData(user_data), max_level));
        Ok(())
    })
}
