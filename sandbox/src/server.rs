//! The running server: shared state, one thread per TCP connection, faults on the way out.

use std::collections::HashMap;
use std::io::{BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use crate::access::AppRecord;
use crate::answer::{Answer, HTML, JSON};
use crate::api::{self, Casing, Target};
use crate::config::{AutoDecide, TokenGrant};
use crate::faults::{ArmedFault, Fault, Route};
use crate::portal;
use crate::request_log::{redact, LoggedRequest};
use crate::wire::{self, Framing, HttpRequest, ReadError};

/// Body length announced by [`Fault::Trickle`]: far more than any client waits for.
const TRICKLE_LENGTH: usize = 1 << 30;
/// Size of the pieces of generated bodies.
const PIECE: usize = 64 * 1024;

/// Settings fixed at start.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) pascal_case: bool,
    pub(crate) auto_decide: Option<AutoDecide>,
    pub(crate) deprecated_sunset: Option<String>,
    pub(crate) base_url: String,
}

impl Settings {
    pub(crate) fn portal_url(&self, tenant: &str, connection_id: &str) -> String {
        format!("{}/portal/{tenant}/{connection_id}", self.base_url)
    }
}

/// Everything that changes while the sandbox runs.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) tokens: Vec<TokenGrant>,
    /// Records by tenant, then by app id.
    pub(crate) tenants: HashMap<String, HashMap<String, AppRecord>>,
    pub(crate) faults: Vec<ArmedFault>,
    pub(crate) log: Vec<LoggedRequest>,
}

impl State {
    pub(crate) fn record_mut(&mut self, tenant: &str, app_id: &str) -> Option<&mut AppRecord> {
        self.tenants.get_mut(tenant)?.get_mut(app_id)
    }

    pub(crate) fn record_or_new(&mut self, tenant: &str, app_id: &str) -> &mut AppRecord {
        self.tenants
            .entry(tenant.to_owned())
            .or_default()
            .entry(app_id.to_owned())
            .or_insert_with(AppRecord::new)
    }

    /// The app id and record holding a connection.
    pub(crate) fn find_connection(
        &mut self,
        tenant: &str,
        connection_id: &str,
    ) -> Option<(String, &mut AppRecord)> {
        self.tenants
            .get_mut(tenant)?
            .iter_mut()
            .find(|(_, record)| record.index_of(connection_id).is_some())
            .map(|(app, record)| (app.clone(), record))
    }

    /// Uses up one application of the first armed fault matching the route.
    fn take_fault(&mut self, route: Option<Route>) -> Option<Fault> {
        let armed = self
            .faults
            .iter_mut()
            .find(|a| a.times > 0 && (a.route == Route::Any || Some(a.route) == route))?;
        armed.times -= 1;
        let fault = armed.fault.clone();
        self.faults.retain(|a| a.times > 0);
        Some(fault)
    }
}

/// What the sandbox object and the server threads share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) settings: Settings,
    state: Mutex<State>,
    stopping: AtomicBool,
    opened: AtomicUsize,
    /// Clones of the open sockets, to close them on stop.
    live: Mutex<HashMap<u64, TcpStream>>,
    next_connection: AtomicU64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in one connection thread must not take the whole sandbox down with it.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    pub(crate) fn new(settings: Settings, state: State) -> Shared {
        Shared {
            settings,
            state: Mutex::new(state),
            stopping: AtomicBool::new(false),
            opened: AtomicUsize::new(0),
            live: Mutex::new(HashMap::new()),
            next_connection: AtomicU64::new(1),
        }
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    pub(crate) fn connections_opened(&self) -> usize {
        self.opened.load(Ordering::SeqCst)
    }

    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    pub(crate) fn begin_stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    /// Closes every open connection; called once the accept loop has ended.
    pub(crate) fn close_all(&self) {
        for stream in lock(&self.live).values() {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    /// Sleeps, waking early when the sandbox stops.
    fn sleep(&self, duration: Duration) {
        let end = Instant::now() + duration;
        while !self.stopping() {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            thread::sleep(left.min(Duration::from_millis(20)));
        }
    }
}

/// Accepts connections until the sandbox stops.
pub(crate) fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    for stream in listener.incoming() {
        if shared.stopping() {
            break;
        }
        let Ok(stream) = stream else {
            // Out of descriptors or a connection reset before accept: wait a little.
            thread::sleep(Duration::from_millis(10));
            continue;
        };
        shared.opened.fetch_add(1, Ordering::SeqCst);
        let id = shared.next_connection.fetch_add(1, Ordering::SeqCst);
        if let Ok(clone) = stream.try_clone() {
            lock(&shared.live).insert(id, clone);
        }
        let connection_shared = Arc::clone(&shared);
        let spawned = thread::Builder::new()
            .name(format!("sandbox-conn-{id}"))
            .spawn(move || {
                serve_connection(&connection_shared, stream, id);
                lock(&connection_shared.live).remove(&id);
            });
        if spawned.is_err() {
            if let Some(stream) = lock(&shared.live).remove(&id) {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
    }
}

fn serve_connection(shared: &Shared, stream: TcpStream, connection_id: u64) {
    let _ = stream.set_nodelay(true);
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;
    while !shared.stopping() {
        match wire::read_request(&mut reader, &mut writer) {
            Ok(Some(request)) => {
                let keep_open = respond(shared, &request, &mut writer, connection_id);
                if !keep_open || request.wants_close() {
                    break;
                }
            }
            Ok(None) | Err(ReadError::Closed) => break,
            Err(ReadError::Bad(bad)) => {
                let answer = Answer::problem(bad.status, &bad.detail);
                let _ = write_whole(&mut writer, &answer, true);
                break;
            }
        }
    }
    let _ = writer.shutdown(Shutdown::Both);
}

fn write_whole(writer: &mut TcpStream, answer: &Answer, close: bool) -> std::io::Result<()> {
    let mut bytes = wire::head(
        answer.status,
        &answer.headers,
        Framing::Length(answer.body.len()),
        close,
    );
    bytes.extend_from_slice(&answer.body);
    writer.write_all(&bytes)?;
    writer.flush()
}

/// Serves one request; false when the connection must be closed afterwards.
fn respond(
    shared: &Shared,
    request: &HttpRequest,
    writer: &mut TcpStream,
    connection_id: u64,
) -> bool {
    let target = Target::of(request.path());
    let fault = shared.state().take_fault(target.route(&request.method));
    if let Some(Fault::Delay(duration)) = &fault {
        shared.sleep(*duration);
    }
    let casing = Casing {
        pascal: shared.settings.pascal_case,
    };
    let mut answer = match &fault {
        Some(fault) if fault.replaces_answer() => fault_answer(fault, casing, request),
        _ => {
            let settings = &shared.settings;
            let mut state = shared.state();
            match &target {
                Target::Portal {
                    tenant,
                    connection_id,
                } => portal::handle(settings, &mut state, request, tenant, connection_id),
                Target::Unknown => api::not_found(request),
                _ => api::handle(settings, &mut state, request, &target),
            }
        }
    };
    let sunset = match &fault {
        Some(Fault::Deprecated { sunset }) => Some(sunset.as_str()),
        _ => shared.settings.deprecated_sunset.as_deref(),
    };
    if let Some(sunset) = sunset {
        answer = answer
            .with_header("Noah-Deprecated", "true")
            .with_header("Noah-Sunset-Date", sunset);
    }
    shared.state().log.push(LoggedRequest {
        method: request.method.clone(),
        path: request.target.clone(),
        headers: request
            .headers
            .iter()
            .map(|(n, v)| (n.clone(), redact(n, v)))
            .collect(),
        idempotency_id: request.header("X-Idempotent-ID").map(str::to_owned),
        connection_id,
        status: answer.status,
        fault: fault.clone(),
    });
    let close = request.wants_close();
    let sent = match fault {
        Some(Fault::DropMidAnswer) => {
            let framing = Framing::Length(answer.body.len());
            let mut bytes = wire::head(answer.status, &answer.headers, framing, false);
            bytes.extend_from_slice(&answer.body[..answer.body.len() / 2]);
            let _ = writer.write_all(&bytes).and_then(|()| writer.flush());
            return false;
        }
        Some(Fault::TruncatedJson) => {
            answer.body.truncate(answer.body.len() / 2);
            write_whole(writer, &answer, close)
        }
        Some(Fault::CloseAfterAnswer) => {
            let _ = write_whole(writer, &answer, false);
            return false;
        }
        Some(Fault::Oversized(length)) => {
            let head = wire::head(200, &answer.headers, Framing::Length(length), close);
            writer
                .write_all(&head)
                .and_then(|()| write_padding(writer, length, false))
        }
        Some(Fault::OversizedChunked(length)) => {
            let head = wire::head(200, &answer.headers, Framing::Chunked, close);
            writer
                .write_all(&head)
                .and_then(|()| write_padding(writer, length, true))
        }
        Some(Fault::Trickle { interval }) => {
            trickle(shared, writer, &answer, interval);
            return false;
        }
        _ => write_whole(writer, &answer, close),
    };
    sent.is_ok()
}

/// Sends one byte per interval until the client goes away or the sandbox stops.
fn trickle(shared: &Shared, writer: &mut TcpStream, answer: &Answer, interval: Duration) {
    let head = wire::head(200, &answer.headers, Framing::Length(TRICKLE_LENGTH), false);
    if writer.write_all(&head).is_err() {
        return;
    }
    let mut sent = 0;
    while sent < TRICKLE_LENGTH && !shared.stopping() {
        let byte: &[u8] = if sent == 0 { b"[" } else { b" " };
        if writer
            .write_all(byte)
            .and_then(|()| writer.flush())
            .is_err()
        {
            return;
        }
        sent += 1;
        shared.sleep(interval);
    }
}

/// Writes a JSON body of exactly `length` bytes: `{"padding":"xxx..."}`.
fn write_padding(writer: &mut TcpStream, length: usize, chunked: bool) -> std::io::Result<()> {
    const PREFIX: &[u8] = b"{\"padding\":\"";
    const SUFFIX: &[u8] = b"\"}";
    let framed = length >= PREFIX.len() + SUFFIX.len();
    let byte_at = |i: usize| -> u8 {
        if !framed {
            b' '
        } else if i < PREFIX.len() {
            PREFIX[i]
        } else if i >= length - SUFFIX.len() {
            SUFFIX[i - (length - SUFFIX.len())]
        } else {
            b'x'
        }
    };
    let mut start = 0;
    let mut piece = Vec::with_capacity(PIECE + 16);
    while start < length {
        let end = (start + PIECE).min(length);
        piece.clear();
        if chunked {
            piece.extend_from_slice(format!("{:X}\r\n", end - start).as_bytes());
        }
        piece.extend((start..end).map(byte_at));
        if chunked {
            piece.extend_from_slice(b"\r\n");
        }
        writer.write_all(&piece)?;
        start = end;
    }
    if chunked {
        writer.write_all(b"0\r\n\r\n")?;
    }
    writer.flush()
}

/// The answer of a fault that replaces the real one; generated bodies are written later.
fn fault_answer(fault: &Fault, casing: Casing, request: &HttpRequest) -> Answer {
    match fault {
        Fault::Status { code, retry_after } => {
            let answer = if matches!(code, 0..=199 | 204 | 304) {
                // These statuses never carry a body.
                Answer::new(*code, JSON, Vec::new())
            } else {
                Answer::problem(*code, "the sandbox was told to fail this request")
            };
            match retry_after {
                Some(value) => answer.with_header("Retry-After", value),
                None => answer,
            }
        }
        Fault::HtmlPage(code) => {
            let title = format!("{code} {}", wire::reason(*code));
            let page = format!(
                "<!DOCTYPE html>\n<html><head><title>{title}</title></head>\n<body>\n\
                 <h1>{title}</h1>\n<p>The gateway could not reach the upstream service.</p>\n\
                 </body></html>\n"
            );
            Answer::new(*code, HTML, page.into_bytes())
        }
        Fault::EmptyBody
        | Fault::Oversized(_)
        | Fault::OversizedChunked(_)
        | Fault::Trickle { .. } => Answer::new(200, JSON, Vec::new()),
        Fault::DeepJson(depth) => {
            let mut body = "[".repeat(*depth);
            body.push_str(&"]".repeat(*depth));
            Answer::new(200, JSON, body.into_bytes())
        }
        Fault::WrongShape => {
            let body = format!(
                "{{\"{}\":\"yes\",\"{}\":5,\"{}\":[1,2],\"{}\":{{\"{}\":true}}}}",
                casing.key("userAccountAccessLevels"),
                casing.key("created"),
                casing.key("appConnectionId"),
                casing.key("currentDataAccess"),
                casing.key("access"),
            );
            Answer::new(200, JSON, body.into_bytes())
        }
        Fault::EchoRequest(code) => {
            let headers: Vec<String> = request
                .headers
                .iter()
                .map(|(name, value)| format!("{name}: {value}"))
                .collect();
            let detail = format!("request rejected; headers were: {}", headers.join(", "));
            Answer::problem(*code, &detail)
        }
        // Faults that keep the real answer never get here.
        Fault::Delay(_)
        | Fault::DropMidAnswer
        | Fault::TruncatedJson
        | Fault::Deprecated { .. }
        | Fault::CloseAfterAnswer => Answer::problem(500, "fault without an answer of its own"),
    }
}
