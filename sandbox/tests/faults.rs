//! Every armed fault, seen from a raw HTTP client.

mod common;

use std::io::{BufReader, Read};
use std::time::{Duration, Instant};

use common::*;
use himsa_sandbox::{ArmedFault, Fault, Route, Sandbox, SandboxConfig, DEFAULT_APP, SANDBOX_TOKEN};
use serde_json::json;

fn start() -> Sandbox {
    Sandbox::start(SandboxConfig::default()).expect("start the sandbox")
}

fn current(client: &mut Client, tenant: &str) -> Resp {
    client.get(&current_path(tenant), &api_headers(SANDBOX_TOKEN))
}

fn ask(client: &mut Client, tenant: &str, id: &str) -> Resp {
    let body = json!({"userAccountAccessLevel": "Basic"}).to_string();
    client.post(
        &connection_path(tenant),
        &post_headers(SANDBOX_TOKEN, id),
        &body,
    )
}

/// Sends one GET on a new connection and reads its head plus whatever body arrives before
/// the server closes the connection or `wait` passes.
fn raw_get(
    sandbox: &Sandbox,
    path: &str,
    wait: Duration,
) -> (u16, Vec<(String, String)>, Vec<u8>, bool) {
    let mut stream = connect(addr_of(&sandbox.base_url()));
    write_request(&mut stream, "GET", path, &api_headers(SANDBOX_TOKEN), b"").unwrap();
    let deadline = Instant::now() + wait;
    let mut reader = BufReader::new(stream);
    let (status, headers) = read_head(&mut reader).unwrap();
    let mut body = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break false;
        }
        reader.get_ref().set_read_timeout(Some(left)).unwrap();
        match reader.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => body.extend_from_slice(&buf[..n]),
            Err(_) => break false,
        }
    };
    (status, headers, body, closed)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[test]
fn delay_then_normal_answer() {
    let sandbox = start();
    let mut client = Client::new(&sandbox.base_url());
    let tenant = new_tenant();
    sandbox.arm(
        Route::CurrentDataAccess,
        Fault::Delay(Duration::from_millis(500)),
        1,
    );
    let started = Instant::now();
    assert_eq!(current(&mut client, &tenant).status, 404);
    assert!(started.elapsed() >= Duration::from_millis(500));
    let started = Instant::now();
    assert_eq!(current(&mut client, &tenant).status, 404);
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "used up after one request"
    );
    let log = sandbox.requests();
    assert_eq!(log[0].fault, Some(Fault::Delay(Duration::from_millis(500))));
    assert_eq!(log[1].fault, None);
}

#[test]
fn status_faults_with_retry_after_and_times() {
    let sandbox = start();
    let mut client = Client::new(&sandbox.base_url());
    let tenant = new_tenant();
    sandbox.arm(
        Route::CurrentDataAccess,
        Fault::Status {
            code: 503,
            retry_after: Some("1".into()),
        },
        2,
    );
    let date = "Wed, 21 Oct 2015 07:28:00 GMT";
    sandbox.arm(
        Route::CurrentDataAccess,
        Fault::Status {
            code: 429,
            retry_after: Some(date.into()),
        },
        1,
    );
    sandbox.arm(
        Route::CurrentDataAccess,
        Fault::Status {
            code: 500,
            retry_after: None,
        },
        1,
    );

    for _ in 0..2 {
        let resp = current(&mut client, &tenant);
        assert_eq!(resp.status, 503);
        assert_eq!(resp.header("Retry-After"), Some("1"));
        assert_eq!(resp.json()["status"], 503);
    }
    let resp = current(&mut client, &tenant);
    assert_eq!(resp.status, 429);
    assert_eq!(resp.header("Retry-After"), Some(date));
    let resp = current(&mut client, &tenant);
    assert_eq!(resp.status, 500);
    assert_eq!(resp.header("Retry-After"), None);
    assert_eq!(
        current(&mut client, &tenant).status,
        404,
        "all faults used up"
    );
    assert_eq!(
        sandbox.connections_opened(),
        1,
        "error answers keep the connection"
    );

    // A refused POST changes nothing.
    sandbox.arm(
        Route::PostAppConnection,
        Fault::Status {
            code: 403,
            retry_after: None,
        },
        1,
    );
    assert_eq!(ask(&mut client, &tenant, "s-1").status, 403);
    assert!(sandbox.access(&tenant, DEFAULT_APP).is_none());
    let log = sandbox.requests();
    assert_eq!(log.last().unwrap().status, 403);
    assert_eq!(
        log.last().unwrap().fault,
        Some(Fault::Status {
            code: 403,
            retry_after: None
        })
    );
}

#[test]
fn faults_apply_only_to_their_route() {
    let sandbox = start();
    let mut client = Client::new(&sandbox.base_url());
    let tenant = new_tenant();
    sandbox.arm(
        Route::PostAppConnection,
        Fault::Status {
            code: 502,
            retry_after: None,
        },
        1,
    );
    sandbox.arm(
        Route::GetAppConnection,
        Fault::Status {
            code: 504,
            retry_after: None,
        },
        1,
    );
    assert_eq!(current(&mut client, &tenant).status, 404);
    let get = client.get(&connection_path(&tenant), &api_headers(SANDBOX_TOKEN));
    assert_eq!(get.status, 504);
    assert_eq!(ask(&mut client, &tenant, "r-1").status, 502);
    assert_eq!(ask(&mut client, &tenant, "r-1").status, 200);

    sandbox.arm(
        Route::Any,
        Fault::Status {
            code: 503,
            retry_after: None,
        },
        2,
    );
    assert_eq!(client.get("/nowhere", &[]).status, 503);
    assert_eq!(current(&mut client, &tenant).status, 503);
    assert_eq!(current(&mut client, &tenant).status, 200);

    sandbox.arm(Route::Any, Fault::EmptyBody, 5);
    sandbox.disarm_all();
    assert_eq!(current(&mut client, &tenant).status, 200);
    assert!(!current(&mut client, &tenant).body.is_empty());
}

#[test]
fn drop_mid_answer_after_the_request_took_effect() {
    let sandbox = start();
    let tenant = new_tenant();
    sandbox.arm(Route::PostAppConnection, Fault::DropMidAnswer, 1);
    let mut stream = connect(addr_of(&sandbox.base_url()));
    let body = json!({"userAccountAccessLevel": "Basic"}).to_string();
    let headers = post_headers(SANDBOX_TOKEN, "drop-1");
    write_request(
        &mut stream,
        "POST",
        &connection_path(&tenant),
        &headers,
        body.as_bytes(),
    )
    .unwrap();
    let mut reader = BufReader::new(stream);
    let (status, headers) = read_head(&mut reader).unwrap();
    assert_eq!(status, 200);
    let announced: usize = header(&headers, "Content-Length").unwrap().parse().unwrap();
    let mut received = Vec::new();
    reader
        .read_to_end(&mut received)
        .expect("the server closes, no timeout");
    assert!(
        !received.is_empty() && received.len() < announced,
        "{} of {announced}",
        received.len()
    );

    // The request took effect: a retry with the same id gets the same connection.
    let mut client = Client::new(&sandbox.base_url());
    let retry = client.post(
        &connection_path(&tenant),
        &post_headers(SANDBOX_TOKEN, "drop-1"),
        &body,
    );
    assert_eq!(retry.status, 200);
    assert!(
        retry.body.starts_with(&received),
        "the full answer begins with the part sent"
    );
    let latest = client
        .get(&connection_path(&tenant), &api_headers(SANDBOX_TOKEN))
        .json();
    assert_eq!(latest["appConnectionId"], retry.json()["appConnectionId"]);
    assert_eq!(sandbox.requests()[0].fault, Some(Fault::DropMidAnswer));
}

#[test]
fn truncated_json_keeps_the_connection() {
    let sandbox = start();
    let mut client = Client::new(&sandbox.base_url());
    let tenant = new_tenant();
    ask(&mut client, &tenant, "t-1");
    sandbox.arm(Route::CurrentDataAccess, Fault::TruncatedJson, 1);
    let cut = current(&mut client, &tenant);
    assert_eq!(cut.status, 200);
    assert_eq!(
        cut.header("Content-Length").unwrap(),
        cut.body.len().to_string()
    );
    assert!(serde_json::from_slice::<serde_json::Value>(&cut.body).is_err());
    let whole = current(&mut client, &tenant);
    assert!(whole.body.starts_with(&cut.body));
    assert_eq!(
        whole.json()["userAccountAccessLevels"][0]["accessLevel"],
        "Basic"
    );
    assert_eq!(sandbox.connections_opened(), 1);
}

#[test]
fn html_pages_instead_of_json() {
    let sandbox = start();
    let mut client = Client::new(&sandbox.base_url());
    let tenant = new_tenant();
    sandbox.arm(Route::CurrentDataAccess, Fault::HtmlPage(502), 1);
    sandbox.arm(Route::CurrentDataAccess, Fault::HtmlPage(200), 1);
    for status in [502, 200] {
        let page = current(&mut client, &tenant);
        assert_eq!(page.status, status);
        assert!(page
            .header("Content-Type")
            .unwrap()
            .starts_with("text/html"));
        assert!(page.text().starts_with("<!DOCTYPE html>"));
        assert!(page.text().contains(&status.to_string()));
    }
}

#[test]
fn echo_repeats_the_request_headers_token_included() {
    let sandbox = start();
    let mut client = Client::new(&sandbox.base_url());
    let tenant = new_tenant();
    sandbox.arm(Route::CurrentDataAccess, Fault::EchoRequest(503), 1);
    let answer = current(&mut client, &tenant);
    assert_eq!(answer.status, 503);
    let detail = answer.json()["detail"].as_str().unwrap().to_owned();
    assert!(
        detail.contains(&format!("Bearer {SANDBOX_TOKEN}")),
        "{detail}"
    );
    let logged = sandbox.requests();
    assert_eq!(logged[0].header("Authorization"), Some("Bearer <redacted>"));
}

#[test]
fn oversized_bodies_with_length_and_chunked() {
    let sandbox = start();
    let mut client = Client::new(&sandbox.base_url());
    let tenant = new_tenant();
    sandbox.arm(Route::CurrentDataAccess, Fault::Oversized(300_000), 1);
    sandbox.arm(
        Route::CurrentDataAccess,
        Fault::OversizedChunked(200_000),
        1,
    );
    let big = current(&mut client, &tenant);
    assert_eq!(big.status, 200);
    assert_eq!(big.header("Content-Length"), Some("300000"));
    assert!(big
        .header("Content-Type")
        .unwrap()
        .starts_with("application/json"));
    assert_eq!(big.body.len(), 300_000);
    assert_eq!(big.json()["padding"].as_str().unwrap().len(), 300_000 - 14);

    let chunked = current(&mut client, &tenant);
    assert_eq!(chunked.header("Transfer-Encoding"), Some("chunked"));
    assert_eq!(chunked.header("Content-Length"), None);
    assert_eq!(chunked.body.len(), 200_000);
    assert!(chunked.json().is_object());
    assert_eq!(
        current(&mut client, &tenant).status,
        404,
        "connection still usable"
    );
    assert_eq!(sandbox.connections_opened(), 1);
}

#[test]
fn trickle_sends_a_byte_per_interval_until_the_client_leaves() {
    let sandbox = start();
    let tenant = new_tenant();
    sandbox.arm(
        Route::CurrentDataAccess,
        Fault::Trickle {
            interval: Duration::from_millis(50),
        },
        1,
    );
    let started = Instant::now();
    let (status, headers, body, closed) =
        raw_get(&sandbox, &current_path(&tenant), Duration::from_millis(600));
    assert_eq!(status, 200);
    assert!(!closed, "still trickling when the client gave up");
    let announced: usize = header(&headers, "Content-Length").unwrap().parse().unwrap();
    assert!(announced > 1_000_000);
    assert!(
        body.len() >= 3 && body.len() <= 20,
        "{} bytes in about 600 ms",
        body.len()
    );
    assert_eq!(body[0], b'[');
    assert!(started.elapsed() >= Duration::from_millis(600));
    // The client has gone; the sandbox goes on serving others.
    let mut client = Client::new(&sandbox.base_url());
    assert_eq!(current(&mut client, &tenant).status, 404);
}

#[test]
fn empty_deep_and_wrong_shape_bodies() {
    let sandbox = start();
    let mut client = Client::new(&sandbox.base_url());
    let tenant = new_tenant();
    sandbox.arm(Route::CurrentDataAccess, Fault::EmptyBody, 1);
    sandbox.arm(Route::CurrentDataAccess, Fault::DeepJson(5000), 1);
    sandbox.arm(Route::CurrentDataAccess, Fault::WrongShape, 1);

    let empty = current(&mut client, &tenant);
    assert_eq!(empty.status, 200);
    assert_eq!(empty.header("Content-Length"), Some("0"));
    assert!(empty.body.is_empty());

    let deep = current(&mut client, &tenant);
    assert_eq!(deep.status, 200);
    assert_eq!(deep.body.len(), 10_000);
    assert!(deep.body[..5000].iter().all(|b| *b == b'['));
    assert!(deep.body[5000..].iter().all(|b| *b == b']'));

    let wrong = current(&mut client, &tenant).json();
    assert_eq!(wrong["userAccountAccessLevels"], "yes");
    assert_eq!(wrong["created"], 5);
}

#[test]
fn deprecation_headers_from_a_fault_and_from_config() {
    let sandbox = start();
    let mut client = Client::new(&sandbox.base_url());
    let tenant = new_tenant();
    sandbox.arm(
        Route::Any,
        Fault::Deprecated {
            sunset: "2030-01-01T00:00:00Z".into(),
        },
        1,
    );
    let first = current(&mut client, &tenant);
    assert_eq!(first.status, 404, "answered normally");
    assert_eq!(first.header("Noah-Deprecated"), Some("true"));
    assert_eq!(
        first.header("Noah-Sunset-Date"),
        Some("2030-01-01T00:00:00Z")
    );
    assert_eq!(
        current(&mut client, &tenant).header("Noah-Deprecated"),
        None
    );

    let config = SandboxConfig {
        deprecated_sunset: Some("2031-06-30".into()),
        ..SandboxConfig::default()
    };
    let deprecated = Sandbox::start(config).unwrap();
    let mut client = Client::new(&deprecated.base_url());
    for resp in [
        ask(&mut client, &tenant, "dep-1"),
        current(&mut client, &tenant),
        client.get("/nowhere", &[]),
    ] {
        assert_eq!(resp.header("Noah-Deprecated"), Some("true"));
        assert_eq!(resp.header("Noah-Sunset-Date"), Some("2031-06-30"));
    }
}

#[test]
fn close_after_answer_forces_a_new_connection() {
    let sandbox = start();
    let mut client = Client::new(&sandbox.base_url());
    let tenant = new_tenant();
    sandbox.arm(Route::CurrentDataAccess, Fault::CloseAfterAnswer, 1);
    let resp = current(&mut client, &tenant);
    assert_eq!(resp.status, 404);
    assert_eq!(
        resp.header("Connection"),
        None,
        "the close is not announced"
    );
    assert!(client.server_closed());
    client.disconnect();
    assert_eq!(current(&mut client, &tenant).status, 404);
    assert_eq!(sandbox.connections_opened(), 2);
    let log = sandbox.requests();
    assert_ne!(log[0].connection_id, log[1].connection_id);
    assert_eq!(log[0].fault, Some(Fault::CloseAfterAnswer));
}

#[test]
fn fault_specs_parse() {
    let parse = |s: &str| s.parse::<ArmedFault>();
    assert_eq!(
        parse("current:status=503:retry-after=1:2"),
        Ok(ArmedFault {
            route: Route::CurrentDataAccess,
            fault: Fault::Status {
                code: 503,
                retry_after: Some("1".into())
            },
            times: 2
        })
    );
    assert_eq!(
        parse("post:status=429:retry-after=Wed, 21 Oct 2015 07:28:00 GMT:1")
            .unwrap()
            .fault,
        Fault::Status {
            code: 429,
            retry_after: Some("Wed, 21 Oct 2015 07:28:00 GMT".into())
        }
    );
    assert_eq!(
        parse("any:deprecated=2030-01-01T00:00:00Z:5").unwrap(),
        ArmedFault {
            route: Route::Any,
            fault: Fault::Deprecated {
                sunset: "2030-01-01T00:00:00Z".into()
            },
            times: 5
        }
    );
    let cases = [
        (
            "get:delay=1500:3",
            Fault::Delay(Duration::from_millis(1500)),
        ),
        ("get:drop:1", Fault::DropMidAnswer),
        ("get:truncated:1", Fault::TruncatedJson),
        ("get:html:1", Fault::HtmlPage(502)),
        ("get:html=200:1", Fault::HtmlPage(200)),
        ("get:oversized=100:1", Fault::Oversized(100)),
        ("get:oversized-chunked=100:1", Fault::OversizedChunked(100)),
        (
            "get:trickle=10:1",
            Fault::Trickle {
                interval: Duration::from_millis(10),
            },
        ),
        ("get:empty:1", Fault::EmptyBody),
        ("get:deep=64:1", Fault::DeepJson(64)),
        ("get:wrong-shape:1", Fault::WrongShape),
        ("get:close:1", Fault::CloseAfterAnswer),
        ("get:echo:1", Fault::EchoRequest(400)),
        ("post:echo=503:2", Fault::EchoRequest(503)),
    ];
    for (text, fault) in cases {
        let armed = parse(text).unwrap();
        assert_eq!(armed.fault, fault, "{text}");
        assert_eq!(
            parse(&armed.to_string()),
            Ok(armed.clone()),
            "round trip of {text}"
        );
    }
    for bad in [
        "current",
        "current:drop",
        "nowhere:drop:1",
        "get:melt:1",
        "get:drop:x",
        "get:drop=1:1",
        "get:status=abc:1",
        "get:status=99:1",
        "get:status=503:later=1:1",
        "get:deprecated:1",
    ] {
        assert!(parse(bad).is_err(), "{bad} must not parse");
    }
}

#[test]
fn faults_armed_in_the_config_apply_from_the_start() {
    let config = SandboxConfig {
        faults: vec!["current:status=503:retry-after=2:1".parse().unwrap()],
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(config).unwrap();
    let mut client = Client::new(&sandbox.base_url());
    let tenant = new_tenant();
    let first = current(&mut client, &tenant);
    assert_eq!(
        (first.status, first.header("Retry-After")),
        (503, Some("2"))
    );
    assert_eq!(current(&mut client, &tenant).status, 404);
}
