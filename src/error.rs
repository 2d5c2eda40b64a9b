//! Status codes and the error type shared by the Rust API and the C ABI.

use std::fmt;

/// Outcome of a call, with numbers that never change.
///
/// The numbers are grouped in bands: `0`/`1` are normal results, the 100s are the caller's
/// mistakes, the 200s the network's, the 300s unreadable answers, the 400s and 500s repeat
/// the HTTP status the service answered, 600 is cancellation and 900 the library's own
/// fault. A number is never reused for another meaning once released.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HimsaStatus {
    /// The call succeeded.
    Ok = 0,
    /// The app was never connected in this tenant (the service answered 404 to the current
    /// data access). A normal state, not a failure: the app should ask for access.
    NeverConnected = 1,
    /// An argument is NULL, empty, out of range or malformed.
    InvalidArgument = 100,
    /// A string argument is not valid UTF-8.
    InvalidUtf8 = 101,
    /// The service could not be reached, or the connection broke.
    Network = 200,
    /// A timeout or the call's overall deadline ran out.
    Timeout = 201,
    /// The TLS handshake failed, for example because the certificate is not trusted.
    Tls = 202,
    /// The proxy refused the connection or asked for authentication (407).
    Proxy = 203,
    /// The answer is not the JSON that was expected, or has an unexpected HTTP status (1xx,
    /// 3xx: no redirect is followed). Also returned by the planner when the current access
    /// could not be read whole, so that a request could drop access held.
    UnreadableAnswer = 300,
    /// The answer is larger than the configured cap.
    AnswerTooLarge = 301,
    /// The service answered 400: it found the request malformed.
    BadRequest = 400,
    /// The service answered 401: the access token is missing, expired or invalid.
    Unauthorized = 401,
    /// The service answered 403: the token lacks the scope or the app is not allowed.
    Forbidden = 403,
    /// The service answered 404 where a resource was expected.
    NotFound = 404,
    /// The service answered 409.
    Conflict = 409,
    /// The service answered 429 and retries did not get through in time.
    RateLimited = 429,
    /// The service answered another 4xx status.
    HttpClientError = 499,
    /// The service answered a 5xx status and retries did not get through in time.
    ServerError = 500,
    /// The call was cancelled with `himsa_conn_cancel`.
    Cancelled = 600,
    /// A fault inside the library (a caught panic). Please report it.
    Internal = 900,
}

impl HimsaStatus {
    /// Every status, in numeric order.
    pub const ALL: [HimsaStatus; 20] = [
        HimsaStatus::Ok,
        HimsaStatus::NeverConnected,
        HimsaStatus::InvalidArgument,
        HimsaStatus::InvalidUtf8,
        HimsaStatus::Network,
        HimsaStatus::Timeout,
        HimsaStatus::Tls,
        HimsaStatus::Proxy,
        HimsaStatus::UnreadableAnswer,
        HimsaStatus::AnswerTooLarge,
        HimsaStatus::BadRequest,
        HimsaStatus::Unauthorized,
        HimsaStatus::Forbidden,
        HimsaStatus::NotFound,
        HimsaStatus::Conflict,
        HimsaStatus::RateLimited,
        HimsaStatus::HttpClientError,
        HimsaStatus::ServerError,
        HimsaStatus::Cancelled,
        HimsaStatus::Internal,
    ];

    /// The status for a number, or `None` for a number that is not a status.
    pub fn from_u32(n: u32) -> Option<HimsaStatus> {
        HimsaStatus::ALL.iter().copied().find(|s| *s as u32 == n)
    }

    /// The status for an HTTP status that is not a success. A 1xx, 3xx or out-of-range
    /// final answer is not what this API gives, so it counts as an unreadable answer.
    pub fn from_http(code: u16) -> HimsaStatus {
        match code {
            400 => HimsaStatus::BadRequest,
            401 => HimsaStatus::Unauthorized,
            403 => HimsaStatus::Forbidden,
            404 => HimsaStatus::NotFound,
            407 => HimsaStatus::Proxy,
            409 => HimsaStatus::Conflict,
            429 => HimsaStatus::RateLimited,
            _ if (400..500).contains(&code) => HimsaStatus::HttpClientError,
            _ if (500..600).contains(&code) => HimsaStatus::ServerError,
            _ => HimsaStatus::UnreadableAnswer,
        }
    }

    /// A NUL-terminated, static description: the status name, a colon and its meaning.
    pub fn text(self) -> &'static str {
        match self {
            HimsaStatus::Ok => "OK: the call succeeded\0",
            HimsaStatus::NeverConnected => {
                "NEVER_CONNECTED: the app was never connected in this tenant\0"
            }
            HimsaStatus::InvalidArgument => {
                "INVALID_ARGUMENT: an argument is null, empty, out of range or malformed\0"
            }
            HimsaStatus::InvalidUtf8 => "INVALID_UTF8: a string argument is not valid UTF-8\0",
            HimsaStatus::Network => "NETWORK: the service could not be reached\0",
            HimsaStatus::Timeout => "TIMEOUT: a timeout or the call's deadline ran out\0",
            HimsaStatus::Tls => "TLS: the TLS handshake failed\0",
            HimsaStatus::Proxy => "PROXY: the proxy refused the connection\0",
            HimsaStatus::UnreadableAnswer => {
                "UNREADABLE_ANSWER: the answer is not the JSON that was expected\0"
            }
            HimsaStatus::AnswerTooLarge => {
                "ANSWER_TOO_LARGE: the answer is larger than the configured cap\0"
            }
            HimsaStatus::BadRequest => "BAD_REQUEST: the service found the request malformed\0",
            HimsaStatus::Unauthorized => {
                "UNAUTHORIZED: the access token is missing, expired or invalid\0"
            }
            HimsaStatus::Forbidden => "FORBIDDEN: the token or the app is not allowed this\0",
            HimsaStatus::NotFound => "NOT_FOUND: the service found no such resource\0",
            HimsaStatus::Conflict => "CONFLICT: the service answered 409\0",
            HimsaStatus::RateLimited => "RATE_LIMITED: the service asked to slow down (429)\0",
            HimsaStatus::HttpClientError => "HTTP_CLIENT_ERROR: the service answered a 4xx\0",
            HimsaStatus::ServerError => "SERVER_ERROR: the service answered a 5xx\0",
            HimsaStatus::Cancelled => "CANCELLED: the call was cancelled\0",
            HimsaStatus::Internal => "INTERNAL: a fault inside the library\0",
        }
    }

    /// The description of [`HimsaStatus::text`] without its terminating NUL.
    pub fn description(self) -> &'static str {
        self.text().trim_end_matches('\0')
    }
}

/// A failed call: its status, the HTTP status when the service answered, and a message
/// that names what failed and what to do about it. Never contains the access token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    status: HimsaStatus,
    http_status: u16,
    message: String,
}

impl Error {
    /// An error with a status and a message, and no HTTP status.
    pub fn new(status: HimsaStatus, message: impl Into<String>) -> Error {
        Error {
            status,
            http_status: 0,
            message: message.into(),
        }
    }

    /// The same error, carrying the HTTP status the service answered.
    pub fn with_http_status(mut self, http_status: u16) -> Error {
        self.http_status = http_status;
        self
    }

    /// Shorthand for an [`HimsaStatus::InvalidArgument`] error.
    pub fn invalid(message: impl Into<String>) -> Error {
        Error::new(HimsaStatus::InvalidArgument, message)
    }

    /// The status of the failure.
    pub fn status(&self) -> HimsaStatus {
        self.status
    }

    /// The HTTP status the service answered, or 0 when no answer was received.
    pub fn http_status(&self) -> u16 {
        self.http_status
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_and_are_unique() {
        for status in HimsaStatus::ALL {
            assert_eq!(HimsaStatus::from_u32(status as u32), Some(status));
        }
        let mut numbers: Vec<u32> = HimsaStatus::ALL.iter().map(|s| *s as u32).collect();
        numbers.dedup();
        assert_eq!(
            numbers.len(),
            HimsaStatus::ALL.len(),
            "ALL must be sorted and unique"
        );
        assert!(numbers.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(HimsaStatus::from_u32(2), None);
        assert_eq!(HimsaStatus::from_u32(u32::MAX), None);
    }

    #[test]
    fn texts_are_nul_terminated_and_named() {
        for status in HimsaStatus::ALL {
            let text = status.text();
            assert!(text.ends_with('\0'));
            assert_eq!(text.matches('\0').count(), 1);
            let name = text.split(':').next().unwrap();
            assert_eq!(name, name.to_ascii_uppercase());
            assert!(!status.description().ends_with('\0'));
        }
    }

    #[test]
    fn http_statuses_map_to_their_band() {
        let table = [
            (400, HimsaStatus::BadRequest),
            (401, HimsaStatus::Unauthorized),
            (403, HimsaStatus::Forbidden),
            (404, HimsaStatus::NotFound),
            (407, HimsaStatus::Proxy),
            (409, HimsaStatus::Conflict),
            (418, HimsaStatus::HttpClientError),
            (429, HimsaStatus::RateLimited),
            (500, HimsaStatus::ServerError),
            (502, HimsaStatus::ServerError),
            (504, HimsaStatus::ServerError),
            (101, HimsaStatus::UnreadableAnswer),
            (302, HimsaStatus::UnreadableAnswer),
            (999, HimsaStatus::UnreadableAnswer),
        ];
        for (code, status) in table {
            assert_eq!(HimsaStatus::from_http(code), status, "{code}");
        }
    }
}
