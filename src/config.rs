//! Client configuration: what the caller sets, its defaults, and its validation.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use ureq::http::Uri;
use zeroize::Zeroizing;

use crate::error::Error;

/// Severity of a log line handed to the log callback.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum HimsaLogLevel {
    /// Something failed or will fail.
    Error = 1,
    /// Something the host should know about (a deprecation notice, a retry).
    Warn = 2,
    /// A step of the flow.
    Info = 3,
    /// Detail for diagnosing problems.
    Debug = 4,
}

/// A sink for the library's log lines. Lines are short and never contain the token.
pub type LogSink = Arc<dyn Fn(HimsaLogLevel, &str) + Send + Sync>;

/// Where requests go through.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ProxySetting {
    /// `HTTPS_PROXY`/`ALL_PROXY`/`NO_PROXY` from the environment, and on Windows the
    /// system proxy settings. The default.
    #[default]
    FromEnvironment,
    /// This proxy URL (`http://`, `https://`, `socks5://`, with optional `user:pass@`).
    Url(String),
    /// Connect directly, whatever the environment says.
    Direct,
}

/// Everything a [`crate::Client`] needs. Only the base URL, tenant and token have no
/// default.
#[derive(Clone)]
pub struct Config {
    pub(crate) base_url: String,
    pub(crate) tenant_id: String,
    pub(crate) access_token: Zeroizing<String>,
    /// `User-Agent` sent with every request.
    pub user_agent: String,
    /// Time allowed to open a TCP connection (default 10 s).
    pub connect_timeout: Duration,
    /// Time allowed for one attempt, from sending to the last byte of the answer (default
    /// 30 s).
    pub request_timeout: Duration,
    /// Time allowed for a whole call including retries and their waits (default 60 s).
    pub overall_timeout: Duration,
    /// Retries after the first attempt, for connection errors and 429/502/503/504
    /// (default 2; 0 disables).
    pub max_retries: u32,
    /// Longest wait between two attempts, whatever `Retry-After` asks (default 10 s).
    pub max_retry_wait: Duration,
    /// Proxy choice (default: from the environment and system settings).
    pub proxy: ProxySetting,
    /// PEM text of CA certificates trusted in addition to the operating system's store.
    pub extra_ca_pem: Vec<String>,
    /// Largest answer body read, in bytes (default 1 MiB).
    pub max_answer_bytes: u64,
    /// First wait between two reads while waiting for approval (default 2 s).
    pub poll_interval: Duration,
    /// Longest wait between two reads while waiting for approval (default 30 s).
    pub max_poll_interval: Duration,
    /// Receives the library's log lines; silent when `None` (the default).
    pub log: Option<LogSink>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("base_url", &self.base_url)
            .field("tenant_id", &self.tenant_id)
            .field("access_token", &"<redacted>")
            .field("user_agent", &self.user_agent)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("overall_timeout", &self.overall_timeout)
            .field("max_retries", &self.max_retries)
            .field("max_retry_wait", &self.max_retry_wait)
            .field("proxy", &RedactedProxy(&self.proxy))
            .field("extra_ca_pem", &self.extra_ca_pem.len())
            .field("max_answer_bytes", &self.max_answer_bytes)
            .field("poll_interval", &self.poll_interval)
            .field("max_poll_interval", &self.max_poll_interval)
            .field("log", &self.log.is_some())
            .finish()
    }
}

/// A proxy setting as `Debug` shows it: the password of a proxy URL is never printed.
struct RedactedProxy<'a>(&'a ProxySetting);

impl fmt::Debug for RedactedProxy<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            ProxySetting::Url(url) => f.debug_tuple("Url").field(&without_password(url)).finish(),
            other => other.fmt(f),
        }
    }
}

/// The URL with the password of its `user:password@` part replaced.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!(
                "{scheme}://{user}:<redacted>@{host}{}",
                &rest[authority_end..]
            )
        }
        None => url.to_owned(),
    }
}

/// The longest timeout or wait accepted: far beyond any real use, and far inside what a
/// deadline (`Instant`) can hold on every platform.
pub(crate) const LONGEST_DURATION: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// The `User-Agent` sent unless the caller sets another.
pub const DEFAULT_USER_AGENT: &str = concat!("himsa-conn/", env!("CARGO_PKG_VERSION"));

impl Config {
    /// A configuration with defaults for everything but the three required values.
    ///
    /// `base_url` is the API base (the ID token's `api` claim), for example
    /// `https://api.eu.noah-es.com`; `tenant_id` the tenant's GUID; `access_token` the
    /// bearer token. They are checked by [`crate::Client::new`].
    pub fn new(base_url: &str, tenant_id: &str, access_token: &str) -> Config {
        Config {
            base_url: base_url.to_owned(),
            tenant_id: tenant_id.to_owned(),
            access_token: Zeroizing::new(access_token.to_owned()),
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            overall_timeout: Duration::from_secs(60),
            max_retries: 2,
            max_retry_wait: Duration::from_secs(10),
            proxy: ProxySetting::FromEnvironment,
            extra_ca_pem: Vec::new(),
            max_answer_bytes: 1024 * 1024,
            poll_interval: Duration::from_secs(2),
            max_poll_interval: Duration::from_secs(30),
            log: None,
        }
    }

    /// The API base URL as given.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The tenant id as given.
    pub fn tenant_id(&self) -> &str {
        &self.tenant_id
    }

    /// Checks every value and returns the normalized base URL (no trailing slash) and the
    /// tenant id in lower case.
    pub(crate) fn validate(&self) -> Result<(String, String), Error> {
        let base = validate_base_url(&self.base_url)?;
        let tenant = validate_tenant_id(&self.tenant_id)?;
        validate_token(&self.access_token)?;

        if self.user_agent.is_empty() || self.user_agent.bytes().any(|b| b < 0x20 || b == 0x7f) {
            return Err(Error::invalid(
                "user agent must be non-empty printable text",
            ));
        }
        for (name, value) in [
            ("connect timeout", self.connect_timeout),
            ("request timeout", self.request_timeout),
            ("overall timeout", self.overall_timeout),
            ("poll interval", self.poll_interval),
            ("longest poll interval", self.max_poll_interval),
        ] {
            if value.is_zero() {
                return Err(Error::invalid(format!("{name} must be greater than zero")));
            }
            if value > LONGEST_DURATION {
                return Err(Error::invalid(format!("{name} must be at most 365 days")));
            }
        }
        if self.max_retry_wait > LONGEST_DURATION {
            return Err(Error::invalid(
                "longest retry wait must be at most 365 days",
            ));
        }
        if self.max_answer_bytes < 1024 {
            return Err(Error::invalid(
                "answer size cap must be at least 1024 bytes",
            ));
        }
        if self.poll_interval > self.max_poll_interval {
            return Err(Error::invalid(
                "poll interval must not exceed the longest poll interval",
            ));
        }
        Ok((base, tenant))
    }
}

/// Checks a token: non-empty, and only characters allowed in an HTTP header value.
pub(crate) fn validate_token(token: &str) -> Result<(), Error> {
    if token.trim().is_empty() {
        return Err(Error::invalid("access_token must not be empty"));
    }
    if token.bytes().any(|b| !(0x21..=0x7e).contains(&b)) {
        return Err(Error::invalid(
            "access_token contains a space or a character that cannot be sent in a header",
        ));
    }
    Ok(())
}

/// Checks the tenant id: a GUID in its usual 8-4-4-4-12 form.
pub(crate) fn validate_tenant_id(tenant: &str) -> Result<String, Error> {
    let shaped = tenant.len() == 36
        && tenant.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        });
    if !shaped {
        return Err(Error::invalid(format!(
            "tenant_id {tenant:?} is not a GUID (expected the form \
             xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, the ID token's tenantid claim)"
        )));
    }
    Ok(tenant.to_ascii_lowercase())
}

/// Checks the API base URL: `https://`, or `http://` to a loopback host only.
pub(crate) fn validate_base_url(url: &str) -> Result<String, Error> {
    let trimmed = url.trim().trim_end_matches('/');
    let uri: Uri = trimmed
        .parse()
        .map_err(|_| Error::invalid(format!("base_url {url:?} is not a valid URL")))?;
    let host = uri
        .host()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| Error::invalid(format!("base_url {url:?} has no host")))?;
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return Err(Error::invalid(
            "base_url must not carry a user name or password; the bearer token authenticates",
        ));
    }
    if uri.query().is_some() {
        return Err(Error::invalid(format!(
            "base_url {url:?} must not carry a query"
        )));
    }
    match uri.scheme_str() {
        Some("https") => {}
        Some("http") if is_loopback_host(host) => {}
        Some("http") => {
            return Err(Error::invalid(format!(
                "base_url {url:?} uses plain http to a host that is not loopback; \
                 use https (plain http is only allowed for 127.0.0.0/8, localhost and [::1])"
            )))
        }
        _ => {
            return Err(Error::invalid(format!(
                "base_url {url:?} must start with https:// (or http:// for a loopback host)"
            )))
        }
    }
    Ok(trimmed.to_owned())
}

/// Whether a URL host names this machine's loopback interface.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.eq_ignore_ascii_case("localhost") {
        return true;
    }
    bare.parse::<IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::HimsaStatus;

    #[test]
    fn base_urls() {
        let table: &[(&str, Option<&str>)] = &[
            (
                "https://api.eu.noah-es.com",
                Some("https://api.eu.noah-es.com"),
            ),
            (
                "https://api.eu.noah-es.com/",
                Some("https://api.eu.noah-es.com"),
            ),
            (
                "https://host.example/prefix/",
                Some("https://host.example/prefix"),
            ),
            ("http://127.0.0.1:8080", Some("http://127.0.0.1:8080")),
            ("http://127.1.2.3:1", Some("http://127.1.2.3:1")),
            ("http://localhost:9", Some("http://localhost:9")),
            ("http://LOCALHOST", Some("http://LOCALHOST")),
            ("http://[::1]:8080", Some("http://[::1]:8080")),
            ("http://api.eu.noah-es.com", None),
            ("http://[::2]", None),
            ("http://localhost.example.com", None),
            ("ftp://127.0.0.1", None),
            ("api.eu.noah-es.com", None),
            ("https://", None),
            ("", None),
            ("https://host/?q=1", None),
            ("https://user:secret@host.example", None),
            ("not a url", None),
        ];
        for (input, expected) in table {
            let got = validate_base_url(input);
            match expected {
                Some(norm) => assert_eq!(got.as_deref(), Ok(*norm), "{input}"),
                None => {
                    let err = got.expect_err(input);
                    assert_eq!(err.status(), HimsaStatus::InvalidArgument, "{input}");
                    assert!(err.message().contains("base_url"), "{input}: {err}");
                }
            }
        }
    }

    #[test]
    fn tenant_ids() {
        let good = "9F1D1B2C-3A4B-4C5D-8E6F-0A1B2C3D4E5F";
        assert_eq!(validate_tenant_id(good).unwrap(), good.to_ascii_lowercase());
        for bad in [
            "",
            "tenant",
            "9f1d1b2c3a4b4c5d8e6f0a1b2c3d4e5f",
            "{9f1d1b2c-3a4b-4c5d-8e6f-0a1b2c3d4e5f}",
            "9f1d1b2c-3a4b-4c5d-8e6f-0a1b2c3d4e5g",
            "9f1d1b2c-3a4b-4c5d-8e6f-0a1b2c3d4e5f/../x",
            "9f1d1b2c_3a4b-4c5d-8e6f-0a1b2c3d4e5f",
        ] {
            assert_eq!(
                validate_tenant_id(bad).unwrap_err().status(),
                HimsaStatus::InvalidArgument
            );
        }
    }

    #[test]
    fn tokens() {
        assert!(validate_token("eyJhbGciOi.J9.x-_~+/=").is_ok());
        assert!(validate_token(&"a".repeat(16 * 1024)).is_ok());
        for bad in ["", "   ", "a b", "a\r\nX-Evil: 1", "caf\u{e9}"] {
            assert!(validate_token(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn debug_output_hides_the_token() {
        let config = Config::new("https://a.example", "x", "secret-token-value");
        let text = format!("{config:?}");
        assert!(!text.contains("secret-token-value"));
        assert!(text.contains("<redacted>"));
    }

    #[test]
    fn defaults_validate() {
        let config = Config::new(
            "http://127.0.0.1:1",
            "9f1d1b2c-3a4b-4c5d-8e6f-0a1b2c3d4e5f",
            "t",
        );
        assert!(config.validate().is_ok());
        let mut zero = config.clone();
        zero.overall_timeout = Duration::ZERO;
        assert!(zero
            .validate()
            .unwrap_err()
            .message()
            .contains("overall timeout"));
    }
}
