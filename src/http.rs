//! The HTTP exchange: one agent per client, retries with back-off, deadlines, size caps and
//! the translation of transport failures into statuses.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, Utc};
use ureq::http::{HeaderMap, Response, Uri};
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig, TlsProvider};
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};
use ureq::{Agent, Body, Proxy};

use crate::cancel::CallScope;
use crate::config::{is_loopback_host, Config, HimsaLogLevel, LogSink, ProxySetting};
use crate::error::{Error, HimsaStatus};

/// The API version this library speaks.
const API_VERSION: &str = "1.0";

/// Largest error body read to build a message from.
const ERROR_BODY_CAP: u64 = 16 * 1024;

/// First back-off wait; doubled per attempt up to the configured cap.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// An HTTP method this library uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Post,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// One logical request; every attempt of it is sent identically.
pub(crate) struct Outgoing<'a> {
    pub method: Method,
    /// Path below `{base}/{tenant}/api/`, used in messages too.
    pub route: &'a str,
    pub body: Option<&'a [u8]>,
    /// `X-Idempotent-ID` of a POST, the same for every attempt.
    pub idempotency_id: Option<&'a str>,
}

/// The deprecation notice the service attaches to answers of a version it will retire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deprecation {
    /// `Noah-Sunset-Date` as sent, when present.
    pub sunset_date: Option<String>,
}

/// A successful exchange: a 2xx or 404 answer, read whole.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
    pub deprecation: Option<Deprecation>,
}

/// The HTTP side of a client.
pub(crate) struct Http {
    agent: Agent,
    base: String,
    attempt_timeout: Duration,
    max_retries: u32,
    max_retry_wait: Duration,
    max_answer_bytes: u64,
    log: Option<LogSink>,
}

impl Http {
    /// Builds the agent once; its connection pool and TLS set-up live as long as the client.
    pub(crate) fn new(config: &Config, base: String, tenant: &str) -> Result<Http, Error> {
        let attempt_timeout = config.request_timeout.min(config.overall_timeout);
        let agent_config = Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(config.user_agent.as_str())
            .proxy(proxy(&config.proxy, is_plain_http(&base))?)
            .tls_config(tls_config(&config.extra_ca_pem)?)
            .timeout_connect(Some(config.connect_timeout))
            .timeout_global(Some(attempt_timeout))
            .max_response_header_size(64 * 1024)
            .max_idle_connections(32)
            .max_idle_connections_per_host(32)
            .build();

        Ok(Http {
            agent: Agent::with_parts(
                agent_config,
                DefaultConnector::default(),
                CachedResolver::default(),
            ),
            base: format!("{base}/{tenant}/api/"),
            attempt_timeout,
            max_retries: config.max_retries,
            max_retry_wait: config.max_retry_wait,
            max_answer_bytes: config.max_answer_bytes,
            log: config.log.clone(),
        })
    }

    pub(crate) fn log(&self, level: HimsaLogLevel, message: &str) {
        if let Some(log) = &self.log {
            log(level, message);
        }
    }

    /// Sends `request`, retrying what may be retried, until an answer, a final failure, the
    /// scope's deadline or its cancellation.
    ///
    /// Returns 2xx and 404 answers; every other status becomes an [`Error`].
    pub(crate) fn send(
        &self,
        request: &Outgoing<'_>,
        token: &str,
        scope: CallScope<'_>,
    ) -> Result<Reply, Error> {
        let what = format!("{} {}", request.method.as_str(), request.route);
        let mut attempt = 0u32;
        loop {
            scope.check()?;
            if scope.remaining().is_zero() {
                return Err(Error::new(
                    HimsaStatus::Timeout,
                    format!("{what}: the call's overall deadline passed"),
                ));
            }

            let failure = match self.attempt(request, token, &scope) {
                Ok(reply) => return Ok(reply),
                Err(failure) => failure,
            };
            scope.check()?;

            let wait = match failure.retry {
                Some(wait) if attempt < self.max_retries => wait.min(self.max_retry_wait),
                _ => return Err(failure.error.prefixed(&what)),
            };
            let backoff = FIRST_BACKOFF.saturating_mul(1 << attempt.min(16));
            let wait = wait.max(backoff.min(self.max_retry_wait));
            if wait >= scope.remaining() {
                return Err(failure.error.prefixed(&what));
            }
            attempt += 1;
            self.log(
                HimsaLogLevel::Warn,
                &format!(
                    "{what}: {}; retry {attempt} of {} in {} ms",
                    failure.error.message(),
                    self.max_retries,
                    wait.as_millis()
                ),
            );
            scope.sleep(wait)?;
        }
    }

    /// One attempt. A failure says whether and how soon it may be retried.
    fn attempt(
        &self,
        request: &Outgoing<'_>,
        token: &str,
        scope: &CallScope<'_>,
    ) -> Result<Reply, Failure> {
        let url = format!("{}{}", self.base, request.route);
        let remaining = scope.remaining();
        let authorization = zeroize::Zeroizing::new(format!("Bearer {token}"));

        let sent = match request.method {
            Method::Get => {
                let mut builder = self
                    .agent
                    .get(&url)
                    .header("Authorization", authorization.as_str())
                    .header("X-Api-Version", API_VERSION)
                    .header("Accept", "application/json");
                // A request-level timeout costs a config copy, so only late attempts pay it.
                if remaining < self.attempt_timeout {
                    builder = builder.config().timeout_global(Some(remaining)).build();
                }
                builder.call()
            }
            Method::Post => {
                let mut builder = self
                    .agent
                    .post(&url)
                    .header("Authorization", authorization.as_str())
                    .header("X-Api-Version", API_VERSION)
                    .header("Accept", "application/json")
                    .header("Content-Type", "application/json");
                if let Some(id) = request.idempotency_id {
                    builder = builder.header("X-Idempotent-ID", id);
                }
                if remaining < self.attempt_timeout {
                    builder = builder.config().timeout_global(Some(remaining)).build();
                }
                builder.send(request.body.unwrap_or_default())
            }
        };

        // A server may echo the request back in its error text; the token never leaves
        // this function inside a message.
        let response = sent.map_err(|e| Failure::from_transport(e).redacted(token))?;
        self.read(response)
            .map_err(|failure| failure.redacted(token))
    }

    /// Reads an answer: the body of a 2xx or 404 within the cap, or an error with the
    /// server's own words.
    fn read(&self, mut response: Response<Body>) -> Result<Reply, Failure> {
        let status = response.status().as_u16();
        let deprecation = deprecation(response.headers());
        if (200..300).contains(&status) || status == 404 {
            if let Some(length) = response.body().content_length() {
                if length > self.max_answer_bytes {
                    return Err(Failure::fatal(too_large(self.max_answer_bytes, status)));
                }
            }
            let body = response
                .body_mut()
                .with_config()
                .limit(self.max_answer_bytes)
                .read_to_vec()
                .map_err(|e| match e {
                    ureq::Error::BodyExceedsLimit(_) => {
                        Failure::fatal(too_large(self.max_answer_bytes, status))
                    }
                    other => {
                        let failure = Failure::from_transport(other);
                        Failure {
                            error: failure.error.with_http_status(status),
                            ..failure
                        }
                    }
                })?;
            return Ok(Reply {
                status,
                body,
                deprecation,
            });
        }

        let retry_after = retry_after(response.headers(), DateTime::<Utc>::from(SystemTime::now()));
        let challenge = header_text(response.headers(), "www-authenticate");
        let detail = response
            .body_mut()
            .with_config()
            .limit(ERROR_BODY_CAP)
            .lossy_utf8(true)
            .read_to_string()
            .map(|text| problem_detail(&text))
            .unwrap_or_default();

        let error = Error::new(
            HimsaStatus::from_http(status),
            status_message(status, challenge.as_deref(), &detail),
        )
        .with_http_status(status);
        let retry = match status {
            429 | 502 | 503 | 504 => Some(retry_after.unwrap_or(Duration::ZERO)),
            _ => None,
        };
        Err(Failure { error, retry })
    }
}

/// How long a looked-up address list is reused.
const RESOLVED_TTL: Duration = Duration::from_secs(30);

/// A resolver that reuses the last lookup for a while.
///
/// ureq resolves the host before every request, even one that then takes a kept-alive
/// connection from the pool, and its default resolver runs each lookup that has a timeout
/// on a new thread. Without this cache every call paid for a thread.
///
/// Limitation: a changed DNS record is seen up to [`RESOLVED_TTL`] late.
#[derive(Debug, Default)]
struct CachedResolver {
    lookup: DefaultResolver,
    last: Mutex<Option<(Uri, Instant, ResolvedSocketAddrs)>>,
}

impl Resolver for CachedResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let same_host =
            |cached: &Uri| cached.scheme() == uri.scheme() && cached.authority() == uri.authority();
        if let Some((cached, at, addrs)) =
            &*self.last.lock().unwrap_or_else(PoisonError::into_inner)
        {
            if same_host(cached) && at.elapsed() < RESOLVED_TTL {
                return Ok(addrs.clone());
            }
        }
        let addrs = self.lookup.resolve(uri, config, timeout)?;
        *self.last.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((uri.clone(), Instant::now(), addrs.clone()));
        Ok(addrs)
    }
}

/// A failed attempt, and how soon it may be retried (`None`: it may not).
struct Failure {
    error: Error,
    retry: Option<Duration>,
}

impl Failure {
    fn fatal(error: Error) -> Failure {
        Failure { error, retry: None }
    }

    /// The same failure with every occurrence of `token` in its message replaced.
    fn redacted(self, token: &str) -> Failure {
        // A very short token would match ordinary words; real tokens are far longer.
        if token.len() < 8 || !self.error.message().contains(token) {
            return self;
        }
        let message = self.error.message().replace(token, "<redacted>");
        let error =
            Error::new(self.error.status(), message).with_http_status(self.error.http_status());
        Failure {
            error,
            retry: self.retry,
        }
    }

    /// Translates a transport failure. Connection failures are retried for every method:
    /// a POST always carries its `X-Idempotent-ID`, so the service drops a duplicate.
    fn from_transport(error: ureq::Error) -> Failure {
        use ureq::Error as E;
        let (status, retry, text) = match &error {
            E::Timeout(which) => (HimsaStatus::Timeout, false, format!("timed out ({which})")),
            E::BodyStalled => (HimsaStatus::Timeout, false, "the answer stalled".to_owned()),
            E::HostNotFound => (
                HimsaStatus::Network,
                true,
                "the host name could not be resolved".to_owned(),
            ),
            E::ConnectionFailed => (
                HimsaStatus::Network,
                true,
                "the connection could not be opened".to_owned(),
            ),
            E::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
                (HimsaStatus::Timeout, false, format!("timed out: {io}"))
            }
            E::Io(io) if is_tls_failure(io) => (
                HimsaStatus::Tls,
                false,
                format!("TLS handshake failed: {io}"),
            ),
            E::Io(io) => (
                HimsaStatus::Network,
                true,
                format!("connection failed: {io}"),
            ),
            E::Tls(text) => (HimsaStatus::Tls, false, format!("TLS failed: {text}")),
            E::Rustls(e) => (HimsaStatus::Tls, false, format!("TLS failed: {e}")),
            E::Pem(e) => (HimsaStatus::Tls, false, format!("bad certificate: {e}")),
            E::ConnectProxyFailed(text) => {
                let hint = if text.contains("407") {
                    "; the proxy requires authentication: put user:password in the proxy URL"
                } else {
                    ""
                };
                (
                    HimsaStatus::Proxy,
                    false,
                    format!("proxy failed: {text}{hint}"),
                )
            }
            E::InvalidProxyUrl => (HimsaStatus::Proxy, false, "the proxy URL is invalid".into()),
            E::BodyExceedsLimit(_) | E::LargeResponseHeader(..) => (
                HimsaStatus::AnswerTooLarge,
                false,
                format!("the answer is too large: {error}"),
            ),
            E::Protocol(e) => (
                HimsaStatus::UnreadableAnswer,
                false,
                format!("the answer is not HTTP: {e}"),
            ),
            other => (
                HimsaStatus::Network,
                false,
                format!("request failed: {other}"),
            ),
        };
        let retry = retry.then_some(Duration::ZERO);
        Failure {
            error: Error::new(status, text),
            retry,
        }
    }
}

impl Error {
    /// The same error with the failed request named in front of its message.
    fn prefixed(self, what: &str) -> Error {
        let http_status = self.http_status();
        Error::new(self.status(), format!("{what}: {}", self.message()))
            .with_http_status(http_status)
    }
}

fn too_large(cap: u64, status: u16) -> Error {
    Error::new(
        HimsaStatus::AnswerTooLarge,
        format!("the answer is larger than the cap of {cap} bytes; raise the cap if it is genuine"),
    )
    .with_http_status(status)
}

/// Whether an I/O error is rustls refusing the peer (it reaches ureq wrapped in I/O).
fn is_tls_failure(io: &std::io::Error) -> bool {
    io.get_ref()
        .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some())
}

/// A message for an HTTP error: what the status means here and what to do, plus the
/// server's own words when it gave any.
fn status_message(status: u16, challenge: Option<&str>, detail: &str) -> String {
    let meaning = match status {
        400 => "the service found the request malformed".to_owned(),
        401 => {
            let why = challenge.and_then(bearer_error).unwrap_or_default();
            format!(
                "the access token was refused{why}; get a new token from the identity \
                 provider and set it on the connection"
            )
        }
        403 => "the token lacks the scope noah.cloud.app.users.api or the app is not \
                allowed in this tenant"
            .to_owned(),
        404 => "the service found no such resource".to_owned(),
        407 => "the proxy requires authentication".to_owned(),
        429 => "the service asked to slow down and retries ran out".to_owned(),
        500..=599 => format!("the service failed ({status})"),
        100..=199 | 300..=399 => format!(
            "the service answered an unexpected {status} (this library follows no redirects; \
             check the base URL)"
        ),
        _ => format!("the service answered {status}"),
    };
    if detail.is_empty() {
        format!("{meaning} (HTTP {status})")
    } else {
        format!("{meaning} (HTTP {status}): {detail}")
    }
}

/// `error` and `error_description` of a Bearer challenge, as ` (invalid_token: ...)`.
fn bearer_error(challenge: &str) -> Option<String> {
    let value_of = |key: &str| {
        let start = challenge.find(&format!("{key}=\""))? + key.len() + 2;
        let rest = &challenge[start..];
        Some(rest[..rest.find('"')?].to_owned())
    };
    let error = clip(&value_of("error")?, 100);
    Some(match value_of("error_description") {
        Some(description) => format!(" ({error}: {})", clip(&description, 300)),
        None => format!(" ({error})"),
    })
}

/// The useful words of an error body: a problem's `detail`/`title`/`message`, or the start
/// of plain text. HTML pages from proxies and gateways are named as such, not quoted.
fn problem_detail(body: &str) -> String {
    let trimmed = body.trim();
    if trimmed.is_empty() {
        return String::new();
    }
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(trimmed) {
        for key in ["detail", "title", "message", "error_description", "error"] {
            let found = map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key));
            if let Some((_, serde_json::Value::String(text))) = found {
                return clip(text, 300);
            }
        }
    }
    if trimmed.starts_with('<') {
        return "the answer is an HTML page, probably from a proxy or gateway".to_owned();
    }
    clip(trimmed, 300)
}

/// At most `max` characters of `text` on one line.
fn clip(text: &str, max: usize) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect();
    if text.chars().count() > max {
        format!("{one_line}...")
    } else {
        one_line
    }
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name)?.to_str().ok().map(str::to_owned)
}

/// The deprecation notice of an answer, if it carries `Noah-Deprecated: true`.
fn deprecation(headers: &HeaderMap) -> Option<Deprecation> {
    let flag = header_text(headers, "noah-deprecated")?;
    if !flag.trim().eq_ignore_ascii_case("true") {
        return None;
    }
    Some(Deprecation {
        sunset_date: header_text(headers, "noah-sunset-date"),
    })
}

/// `Retry-After` as a wait: delay-seconds or an HTTP date (a date in the past is no wait).
pub(crate) fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let text = header_text(headers, "retry-after")?;
    let text = text.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = DateTime::parse_from_rfc2822(text).ok()?;
    Some(
        (date.with_timezone(&Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

fn is_plain_http(url: &str) -> bool {
    url.get(..7)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("http://"))
}

/// The proxy for a base URL. A plain `http://` base (loopback only) never takes a proxy
/// from the environment, and only a loopback proxy from configuration: the token travels
/// unencrypted there and must not leave the machine.
fn proxy(setting: &ProxySetting, plain_http: bool) -> Result<Option<Proxy>, Error> {
    match setting {
        ProxySetting::FromEnvironment if plain_http => Ok(None),
        ProxySetting::FromEnvironment => Ok(Proxy::try_from_env()),
        ProxySetting::Direct => Ok(None),
        ProxySetting::Url(url) => {
            let proxy = Proxy::new(url).map_err(|_| {
                Error::invalid("proxy URL is invalid; expected for example http://proxy:3128")
            })?;
            if plain_http && !is_loopback_host(proxy.host()) {
                return Err(Error::invalid(
                    "a plain http:// base_url may only go through a proxy on this machine: \
                     the token would cross the network unencrypted",
                ));
            }
            Ok(Some(proxy))
        }
    }
}

/// The operating system's verifier, or with extra CAs the system's roots plus those.
fn tls_config(extra_ca_pem: &[String]) -> Result<TlsConfig, Error> {
    let builder = TlsConfig::builder().provider(TlsProvider::Rustls);
    if extra_ca_pem.is_empty() {
        return Ok(builder.root_certs(RootCerts::PlatformVerifier).build());
    }

    let mut roots: Vec<Certificate<'static>> = rustls_native_certs::load_native_certs()
        .certs
        .iter()
        .map(|der| Certificate::from_der(der.as_ref()).to_owned())
        .collect();
    for (index, pem) in extra_ca_pem.iter().enumerate() {
        let before = roots.len();
        for item in ureq::tls::parse_pem(pem.as_bytes()) {
            match item {
                Ok(PemItem::Certificate(cert)) => roots.push(cert),
                Ok(_) => {}
                Err(e) => {
                    return Err(Error::invalid(format!(
                        "extra CA #{index} is not valid PEM: {e}"
                    )))
                }
            }
        }
        if roots.len() == before {
            return Err(Error::invalid(format!(
                "extra CA #{index} holds no PEM certificate"
            )));
        }
    }
    Ok(builder
        .root_certs(RootCerts::Specific(Arc::new(roots)))
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ureq::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn retry_after_forms() {
        let now = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .to_utc();
        let table: &[(&str, Option<u64>)] = &[
            ("3", Some(3)),
            (" 0 ", Some(0)),
            ("Thu, 01 Jan 2026 00:00:07 GMT", Some(7)),
            ("Wed, 31 Dec 2025 23:00:00 GMT", Some(0)),
            ("soon", None),
            ("-1", None),
            ("1.5", None),
        ];
        for (text, expected) in table {
            let got = retry_after(&headers(&[("retry-after", text)]), now);
            assert_eq!(got, expected.map(Duration::from_secs), "{text}");
        }
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn deprecation_headers() {
        let both = headers(&[
            ("noah-deprecated", "True"),
            ("noah-sunset-date", "2027-01-01"),
        ]);
        assert_eq!(
            deprecation(&both),
            Some(Deprecation {
                sunset_date: Some("2027-01-01".into())
            })
        );
        assert_eq!(deprecation(&headers(&[("noah-deprecated", "false")])), None);
        assert_eq!(deprecation(&HeaderMap::new()), None);
    }

    #[test]
    fn messages_carry_the_servers_words() {
        let json = r#"{"title":"Bad","detail":"userAccountAccessLevel is missing"}"#;
        assert_eq!(problem_detail(json), "userAccountAccessLevel is missing");
        assert!(problem_detail("<html><body>502</body></html>").contains("HTML"));
        assert_eq!(problem_detail(""), "");
        assert_eq!(problem_detail(&"x".repeat(1000)).len(), 303);

        let challenge = r#"Bearer error="invalid_token", error_description="expired""#;
        let text = status_message(401, Some(challenge), "");
        assert!(text.contains("(invalid_token: expired)"), "{text}");
        assert!(text.contains("HTTP 401"));
        assert!(status_message(503, None, "down").ends_with("(HTTP 503): down"));
    }

    #[test]
    fn failures_never_carry_the_token() {
        let token = "eyJ0eXAiOiJKV1QiLCJhbGciOi.secret";
        let failure = Failure {
            error: Error::new(
                HimsaStatus::BadRequest,
                format!("echo: Bearer {token}; {token}"),
            )
            .with_http_status(400),
            retry: None,
        };
        let redacted = failure.redacted(token);
        assert_eq!(
            redacted.error.message(),
            "echo: Bearer <redacted>; <redacted>"
        );
        assert_eq!(redacted.error.http_status(), 400);

        let challenge = format!(
            r#"Bearer error="invalid_token", error_description="{}""#,
            "x".repeat(5000)
        );
        assert!(bearer_error(&challenge).unwrap().len() < 420);
    }

    #[test]
    fn plain_http_takes_no_proxy_from_the_environment() {
        assert!(proxy(&ProxySetting::FromEnvironment, true)
            .unwrap()
            .is_none());
        let local = ProxySetting::Url("http://127.0.0.1:3128".into());
        assert!(proxy(&local, true).unwrap().is_some());
        let remote = ProxySetting::Url("http://proxy.example:3128".into());
        assert_eq!(
            proxy(&remote, true).unwrap_err().status(),
            HimsaStatus::InvalidArgument
        );
        assert!(proxy(&remote, false).unwrap().is_some());
        assert!(is_plain_http("HTTP://127.0.0.1:1") && !is_plain_http("https://a"));
    }

    #[test]
    fn extra_ca_must_be_pem() {
        let err = tls_config(&["not a certificate".into()]).unwrap_err();
        assert_eq!(err.status(), HimsaStatus::InvalidArgument);
        assert!(err.message().contains("extra CA #0"));
    }
}
