//! A small HTTP/1.1 client over `std::net::TcpStream` for the sandbox tests: keep-alive,
//! Content-Length and chunked answers, and raw access for answers that break the rules.

// Each test file uses a different part of this module.
#![allow(dead_code)]

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::Value;

pub const TIMEOUT: Duration = Duration::from_secs(10);

/// One answer.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// `http://127.0.0.1:1234` -> `127.0.0.1:1234`.
pub fn addr_of(base_url: &str) -> SocketAddr {
    base_url
        .strip_prefix("http://")
        .expect("http base URL")
        .trim_end_matches('/')
        .parse()
        .expect("socket address")
}

/// The path part of a URL on the sandbox.
pub fn path_of(url: &str) -> String {
    let rest = url.strip_prefix("http://").expect("http URL");
    rest[rest.find('/').expect("a path")..].to_owned()
}

/// Headers every API request carries.
pub fn api_headers(token: &str) -> Vec<(String, String)> {
    vec![
        ("Authorization".into(), format!("Bearer {token}")),
        ("X-Api-Version".into(), "1.0".into()),
        ("Accept".into(), "application/json".into()),
    ]
}

/// Headers of a POST of an AppConnectionRequest.
pub fn post_headers(token: &str, idempotent_id: &str) -> Vec<(String, String)> {
    let mut headers = api_headers(token);
    headers.push(("Content-Type".into(), "application/json".into()));
    headers.push(("X-Idempotent-ID".into(), idempotent_id.into()));
    headers
}

pub fn read_line(reader: &mut impl BufRead) -> io::Result<String> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "closed"));
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Reads a status line and headers.
pub fn read_head(reader: &mut impl BufRead) -> io::Result<(u16, Vec<(String, String)>)> {
    let status_line = read_line(reader)?;
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, status_line.clone()))?;
    let mut headers = Vec::new();
    loop {
        let line = read_line(reader)?;
        if line.is_empty() {
            return Ok((status, headers));
        }
        let (name, value) = line.split_once(':').expect("header line");
        headers.push((name.to_owned(), value.trim().to_owned()));
    }
}

fn read_body(reader: &mut impl BufRead, headers: &[(String, String)]) -> io::Result<Vec<u8>> {
    let find = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    if find("Transfer-Encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        let mut body = Vec::new();
        loop {
            let size = usize::from_str_radix(read_line(reader)?.trim(), 16).expect("chunk size");
            if size == 0 {
                while !read_line(reader)?.is_empty() {}
                return Ok(body);
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..])?;
            assert_eq!(read_line(reader)?, "", "chunk end");
        }
    }
    match find("Content-Length") {
        Some(length) => {
            let mut body = vec![0; length.parse().expect("length")];
            reader.read_exact(&mut body)?;
            Ok(body)
        }
        None => {
            let mut body = Vec::new();
            reader.read_to_end(&mut body)?;
            Ok(body)
        }
    }
}

/// Writes one request.
pub fn write_request(
    stream: &mut TcpStream,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> io::Result<()> {
    let mut text = format!("{method} {path} HTTP/1.1\r\nHost: sandbox\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        text.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    text.push_str("\r\n");
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(body);
    stream.write_all(&bytes)
}

pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect to the sandbox");
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream
}

/// A keep-alive client: one TCP connection reused until the server closes it.
pub struct Client {
    addr: SocketAddr,
    conn: Option<BufReader<TcpStream>>,
}

impl Client {
    pub fn new(base_url: &str) -> Client {
        Client {
            addr: addr_of(base_url),
            conn: None,
        }
    }

    /// Sends a request on the open connection, or a new one if there is none.
    pub fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> io::Result<Resp> {
        let mut reader = match self.conn.take() {
            Some(reader) => reader,
            None => BufReader::new(connect(self.addr)),
        };
        write_request(reader.get_mut(), method, path, headers, body)?;
        let (status, headers) = read_head(&mut reader)?;
        let body = read_body(&mut reader, &headers)?;
        let closing = headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case("Connection") && v.eq_ignore_ascii_case("close"));
        if !closing {
            self.conn = Some(reader);
        }
        Ok(Resp {
            status,
            headers,
            body,
        })
    }

    pub fn get(&mut self, path: &str, headers: &[(String, String)]) -> Resp {
        self.send("GET", path, headers, b"").expect("GET")
    }

    pub fn post(&mut self, path: &str, headers: &[(String, String)], body: &str) -> Resp {
        self.send("POST", path, headers, body.as_bytes())
            .expect("POST")
    }

    /// Forgets the open connection so the next request opens a new one.
    pub fn disconnect(&mut self) {
        self.conn = None;
    }

    /// Whether the server has closed the kept connection (reads end of stream at once).
    pub fn server_closed(&mut self) -> bool {
        let Some(reader) = self.conn.as_mut() else {
            return true;
        };
        reader
            .get_ref()
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let mut byte = [0u8; 1];
        let closed = matches!(reader.read(&mut byte), Ok(0) | Err(_));
        reader.get_ref().set_read_timeout(Some(TIMEOUT)).unwrap();
        closed
    }
}

/// Paths of the API for a tenant.
pub fn current_path(tenant: &str) -> String {
    format!("/{tenant}/api/AppConnection/GetCurrentDataAccess")
}

pub fn connection_path(tenant: &str) -> String {
    format!("/{tenant}/api/AppConnection")
}

/// A fresh tenant GUID, so that tests sharing a sandbox do not meet.
pub fn new_tenant() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The `access` value of the entry named `name` under `name_key` in a list.
pub fn access_of<'a>(list: &'a Value, name_key: &str, name: &Value) -> Option<&'a str> {
    list.as_array()?
        .iter()
        .find(|e| &e[name_key] == name)
        .and_then(|e| e.get("access").or_else(|| e.get("Access")))
        .and_then(Value::as_str)
}

/// Checks the .NET timestamp form: `2023-04-04T19:17:22.0751316Z`.
pub fn assert_dotnet_timestamp(text: &str) {
    let bytes = text.as_bytes();
    assert_eq!(bytes.len(), 28, "{text}");
    for (i, b) in bytes.iter().enumerate() {
        let expected = match i {
            4 | 7 => Some(b'-'),
            10 => Some(b'T'),
            13 | 16 => Some(b':'),
            19 => Some(b'.'),
            27 => Some(b'Z'),
            _ => None,
        };
        match expected {
            Some(e) => assert_eq!(*b, e, "{text}"),
            None => assert!(b.is_ascii_digit(), "{text}"),
        }
    }
}
