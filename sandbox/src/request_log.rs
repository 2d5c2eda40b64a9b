//! The record of every request the sandbox answered.

use crate::faults::Fault;

/// One request as the sandbox received and answered it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedRequest {
    /// The HTTP method.
    pub method: String,
    /// The request target as sent, query included.
    pub path: String,
    /// Every header in the order received; the `Authorization` value of a bearer token reads
    /// `Bearer <redacted>` so that logs never hold tokens.
    pub headers: Vec<(String, String)>,
    /// The `X-Idempotent-ID` header, if sent.
    pub idempotency_id: Option<String>,
    /// The TCP connection the request came on: 1 for the first connection the sandbox
    /// accepted, 2 for the next, and so on.
    pub connection_id: u64,
    /// The status of the answer (the announced one, for answers a fault cut short).
    pub status: u16,
    /// The fault applied to this request, if any.
    pub fault: Option<Fault>,
}

impl LoggedRequest {
    /// The first value of a header, matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The logged form of a header value.
pub(crate) fn redact(name: &str, value: &str) -> String {
    if !name.eq_ignore_ascii_case("Authorization") {
        return value.to_owned();
    }
    match value.split_once(' ') {
        Some((scheme, _)) => format!("{scheme} <redacted>"),
        None => "<redacted>".to_owned(),
    }
}
