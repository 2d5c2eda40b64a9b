//! HTTP/1.1 on a TCP stream: reading requests and writing answers.
//!
//! The sandbox speaks HTTP itself rather than through a server crate because its faults need
//! the raw socket: closing it mid-answer, after an answer, or trickling bytes into it.

use std::io::{self, BufRead, Read, Write};
use std::time::SystemTime;

/// Longest request line or header line accepted; tokens may be several kilobytes.
const MAX_LINE: usize = 64 * 1024;
/// Most header lines accepted in one request.
const MAX_HEADERS: usize = 100;
/// Largest request body accepted.
const MAX_BODY: usize = 1024 * 1024;

/// One parsed request.
#[derive(Debug)]
pub(crate) struct HttpRequest {
    pub(crate) method: String,
    pub(crate) target: String,
    pub(crate) http10: bool,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl HttpRequest {
    /// The first value of a header, matched case-insensitively.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The path without the query.
    pub(crate) fn path(&self) -> &str {
        self.target.split(['?', '#']).next().unwrap_or("")
    }

    /// Whether the client asked to close the connection after this request.
    pub(crate) fn wants_close(&self) -> bool {
        let connection = self.header("Connection").unwrap_or("").to_ascii_lowercase();
        if self.http10 {
            !connection.contains("keep-alive")
        } else {
            connection.contains("close")
        }
    }
}

/// A request that cannot be served; the connection is closed after the answer.
#[derive(Debug)]
pub(crate) struct BadRequest {
    pub(crate) status: u16,
    pub(crate) detail: String,
}

/// Why no request was read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The client closed the connection, or the socket failed.
    Closed,
    /// The bytes were not an acceptable HTTP request.
    Bad(BadRequest),
}

impl From<io::Error> for ReadError {
    fn from(_: io::Error) -> ReadError {
        ReadError::Closed
    }
}

fn bad(status: u16, detail: &str) -> ReadError {
    ReadError::Bad(BadRequest {
        status,
        detail: detail.to_owned(),
    })
}

/// Reads one CRLF- or LF-terminated line without its terminator. `Ok(None)` means the
/// stream ended before any byte of the line.
fn read_line(reader: &mut impl BufRead) -> Result<Option<String>, ReadError> {
    let mut line = Vec::new();
    let read = reader
        .by_ref()
        .take(MAX_LINE as u64 + 1)
        .read_until(b'\n', &mut line)?;
    if read == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        if line.len() > MAX_LINE {
            return Err(bad(431, "a request line or header line is too long"));
        }
        return Err(ReadError::Closed);
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    String::from_utf8(line)
        .map(Some)
        .map_err(|_| bad(400, "the request head is not valid UTF-8"))
}

/// Reads the next request. `Ok(None)` means the client closed the connection between
/// requests. `interim` receives the `100 Continue` answer when the client waits for it.
pub(crate) fn read_request(
    reader: &mut impl BufRead,
    interim: &mut impl Write,
) -> Result<Option<HttpRequest>, ReadError> {
    // Tolerate empty lines between requests, as RFC 9112 asks servers to.
    let request_line = loop {
        match read_line(reader)? {
            None => return Ok(None),
            Some(line) if line.is_empty() => continue,
            Some(line) => break line,
        }
    };
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad(400, "malformed request line"));
    };
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        _ => return Err(bad(505, "only HTTP/1.0 and HTTP/1.1 are supported")),
    };
    let mut headers = Vec::new();
    loop {
        let line = read_line(reader)?.ok_or(ReadError::Closed)?;
        if line.is_empty() {
            break;
        }
        if headers.len() == MAX_HEADERS {
            return Err(bad(431, "too many header lines"));
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| bad(400, "malformed header"))?;
        if name.is_empty() || name.trim() != name {
            return Err(bad(400, "malformed header name"));
        }
        headers.push((name.to_owned(), value.trim().to_owned()));
    }
    let mut request = HttpRequest {
        method: method.to_owned(),
        target: target.to_owned(),
        http10,
        headers,
        body: Vec::new(),
    };
    let chunked = request
        .header("Transfer-Encoding")
        .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
    let length = match request.header("Content-Length") {
        Some(text) => Some(
            text.parse::<usize>()
                .map_err(|_| bad(400, "Content-Length is not a number"))?,
        ),
        None => None,
    };
    if length.unwrap_or(0) > MAX_BODY {
        return Err(bad(413, "the request body is too large"));
    }
    if (chunked || length.unwrap_or(0) > 0)
        && request
            .header("Expect")
            .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
    {
        interim.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        interim.flush()?;
    }
    if chunked {
        request.body = read_chunked(reader)?;
    } else if let Some(length) = length {
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        request.body = body;
    }
    Ok(Some(request))
}

fn read_chunked(reader: &mut impl BufRead) -> Result<Vec<u8>, ReadError> {
    let mut body = Vec::new();
    loop {
        let line = read_line(reader)?.ok_or(ReadError::Closed)?;
        let size_text = line.split(';').next().unwrap_or("").trim();
        let size =
            usize::from_str_radix(size_text, 16).map_err(|_| bad(400, "malformed chunk size"))?;
        if size == 0 {
            // Trailer lines end with an empty line.
            while !read_line(reader)?.ok_or(ReadError::Closed)?.is_empty() {}
            return Ok(body);
        }
        if body.len() + size > MAX_BODY {
            return Err(bad(413, "the request body is too large"));
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        if !read_line(reader)?.ok_or(ReadError::Closed)?.is_empty() {
            return Err(bad(400, "malformed chunk"));
        }
    }
}

/// The reason phrase of a status code.
pub(crate) fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Status",
    }
}

/// How the length of a body is told to the client.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Framing {
    /// `Content-Length: n`.
    Length(usize),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// The status line and headers of an answer, ending with the empty line.
pub(crate) fn head(
    status: u16,
    headers: &[(String, String)],
    framing: Framing,
    close: bool,
) -> Vec<u8> {
    let mut text = format!(
        "HTTP/1.1 {status} {}\r\nDate: {}\r\nServer: himsa-sandbox\r\n",
        reason(status),
        httpdate::fmt_http_date(SystemTime::now())
    );
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    match framing {
        Framing::Length(n) => text.push_str(&format!("Content-Length: {n}\r\n")),
        Framing::Chunked => text.push_str("Transfer-Encoding: chunked\r\n"),
    }
    if close {
        text.push_str("Connection: close\r\n");
    }
    text.push_str("\r\n");
    text.into_bytes()
}
