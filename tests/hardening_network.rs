//! Network, TLS and proxy failures, all on loopback: a host that accepts nothing, a server
//! that never answers or trickles forever, answers cut short, stale kept-alive connections,
//! TLS servers with untrusted and extra-CA certificates, and CONNECT proxies.
//!
//! Every server here is a thread of this test bound to 127.0.0.1; the CONNECT proxy only
//! ever connects to the sandbox of the same test.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use himsa_conn::{
    AccessLevel, AccessState, AppConnectionRequest, Client, Config, HimsaOutcome,
    HimsaRequestPolicy, HimsaStatus, Need, ProxySetting,
};
use himsa_sandbox::{
    Decision, Fault, Route, Sandbox, SandboxConfig, DEFAULT_TENANT, SANDBOX_TOKEN,
};

/// Generous upper bound for a call whose own deadline is far shorter.
const BOUND: Duration = Duration::from_secs(8);

fn sandbox() -> Sandbox {
    Sandbox::start(SandboxConfig::default()).expect("sandbox starts on loopback")
}

fn config(base_url: &str) -> Config {
    let mut config = Config::new(base_url, DEFAULT_TENANT, SANDBOX_TOKEN);
    config.proxy = ProxySetting::Direct;
    config.connect_timeout = Duration::from_secs(2);
    config.request_timeout = Duration::from_secs(5);
    config.overall_timeout = Duration::from_secs(10);
    config.max_retry_wait = Duration::from_millis(50);
    config
}

fn ask(level: AccessLevel) -> AppConnectionRequest {
    AppConnectionRequest {
        user_account_access_level: level,
        patient_fields: Vec::new(),
        data_types: Vec::new(),
    }
}

/// A loopback server thread that hands every accepted connection to `serve`, until
/// dropped. It counts the connections it accepted.
struct TestServer {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    fn start(serve: impl Fn(TcpStream, &AtomicBool) + Send + Sync + 'static) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("non-blocking accept");
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let serve = Arc::new(serve);
        let thread = {
            let accepted = Arc::clone(&accepted);
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                let mut workers = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            stream.set_nonblocking(false).unwrap();
                            accepted.fetch_add(1, Ordering::SeqCst);
                            let serve = Arc::clone(&serve);
                            let stop = Arc::clone(&stop);
                            workers.push(thread::spawn(move || serve(stream, &stop)));
                        }
                        Err(_) => thread::sleep(Duration::from_millis(5)),
                    }
                }
                for worker in workers {
                    let _ = worker.join();
                }
            })
        };
        TestServer {
            addr,
            accepted,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self, scheme: &str) -> String {
        format!("{scheme}://{}", self.addr)
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Sleeps in small steps until `stop` is set or `limit` has passed.
fn idle(stop: &AtomicBool, limit: Duration) {
    let end = Instant::now() + limit;
    while !stop.load(Ordering::SeqCst) && Instant::now() < end {
        thread::sleep(Duration::from_millis(10));
    }
}

/// Reads a request head (up to the empty line) and returns its lines.
fn read_head(reader: &mut impl BufRead) -> Option<Vec<String>> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end().to_owned();
        if line.is_empty() {
            return Some(lines);
        }
        lines.push(line);
    }
}

extern "C" {
    /// POSIX `listen(2)`, from the C library the standard library already links.
    fn listen(socket: std::os::raw::c_int, backlog: std::os::raw::c_int) -> std::os::raw::c_int;
}

#[test]
fn a_host_that_accepts_nothing_hits_the_connect_timeout() {
    // A loopback listener that never accepts, its backlog lowered to zero: once its queue
    // is full, the kernel leaves further handshakes unanswered. Linux lets `listen` be
    // called again on a listening socket to change the backlog.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let status = unsafe { listen(listener.as_raw_fd(), 0) };
    assert_eq!(status, 0, "listen: {}", std::io::Error::last_os_error());
    let target = listener.local_addr().unwrap();

    // Fill the queue; the first connection attempt that hangs proves it is full.
    let mut fillers = Vec::new();
    let mut full = false;
    for _ in 0..16 {
        match TcpStream::connect_timeout(&target, Duration::from_millis(300)) {
            Ok(stream) => fillers.push(stream),
            Err(_) => {
                full = true;
                break;
            }
        }
    }
    assert!(full, "the accept queue never filled");

    let mut config = config(&format!("http://{target}"));
    config.connect_timeout = Duration::from_millis(400);
    config.max_retries = 0;
    let client = Client::new(config).unwrap();
    let started = Instant::now();
    let err = client.current_data_access().unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(err.status(), HimsaStatus::Timeout, "{err}");
    assert_eq!(err.http_status(), 0);
    assert!(err.message().contains("timed out"), "{err}");
    assert!(elapsed < BOUND, "connect timeout not honoured: {elapsed:?}");
    drop(fillers);
    drop(listener);
}

#[test]
fn a_server_that_never_answers_hits_the_request_timeout() {
    let server = TestServer::start(|stream, stop| {
        // Reads the request, then holds the connection open without a byte of answer.
        let mut reader = BufReader::new(stream);
        let _ = read_head(&mut reader);
        idle(stop, Duration::from_secs(30));
    });
    let mut config = config(&server.url("http"));
    config.request_timeout = Duration::from_millis(400);
    let client = Client::new(config).unwrap();
    let started = Instant::now();
    let err = client.current_data_access().unwrap_err();
    assert_eq!(err.status(), HimsaStatus::Timeout, "{err}");
    assert_eq!(err.http_status(), 0);
    assert!(started.elapsed() < BOUND);
    assert_eq!(server.accepted(), 1, "a timeout is not retried");
}

#[test]
fn a_body_trickled_forever_ends_at_the_overall_deadline() {
    // The sandbox announces a gigabyte; the cap is raised so that the deadline ends it.
    let sandbox = sandbox();
    let mut cfg = config(&sandbox.base_url());
    cfg.request_timeout = Duration::from_secs(30);
    cfg.overall_timeout = Duration::from_millis(700);
    cfg.max_answer_bytes = 2 << 30;
    let client = Client::new(cfg).unwrap();
    sandbox.arm(
        Route::CurrentDataAccess,
        Fault::Trickle {
            interval: Duration::from_millis(20),
        },
        5,
    );
    let started = Instant::now();
    let err = client.current_data_access().unwrap_err();
    assert_eq!(err.status(), HimsaStatus::Timeout, "{err}");
    assert!(started.elapsed() < BOUND);

    // A chunked body without a length, under the default cap: the deadline ends it too.
    let server = TestServer::start(|stream, stop| {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        if read_head(&mut reader).is_none() {
            return;
        }
        let mut writer = stream;
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                    Transfer-Encoding: chunked\r\n\r\n1\r\n{\r\n";
        if writer.write_all(head.as_bytes()).is_err() {
            return;
        }
        let end = Instant::now() + Duration::from_secs(30);
        while !stop.load(Ordering::SeqCst) && Instant::now() < end {
            if writer.write_all(b"1\r\n \r\n").is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
    });
    let mut cfg = config(&server.url("http"));
    cfg.request_timeout = Duration::from_secs(30);
    cfg.overall_timeout = Duration::from_millis(700);
    let client = Client::new(cfg).unwrap();
    let started = Instant::now();
    let err = client.current_data_access().unwrap_err();
    assert_eq!(err.status(), HimsaStatus::Timeout, "{err}");
    assert!(started.elapsed() < BOUND);
}

#[test]
fn a_connection_dropped_mid_answer_is_retried_then_reported() {
    let sandbox = sandbox();
    let client = Client::new(config(&sandbox.base_url())).unwrap();
    client.request_access(&ask(AccessLevel::Limited)).unwrap();
    sandbox.clear_log();

    // Once: the retry on a new connection gets the whole answer.
    sandbox.arm(Route::CurrentDataAccess, Fault::DropMidAnswer, 1);
    let answer = client.current_data_access().unwrap().expect("connected");
    assert_eq!(answer.http_status, 200);
    let log = sandbox.requests();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].fault, Some(Fault::DropMidAnswer));
    assert_ne!(log[0].connection_id, log[1].connection_id);

    // Every time: the call ends with a network error once the retries are spent.
    sandbox.clear_log();
    sandbox.arm(Route::CurrentDataAccess, Fault::DropMidAnswer, 10);
    let err = client.current_data_access().unwrap_err();
    assert_eq!(err.status(), HimsaStatus::Network, "{err}");
    assert!(err.message().contains("GetCurrentDataAccess"), "{err}");
    assert_eq!(sandbox.requests().len(), 3, "first attempt and two retries");
}

#[test]
fn a_post_dropped_mid_answer_is_resent_with_the_same_idempotency_id() {
    let sandbox = sandbox();
    let client = Client::new(config(&sandbox.base_url())).unwrap();
    sandbox.arm(Route::PostAppConnection, Fault::DropMidAnswer, 1);
    let answer = client.request_access(&ask(AccessLevel::Basic)).unwrap();

    let posts: Vec<_> = sandbox
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(
        posts.len(),
        2,
        "the lost answer's request is sent once more"
    );
    assert!(posts[0].idempotency_id.is_some());
    assert_eq!(posts[0].idempotency_id, posts[1].idempotency_id);

    // The service took the request once: the resend got the first connection back.
    let latest = client.app_connection().unwrap().value;
    assert_eq!(
        latest.app_connection_id, answer.value.app_connection_id,
        "the resend created no second connection"
    );
}

#[test]
fn a_kept_alive_connection_closed_before_a_post_does_not_double_the_post() {
    let sandbox = sandbox();
    let client = Client::new(config(&sandbox.base_url())).unwrap();

    // The read of the current access leaves a pooled connection that the server has
    // closed without saying so; the planner's POST comes right after on the same client.
    sandbox.arm(Route::CurrentDataAccess, Fault::CloseAfterAnswer, 1);
    let decision = client
        .ensure_access(
            &Need::level(AccessLevel::Basic),
            HimsaRequestPolicy::IfNeeded,
        )
        .unwrap();
    assert_eq!(decision.outcome, HimsaOutcome::PendingApproval);

    let log = sandbox.requests();
    let posts: Vec<_> = log.iter().filter(|r| r.method == "POST").collect();
    assert_eq!(posts.len(), 1, "the POST reached the service once: {log:?}");
    assert_eq!(posts[0].status, 200);
    assert_ne!(
        posts[0].connection_id, log[0].connection_id,
        "the POST went on a fresh connection"
    );
    let ids: Vec<_> = posts.iter().map(|p| p.idempotency_id.clone()).collect();
    assert!(ids.iter().all(|id| id.is_some() && *id == ids[0]));
    let access = sandbox.access(DEFAULT_TENANT, "sandbox-app").unwrap();
    assert_eq!(format!("{:?}", access.levels).matches("Pending").count(), 1);
}

// Test certificates (EC P-256, valid until 2126), made for these tests only: a CA, a
// leaf for localhost/127.0.0.1/::1 signed by it, and a self-signed leaf for the same
// names. The keys protect nothing.
const TEST_CA: &str = "-----BEGIN CERTIFICATE-----
MIIBojCCAUegAwIBAgIUd7HKTmlyCIR9oMTBbU8EhC35xK0wCgYIKoZIzj0EAwIw
HTEbMBkGA1UEAwwSaGltc2EtY29ubiB0ZXN0IENBMCAXDTI2MTIwNDE1MzExOFoY
DzIxMjYxMTEwMTUzMTE4WjAdMRswGQYDVQQDDBJoaW1zYS1jb25uIHRlc3QgQ0Ew
WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAARsldNKdeirJwy0cX3eKWtdIvdtTQX4
tm1zCyZNz+K1TBXHMAnmu2C0whNaM91cx0hoSAynCMvX2Yf+cObeHTUJo2MwYTAd
BgNVHQ4EFgQUBUz9LGYtwTuaDp9L1aGe1UPmwvwwHwYDVR0jBBgwFoAUBUz9LGYt
wTuaDp9L1aGe1UPmwvwwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAQYw
CgYIKoZIzj0EAwIDSQAwRgIhALSQ2GRHjsDsdnm2ryqPoHouFtLWWnGtbtRjHQRw
SbMwAiEA+8YWzZskVnBQveDnC3rdPuUjcZTn4UwaXmM8BU7MhMQ=
-----END CERTIFICATE-----
";

const LEAF_CERT: &str = "-----BEGIN CERTIFICATE-----
MIIB2jCCAYCgAwIBAgIUJH+YMb/kUQZWniYYfhlmw1H6MzAwCgYIKoZIzj0EAwIw
HTEbMBkGA1UEAwwSaGltc2EtY29ubiB0ZXN0IENBMCAXDTI2MTIwNDE1MzExOFoY
DzIxMjYxMTEwMTUzMTE4WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjO
PQIBBggqhkjOPQMBBwNCAARX+33ynHeap/mKRaT6nK3h/nK6zRcOASC2jCZwLRMM
T8rQFZzTllxDZ57XkZhz/tkHqd4/CyRkt9OKoA9n45gMo4GkMIGhMAwGA1UdEwEB
/wQCMAAwDgYDVR0PAQH/BAQDAgeAMBMGA1UdJQQMMAoGCCsGAQUFBwMBMCwGA1Ud
EQQlMCOCCWxvY2FsaG9zdIcEfwAAAYcQAAAAAAAAAAAAAAAAAAAAATAdBgNVHQ4E
FgQUZJe2LgPCQiso6xQ7sm0mLqCezFEwHwYDVR0jBBgwFoAUBUz9LGYtwTuaDp9L
1aGe1UPmwvwwCgYIKoZIzj0EAwIDSAAwRQIhALV1ppvcM40+6TJ2usOw5xZaHqrm
OJT+Ae0ehAuJxv29AiBRD8jcbdmmDGp0Ybvuirv+PiTCSSoe2yV/oVr3/3dV1A==
-----END CERTIFICATE-----
";

const LEAF_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgAMWj7ONhIHN4JVUX
fYkQqcHATPLUN4JwVVvTZZ8XSrGhRANCAARX+33ynHeap/mKRaT6nK3h/nK6zRcO
ASC2jCZwLRMMT8rQFZzTllxDZ57XkZhz/tkHqd4/CyRkt9OKoA9n45gM
-----END PRIVATE KEY-----
";

const SELF_SIGNED_CERT: &str = "-----BEGIN CERTIFICATE-----
MIIBwTCCAWegAwIBAgIUbG516AJFrm94AZNOy0FJqld07akwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTIwNDE1MzExOFoYDzIxMjYxMTEw
MTUzMTE4WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAASER2kickhjfDfVE5FQu2BZjYyXwA5mRpgFMWhxgKbcrQH+G7+rGS5a
1VOXVQvXwJ0vq14z61rHIZmjLG0FzR55o4GUMIGRMB0GA1UdDgQWBBRgLDLPb+J0
Mo0Ouy9u77mSHtE5yjAfBgNVHSMEGDAWgBRgLDLPb+J0Mo0Ouy9u77mSHtE5yjAs
BgNVHREEJTAjgglsb2NhbGhvc3SHBH8AAAGHEAAAAAAAAAAAAAAAAAAAAAEwDAYD
VR0TAQH/BAIwADATBgNVHSUEDDAKBggrBgEFBQcDATAKBggqhkjOPQQDAgNIADBF
AiATdfg+w9bTnRSJluDkUYmiGEVHS1V9hYeQLemM1o7QgwIhAJMpN4CdgDokQSyf
M/5cg229co/Y6Tjx62nkfcB9TVEc
-----END CERTIFICATE-----
";

const SELF_SIGNED_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgITXwqdorkj+auIfN
SaVNOVxA2Otigr7Ukfg58hIdmimhRANCAASER2kickhjfDfVE5FQu2BZjYyXwA5m
RpgFMWhxgKbcrQH+G7+rGS5a1VOXVQvXwJ0vq14z61rHIZmjLG0FzR55
-----END PRIVATE KEY-----
";

/// A loopback HTTPS front for the sandbox presenting `cert_pem`: it ends TLS, passes each
/// request on to `upstream` over plain HTTP and relays the answer, one request per
/// connection, so that the answers themselves come from the sandbox.
/// Limitation: it uses rustls's ring provider, which this crate's dependency tree enables
/// through ureq; the test stops compiling if ureq ever switches provider.
fn tls_server(
    cert_pem: &'static str,
    key_pem: &'static str,
    upstream: SocketAddr,
) -> (TestServer, Arc<Mutex<Vec<String>>>) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .expect("test certificate");
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).expect("test key");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server_config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server configuration");
    let server_config = Arc::new(server_config);
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&heads);
    let server = TestServer::start(move |mut stream, _| {
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let Ok(connection) = rustls::ServerConnection::new(Arc::clone(&server_config)) else {
            return;
        };
        let mut tls = rustls::StreamOwned::new(connection, &mut stream);
        let mut reader = BufReader::new(&mut tls);
        let Some(head) = read_head(&mut reader) else {
            return;
        };
        seen.lock().unwrap().push(head[0].clone());
        let mut forwarded = String::new();
        for line in head
            .iter()
            .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        {
            forwarded.push_str(line);
            forwarded.push_str("\r\n");
        }
        forwarded.push_str("Connection: close\r\n\r\n");
        let mut answer = Vec::new();
        let relayed = TcpStream::connect(upstream).and_then(|mut plain| {
            plain.set_read_timeout(Some(Duration::from_secs(10)))?;
            plain.write_all(forwarded.as_bytes())?;
            plain.read_to_end(&mut answer)
        });
        if relayed.is_err() {
            return;
        }
        let _ = tls.write_all(&answer);
        let _ = tls.flush();
        tls.conn.send_close_notify();
        let _ = tls.flush();
    });
    (server, heads)
}

#[test]
fn a_self_signed_certificate_is_a_tls_failure_not_a_network_one() {
    let sandbox = sandbox();
    let (server, heads) = tls_server(SELF_SIGNED_CERT, SELF_SIGNED_KEY, sandbox.local_addr());
    let client = Client::new(config(&server.url("https"))).unwrap();
    let err = client.current_data_access().unwrap_err();
    assert_eq!(err.status(), HimsaStatus::Tls, "{err}");
    assert_eq!(err.http_status(), 0);
    assert!(err.message().contains("TLS"), "{err}");
    assert_eq!(server.accepted(), 1, "a TLS refusal is not retried");
    assert!(heads.lock().unwrap().is_empty(), "no request crossed");

    // Trusting another CA does not make an unrelated self-signed certificate acceptable.
    let mut with_ca = config(&server.url("https"));
    with_ca.extra_ca_pem = vec![TEST_CA.to_owned()];
    let err = Client::new(with_ca)
        .unwrap()
        .current_data_access()
        .unwrap_err();
    assert_eq!(err.status(), HimsaStatus::Tls, "{err}");
}

#[test]
fn a_certificate_from_an_extra_ca_is_accepted() {
    let sandbox = sandbox();
    Client::new(config(&sandbox.base_url()))
        .unwrap()
        .request_access(&ask(AccessLevel::Basic))
        .unwrap();
    sandbox
        .decide(DEFAULT_TENANT, &Decision::ApproveAll)
        .unwrap();
    let (server, heads) = tls_server(LEAF_CERT, LEAF_KEY, sandbox.local_addr());

    // Without the CA the leaf is not trusted.
    let err = Client::new(config(&server.url("https")))
        .unwrap()
        .current_data_access()
        .unwrap_err();
    assert_eq!(err.status(), HimsaStatus::Tls, "{err}");

    for host in ["127.0.0.1".to_owned(), "localhost".to_owned()] {
        let url = format!("https://{host}:{}", server.addr.port());
        let mut trusted = config(&url);
        trusted.extra_ca_pem = vec![TEST_CA.to_owned()];
        let client = Client::new(trusted).unwrap();
        let answer = client
            .current_data_access()
            .unwrap_or_else(|e| panic!("{url}: {e}"))
            .expect("an answer");
        assert_eq!(answer.http_status, 200);
        let levels = &answer.value.user_account_access_levels;
        assert_eq!(levels.len(), 1);
        assert_eq!(
            (&levels[0].level, &levels[0].access),
            (&AccessLevel::Basic, &AccessState::Granted)
        );
    }
    let heads = heads.lock().unwrap();
    assert_eq!(heads.len(), 2);
    assert!(heads[0].starts_with(&format!(
        "GET /{DEFAULT_TENANT}/api/AppConnection/GetCurrentDataAccess "
    )));
}

/// What the CONNECT proxy does with a tunnel request.
#[derive(Clone, Copy)]
enum ProxyMode {
    /// Opens the tunnel to the allowed target.
    Tunnel,
    /// Answers 407 unless the request carries these Basic credentials (base64).
    RequireAuth(&'static str),
}

/// A loopback CONNECT proxy that only tunnels to `allowed`; it records request lines.
fn connect_proxy(allowed: SocketAddr, mode: ProxyMode) -> (TestServer, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&lines);
    let server = TestServer::start(move |client, _| {
        let mut reader = BufReader::new(client.try_clone().unwrap());
        let Some(head) = read_head(&mut reader) else {
            return;
        };
        seen.lock().unwrap().push(head[0].clone());
        let mut client = client;
        let authorized = match mode {
            ProxyMode::Tunnel => true,
            ProxyMode::RequireAuth(expected) => head.iter().any(|line| {
                line.to_ascii_lowercase()
                    .starts_with("proxy-authorization:")
                    && line.ends_with(&format!("Basic {expected}"))
            }),
        };
        if !authorized {
            let _ = client.write_all(
                b"HTTP/1.1 407 Proxy Authentication Required\r\n\
                  Proxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n\r\n",
            );
            return;
        }
        if head[0] != format!("CONNECT {allowed} HTTP/1.1") {
            let _ = client.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
            return;
        }
        let Ok(upstream) = TcpStream::connect(allowed) else {
            return;
        };
        let _ = client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
        // Bytes the client sent after the head are already in the reader's buffer.
        let mut up_writer = upstream.try_clone().unwrap();
        let buffered = reader.buffer().to_vec();
        let _ = up_writer.write_all(&buffered);
        let mut down_reader = upstream;
        let mut down_writer = client.try_clone().unwrap();
        let down = thread::spawn(move || {
            let _ = std::io::copy(&mut down_reader, &mut down_writer);
            let _ = down_writer.shutdown(Shutdown::Both);
        });
        let mut rest = reader.into_inner();
        let _ = std::io::copy(&mut rest, &mut up_writer);
        let _ = up_writer.shutdown(Shutdown::Both);
        let _ = down.join();
    });
    (server, lines)
}

#[test]
fn requests_go_through_a_connect_proxy() {
    let sandbox = sandbox();
    let (proxy, lines) = connect_proxy(sandbox.local_addr(), ProxyMode::Tunnel);
    let mut cfg = config(&sandbox.base_url());
    cfg.proxy = ProxySetting::Url(proxy.url("http"));
    let client = Client::new(cfg).unwrap();

    assert_eq!(client.current_data_access().unwrap(), None);
    let answer = client.request_access(&ask(AccessLevel::Basic)).unwrap();
    assert_eq!(answer.http_status, 200);

    let lines = lines.lock().unwrap();
    assert!(!lines.is_empty());
    let expected = format!("CONNECT {} HTTP/1.1", sandbox.local_addr());
    assert!(lines.iter().all(|l| *l == expected), "{lines:?}");
    let methods: Vec<_> = sandbox.requests().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, vec!["GET", "POST"]);
}

#[test]
fn a_proxy_asking_for_credentials_has_its_own_message() {
    let sandbox = sandbox();
    let (proxy, lines) = connect_proxy(
        sandbox.local_addr(),
        ProxyMode::RequireAuth("dXNlcjpzZWNyZXQ="),
    );
    let mut cfg = config(&sandbox.base_url());
    cfg.proxy = ProxySetting::Url(proxy.url("http"));
    let client = Client::new(cfg).unwrap();
    let err = client.current_data_access().unwrap_err();
    assert_eq!(err.status(), HimsaStatus::Proxy, "{err}");
    assert!(err.message().contains("407"), "{err}");
    assert!(err.message().contains("authentication"), "{err}");
    assert!(err.message().contains("user:password"), "{err}");
    assert_eq!(lines.lock().unwrap().len(), 1, "a 407 is not retried");
    assert!(sandbox.requests().is_empty());

    // The advice works: credentials in the proxy URL open the tunnel.
    let mut cfg = config(&sandbox.base_url());
    cfg.proxy = ProxySetting::Url(format!("http://user:secret@{}", proxy.addr));
    let client = Client::new(cfg).unwrap();
    assert_eq!(client.current_data_access().unwrap(), None);
    assert_eq!(sandbox.requests().len(), 1);
}

#[test]
fn a_refused_connection_is_retried_and_then_a_network_error() {
    // Nothing listens on the port of a listener that was just closed.
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut cfg = config(&format!("http://127.0.0.1:{port}"));
    cfg.max_retry_wait = Duration::from_millis(20);
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    cfg.log = Some(Arc::new(move |_, line: &str| {
        sink.lock().unwrap().push(line.to_owned())
    }));
    let client = Client::new(cfg).unwrap();
    let started = Instant::now();
    let err = client.current_data_access().unwrap_err();
    assert_eq!(err.status(), HimsaStatus::Network, "{err}");
    assert!(started.elapsed() < BOUND);
    let retries = lines
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains("retry"))
        .count();
    assert_eq!(retries, 2);
}
