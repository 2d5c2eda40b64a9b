//! The Rust client against the sandbox over real HTTP on loopback: the calls, the planner's
//! requests as the service receives them, and how every kind of failure is reported.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use himsa_conn::{
    AccessLevel, AccessState, AppConnectionRequest, Client, Config, HimsaOutcome,
    HimsaRequestPolicy, HimsaStatus, Need,
};
use himsa_sandbox::{
    Choice, Decision, Fault, Level, Route, Sandbox, SandboxConfig, DEFAULT_TENANT, EXPIRED_TOKEN,
    SANDBOX_TOKEN, VIEWER_TOKEN,
};

fn sandbox() -> Sandbox {
    Sandbox::start(SandboxConfig::default()).expect("sandbox starts on loopback")
}

fn config(sandbox: &Sandbox, token: &str) -> Config {
    let mut config = Config::new(&sandbox.base_url(), DEFAULT_TENANT, token);
    config.poll_interval = Duration::from_millis(20);
    config.max_poll_interval = Duration::from_millis(100);
    config.max_retry_wait = Duration::from_millis(1500);
    config
}

fn client(sandbox: &Sandbox) -> Client {
    Client::new(config(sandbox, SANDBOX_TOKEN)).expect("valid configuration")
}

fn ask(level: AccessLevel) -> AppConnectionRequest {
    AppConnectionRequest {
        user_account_access_level: level,
        patient_fields: Vec::new(),
        data_types: Vec::new(),
    }
}

/// A client whose log lines are collected.
fn client_with_log(sandbox: &Sandbox) -> (Client, Arc<std::sync::Mutex<Vec<String>>>) {
    let lines = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut config = config(sandbox, SANDBOX_TOKEN);
    let sink = Arc::clone(&lines);
    config.log = Some(Arc::new(move |_, line: &str| {
        sink.lock().unwrap().push(line.to_owned())
    }));
    (Client::new(config).unwrap(), lines)
}

fn levels(client: &Client) -> Vec<(AccessLevel, AccessState)> {
    let access = client
        .current_data_access()
        .unwrap()
        .expect("connected")
        .value;
    let mut levels: Vec<_> = access
        .user_account_access_levels
        .into_iter()
        .map(|e| (e.level, e.access))
        .collect();
    levels.sort_by_key(|(level, _)| level.rank());
    levels
}

#[test]
fn never_connected_is_a_normal_answer() {
    let sandbox = sandbox();
    let client = client(&sandbox);
    assert_eq!(client.current_data_access().unwrap(), None);

    let err = client.app_connection().unwrap_err();
    assert_eq!(err.status(), HimsaStatus::NotFound);
    assert_eq!(err.http_status(), 404);
}

#[test]
fn request_then_approval_is_read_back() {
    let sandbox = sandbox();
    let client = client(&sandbox);

    let answer = client.request_access(&ask(AccessLevel::Basic)).unwrap();
    assert_eq!(answer.http_status, 200);
    let connection = &answer.value;
    assert!(!connection.app_connection_id.is_empty());
    assert!(connection.current_user_can_approve_requests);
    assert!(connection.app_portal_url.starts_with(&sandbox.base_url()));
    assert_eq!(
        connection.current_data_access, None,
        "null right after the first request"
    );
    assert!(
        answer.raw.contains("appConnectionId"),
        "raw JSON kept: {}",
        answer.raw
    );
    assert!(connection.created.as_ref().and_then(|c| c.utc).is_some());

    assert_eq!(
        levels(&client),
        vec![(AccessLevel::Basic, AccessState::PendingApproval)]
    );
    sandbox
        .decide(DEFAULT_TENANT, &Decision::ApproveAll)
        .unwrap();
    assert_eq!(
        levels(&client),
        vec![(AccessLevel::Basic, AccessState::Granted)]
    );

    let read = client.app_connection().unwrap().value;
    assert_eq!(read.app_connection_id, connection.app_connection_id);
}

#[test]
fn every_post_carries_a_fresh_idempotency_id_and_the_api_headers() {
    let sandbox = sandbox();
    let client = client(&sandbox);
    client.request_access(&ask(AccessLevel::Limited)).unwrap();
    client.request_access(&ask(AccessLevel::Limited)).unwrap();
    client.current_data_access().unwrap();

    let log = sandbox.requests();
    let posts: Vec<_> = log.iter().filter(|r| r.method == "POST").collect();
    assert_eq!(posts.len(), 2);
    let ids: Vec<&str> = posts
        .iter()
        .map(|r| r.idempotency_id.as_deref().unwrap())
        .collect();
    assert_ne!(ids[0], ids[1]);
    for id in ids {
        assert_eq!(id.len(), 36, "a UUID: {id}");
    }
    for request in &log {
        assert_eq!(request.header("X-Api-Version"), Some("1.0"));
        assert_eq!(request.header("Accept"), Some("application/json"));
        assert_eq!(request.header("Authorization"), Some("Bearer <redacted>"));
        assert!(request
            .header("User-Agent")
            .unwrap()
            .starts_with("himsa-conn/"));
    }
    assert_eq!(posts[0].header("Content-Type"), Some("application/json"));
    assert!(
        log[2].idempotency_id.is_none(),
        "a GET has no idempotency id"
    );
}

#[test]
fn sequential_calls_reuse_one_connection() {
    let sandbox = sandbox();
    let client = client(&sandbox);
    client.request_access(&ask(AccessLevel::Limited)).unwrap();
    for _ in 0..20 {
        client.current_data_access().unwrap();
    }
    assert_eq!(sandbox.connections_opened(), 1);
}

#[test]
fn pascal_case_answers_read_the_same() {
    let sandbox = Sandbox::start(SandboxConfig {
        pascal_case: true,
        ..SandboxConfig::default()
    })
    .unwrap();
    let client = client(&sandbox);
    let connection = client.request_access(&ask(AccessLevel::Advanced)).unwrap();
    assert!(
        connection.raw.contains("AppConnectionId"),
        "{}",
        connection.raw
    );
    assert!(!connection.value.app_connection_id.is_empty());
    sandbox.decide(DEFAULT_TENANT, &Decision::DenyAll).unwrap();
    assert_eq!(
        levels(&client),
        vec![(AccessLevel::Advanced, AccessState::Denied)]
    );
}

#[test]
fn planner_never_asks_for_less_than_granted() {
    let sandbox = sandbox();
    let client = client(&sandbox);
    client.request_access(&ask(AccessLevel::Advanced)).unwrap();
    sandbox
        .decide(DEFAULT_TENANT, &Decision::ApproveAll)
        .unwrap();

    // Advanced covers Limited: nothing is sent.
    let covered = client
        .ensure_access(
            &Need::level(AccessLevel::Limited),
            HimsaRequestPolicy::IfNeeded,
        )
        .unwrap();
    assert_eq!(covered.outcome, HimsaOutcome::Granted);
    assert!(covered.sent.is_none());

    // Asking for a patient field must keep Advanced in the request, or the sandbox (like
    // the service) would drop the granted level.
    let need = Need {
        level: AccessLevel::Limited,
        patient_fields: vec!["FirstName".into()],
        data_types: vec![4],
    };
    let decision = client
        .ensure_access(&need, HimsaRequestPolicy::IfNeeded)
        .unwrap();
    assert_eq!(decision.outcome, HimsaOutcome::PendingApproval);
    let sent = decision.sent.clone().expect("a request was needed");
    assert_eq!(sent.user_account_access_level, AccessLevel::Advanced);
    assert_eq!(sent.patient_fields, vec!["FirstName".to_owned()]);
    assert_eq!(sent.data_types, vec![4]);
    assert!(decision.user_can_approve());
    assert!(decision.portal_url().contains("/portal/"));

    let snapshot = sandbox
        .access(DEFAULT_TENANT, himsa_sandbox::DEFAULT_APP)
        .unwrap();
    assert_eq!(
        snapshot.levels.get(&Level::Advanced),
        Some(&himsa_sandbox::AccessState::Granted)
    );

    // Exactly that is pending now: no second post unless forced.
    let again = client
        .ensure_access(&need, HimsaRequestPolicy::IfNeeded)
        .unwrap();
    assert_eq!(again.outcome, HimsaOutcome::PendingApproval);
    assert!(again.sent.is_none());
    assert_eq!(again.portal_url(), decision.portal_url());
    let forced = client
        .ensure_access(&need, HimsaRequestPolicy::Always)
        .unwrap();
    assert!(forced.sent.is_some());
    let posts = sandbox
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(posts, 3);
}

#[test]
fn check_only_reports_without_posting() {
    let sandbox = sandbox();
    let client = client(&sandbox);
    let need = Need::level(AccessLevel::Basic);
    let never = client
        .ensure_access(&need, HimsaRequestPolicy::CheckOnly)
        .unwrap();
    assert_eq!(never.outcome, HimsaOutcome::NeverConnected);

    client.request_access(&ask(AccessLevel::Limited)).unwrap();
    sandbox
        .decide(DEFAULT_TENANT, &Decision::ApproveAll)
        .unwrap();
    let missing = client
        .ensure_access(&need, HimsaRequestPolicy::CheckOnly)
        .unwrap();
    assert_eq!(missing.outcome, HimsaOutcome::NotRequested);
    assert_eq!(
        sandbox
            .requests()
            .iter()
            .filter(|r| r.method == "POST")
            .count(),
        1
    );
}

#[test]
fn partial_grant_and_wait_for_approval() {
    let sandbox = sandbox();
    let client = Arc::new(client(&sandbox));
    let need = Need {
        level: AccessLevel::Limited,
        patient_fields: vec!["FirstName".into(), "EmailAddress".into()],
        data_types: Vec::new(),
    };
    let first = client
        .ensure_access(&need, HimsaRequestPolicy::IfNeeded)
        .unwrap();
    assert_eq!(first.outcome, HimsaOutcome::PendingApproval);

    let waiter = {
        let client = Arc::clone(&client);
        let need = need.clone();
        thread::spawn(move || client.wait_for_approval(&need, Duration::from_secs(10)))
    };
    thread::sleep(Duration::from_millis(100));
    let mut fields = BTreeMap::new();
    fields.insert("FirstName".to_owned(), Choice::Grant);
    fields.insert("EmailAddress".to_owned(), Choice::Deny);
    let choice = Decision::Choose {
        level: Some(Choice::Grant),
        fields,
        data_types: BTreeMap::new(),
    };
    sandbox.decide(DEFAULT_TENANT, &choice).unwrap();

    let decision = waiter.join().unwrap().unwrap();
    assert_eq!(
        decision.outcome,
        HimsaOutcome::Denied,
        "EmailAddress was refused"
    );
    let access = decision.access.unwrap();
    assert_eq!(access.field_state("firstname"), Some(&AccessState::Granted));
    assert_eq!(
        access.field_state("EmailAddress"),
        Some(&AccessState::Denied)
    );
    assert_eq!(
        access.level_state(&AccessLevel::Limited),
        Some(&AccessState::Granted)
    );
}

#[test]
fn wait_times_out_and_can_be_cancelled() {
    let sandbox = sandbox();
    let client = Arc::new(client(&sandbox));
    let need = Need::level(AccessLevel::Basic);
    client
        .ensure_access(&need, HimsaRequestPolicy::IfNeeded)
        .unwrap();

    let timed_out = client
        .wait_for_approval(&need, Duration::from_millis(150))
        .unwrap_err();
    assert_eq!(timed_out.status(), HimsaStatus::Timeout);
    assert!(timed_out.message().contains("pending"), "{timed_out}");

    let waiter = {
        let client = Arc::clone(&client);
        thread::spawn(move || {
            let started = Instant::now();
            (
                client.wait_for_approval(&need, Duration::from_secs(30)),
                started.elapsed(),
            )
        })
    };
    thread::sleep(Duration::from_millis(200));
    client.cancel();
    let (result, elapsed) = waiter.join().unwrap();
    assert_eq!(result.unwrap_err().status(), HimsaStatus::Cancelled);
    assert!(elapsed < Duration::from_secs(10));

    // The cancel does not poison later calls.
    assert!(client.current_data_access().unwrap().is_some());
    let zero = client.wait_for_approval(&Need::level(AccessLevel::Basic), Duration::ZERO);
    assert_eq!(zero.unwrap_err().status(), HimsaStatus::InvalidArgument);
}

#[test]
fn expired_and_unknown_tokens_are_unauthorized_without_retries() {
    let sandbox = sandbox();
    let client = Client::new(config(&sandbox, EXPIRED_TOKEN)).unwrap();
    let err = client.current_data_access().unwrap_err();
    assert_eq!(err.status(), HimsaStatus::Unauthorized);
    assert_eq!(err.http_status(), 401);
    assert!(err.message().contains("invalid_token"), "{err}");
    assert!(err.message().contains("expired"), "{err}");
    assert!(
        !err.message().contains(EXPIRED_TOKEN),
        "the token never appears in messages"
    );
    assert_eq!(sandbox.requests().len(), 1, "no retry on 401");

    // Replacing the token on the live client fixes it.
    client.set_access_token(SANDBOX_TOKEN).unwrap();
    assert_eq!(client.current_data_access().unwrap(), None);
    assert_eq!(
        client.set_access_token("").unwrap_err().status(),
        HimsaStatus::InvalidArgument
    );
}

#[test]
fn viewer_cannot_approve() {
    let sandbox = sandbox();
    let client = Client::new(config(&sandbox, VIEWER_TOKEN)).unwrap();
    let decision = client.ensure_access(
        &Need::level(AccessLevel::Basic),
        HimsaRequestPolicy::IfNeeded,
    );
    let decision = decision.unwrap();
    assert_eq!(decision.outcome, HimsaOutcome::PendingApproval);
    assert!(!decision.user_can_approve());
}

/// Arms `fault` on the current access route and returns the error of one read.
fn failing_read(fault: Fault, times: u32) -> (himsa_conn::Error, Sandbox) {
    let sandbox = sandbox();
    let client = client(&sandbox);
    client.request_access(&ask(AccessLevel::Limited)).unwrap();
    sandbox.clear_log();
    sandbox.arm(Route::CurrentDataAccess, fault, times);
    let err = client.current_data_access().unwrap_err();
    (err, sandbox)
}

#[test]
fn http_failures_map_to_their_statuses() {
    let table = [
        (
            Fault::Status {
                code: 403,
                retry_after: None,
            },
            HimsaStatus::Forbidden,
            403,
        ),
        (
            Fault::Status {
                code: 400,
                retry_after: None,
            },
            HimsaStatus::BadRequest,
            400,
        ),
        (
            Fault::Status {
                code: 409,
                retry_after: None,
            },
            HimsaStatus::Conflict,
            409,
        ),
        (
            Fault::Status {
                code: 418,
                retry_after: None,
            },
            HimsaStatus::HttpClientError,
            418,
        ),
        (
            Fault::Status {
                code: 500,
                retry_after: None,
            },
            HimsaStatus::ServerError,
            500,
        ),
        (Fault::HtmlPage(502), HimsaStatus::ServerError, 502),
        (Fault::HtmlPage(200), HimsaStatus::UnreadableAnswer, 200),
        (Fault::TruncatedJson, HimsaStatus::UnreadableAnswer, 200),
        (Fault::EmptyBody, HimsaStatus::UnreadableAnswer, 200),
        (Fault::DeepJson(10_000), HimsaStatus::UnreadableAnswer, 200),
        (
            Fault::Oversized(4 * 1024 * 1024),
            HimsaStatus::AnswerTooLarge,
            200,
        ),
        (
            Fault::OversizedChunked(4 * 1024 * 1024),
            HimsaStatus::AnswerTooLarge,
            200,
        ),
    ];
    for (fault, status, http) in table {
        let name = format!("{fault:?}");
        // Enough faults for every retry, so that the last attempt fails too.
        let (err, _sandbox) = failing_read(fault, 10);
        assert_eq!(err.status(), status, "{name}: {err}");
        assert_eq!(err.http_status(), http, "{name}: {err}");
        assert!(
            err.message().contains("GetCurrentDataAccess"),
            "{name}: {err}"
        );
    }
}

#[test]
fn html_error_page_is_named_not_quoted() {
    let (err, _sandbox) = failing_read(Fault::HtmlPage(502), 10);
    assert!(err.message().contains("HTML"), "{err}");
    assert!(!err.message().contains("<html"), "{err}");
}

#[test]
fn a_server_echoing_the_token_never_gets_it_into_messages_or_logs() {
    let sandbox = sandbox();
    let (client, lines) = client_with_log(&sandbox);

    sandbox.arm(Route::CurrentDataAccess, Fault::EchoRequest(400), 1);
    let err = client.current_data_access().unwrap_err();
    assert_eq!(err.status(), HimsaStatus::BadRequest);
    assert!(err.message().contains("Bearer <redacted>"), "{err}");
    assert!(!err.message().contains(SANDBOX_TOKEN), "{err}");

    // Retried failures are logged with their message: the log is redacted too.
    sandbox.arm(Route::CurrentDataAccess, Fault::EchoRequest(503), 5);
    let err = client.current_data_access().unwrap_err();
    assert_eq!(err.status(), HimsaStatus::ServerError);
    assert!(!err.message().contains(SANDBOX_TOKEN), "{err}");
    let lines = lines.lock().unwrap();
    assert!(lines.iter().any(|l| l.contains("<redacted>")), "{lines:?}");
    assert!(
        lines.iter().all(|l| !l.contains(SANDBOX_TOKEN)),
        "{lines:?}"
    );
}

#[test]
fn an_unreadable_access_stops_the_planner_from_posting() {
    let sandbox = sandbox();
    let client = client(&sandbox);
    client.request_access(&ask(AccessLevel::Advanced)).unwrap();
    sandbox
        .decide(DEFAULT_TENANT, &Decision::ApproveAll)
        .unwrap();
    sandbox.clear_log();

    // With part of the access unreadable, a request could drop the granted Advanced level.
    sandbox.arm(Route::CurrentDataAccess, Fault::WrongShape, 1);
    let need = Need {
        level: AccessLevel::Limited,
        patient_fields: vec!["FirstName".into()],
        data_types: Vec::new(),
    };
    let err = client
        .ensure_access(&need, HimsaRequestPolicy::Always)
        .unwrap_err();
    assert_eq!(err.status(), HimsaStatus::UnreadableAnswer, "{err}");
    assert!(err.message().contains("not asking for access"), "{err}");
    assert!(sandbox.requests().iter().all(|r| r.method != "POST"));
    assert_eq!(
        levels(&client),
        vec![(AccessLevel::Advanced, AccessState::Granted)]
    );
}

#[test]
fn plain_http_never_goes_through_a_remote_proxy() {
    let sandbox = sandbox();
    let mut remote = config(&sandbox, SANDBOX_TOKEN);
    remote.proxy = himsa_conn::ProxySetting::Url("http://proxy.example:3128".into());
    let err = Client::new(remote).unwrap_err();
    assert_eq!(err.status(), HimsaStatus::InvalidArgument);
    assert!(err.message().contains("unencrypted"), "{err}");
}

#[test]
fn wrong_shape_is_read_leniently() {
    let sandbox = sandbox();
    let client = client(&sandbox);
    client.request_access(&ask(AccessLevel::Limited)).unwrap();
    sandbox.arm(Route::CurrentDataAccess, Fault::WrongShape, 1);
    let answer = client.current_data_access().unwrap().unwrap();
    assert!(answer.value.user_account_access_levels.is_empty());
    assert!(
        !answer.value.warnings.is_empty(),
        "the wrong shape is reported in warnings"
    );
}

#[test]
fn rate_limit_and_unavailable_are_retried_after_the_asked_wait() {
    for code in [429, 503] {
        let sandbox = sandbox();
        let client = client(&sandbox);
        client.request_access(&ask(AccessLevel::Limited)).unwrap();
        sandbox.clear_log();
        sandbox.arm(
            Route::CurrentDataAccess,
            Fault::Status {
                code,
                retry_after: Some("1".into()),
            },
            1,
        );
        let started = Instant::now();
        let answer = client.current_data_access().unwrap();
        assert!(answer.is_some(), "{code}: success after the retry");
        assert!(
            started.elapsed() >= Duration::from_millis(900),
            "{code}: Retry-After honoured"
        );
        let statuses: Vec<u16> = sandbox.requests().iter().map(|r| r.status).collect();
        assert_eq!(statuses, vec![code, 200]);
    }
}

#[test]
fn retries_stop_at_the_limit() {
    let (err, sandbox) = failing_read(
        Fault::Status {
            code: 502,
            retry_after: None,
        },
        10,
    );
    assert_eq!(err.status(), HimsaStatus::ServerError);
    assert_eq!(
        sandbox.requests().len(),
        3,
        "the first attempt and two retries"
    );

    let sandbox2 = self::sandbox();
    let mut no_retries = config(&sandbox2, SANDBOX_TOKEN);
    no_retries.max_retries = 0;
    let client = Client::new(no_retries).unwrap();
    sandbox2.arm(
        Route::CurrentDataAccess,
        Fault::Status {
            code: 503,
            retry_after: None,
        },
        5,
    );
    assert_eq!(
        client.current_data_access().unwrap_err().status(),
        HimsaStatus::ServerError
    );
    assert_eq!(sandbox2.requests().len(), 1);
}

#[test]
fn a_retried_post_keeps_its_idempotency_id() {
    let sandbox = sandbox();
    let client = client(&sandbox);
    sandbox.arm(
        Route::PostAppConnection,
        Fault::Status {
            code: 503,
            retry_after: None,
        },
        1,
    );
    client.request_access(&ask(AccessLevel::Basic)).unwrap();
    let posts: Vec<_> = sandbox
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[0].idempotency_id, posts[1].idempotency_id);
    assert_eq!((posts[0].status, posts[1].status), (503, 200));
}

#[test]
fn a_retry_that_would_pass_the_deadline_is_not_made() {
    let sandbox = sandbox();
    let mut short = config(&sandbox, SANDBOX_TOKEN);
    short.overall_timeout = Duration::from_millis(500);
    short.max_retry_wait = Duration::from_secs(30);
    let client = Client::new(short).unwrap();
    sandbox.arm(
        Route::CurrentDataAccess,
        Fault::Status {
            code: 429,
            retry_after: Some("5".into()),
        },
        1,
    );
    let started = Instant::now();
    let err = client.current_data_access().unwrap_err();
    assert_eq!(err.status(), HimsaStatus::RateLimited);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn slow_answers_hit_the_deadline() {
    let sandbox = sandbox();
    let mut short = config(&sandbox, SANDBOX_TOKEN);
    short.request_timeout = Duration::from_millis(300);
    short.overall_timeout = Duration::from_millis(800);
    // The trickled body announces a gigabyte; a large cap lets the deadline, not the cap,
    // end the read.
    short.max_answer_bytes = 1 << 31;
    let client = Client::new(short).unwrap();
    client.request_access(&ask(AccessLevel::Limited)).unwrap();

    sandbox.arm(
        Route::CurrentDataAccess,
        Fault::Delay(Duration::from_secs(3)),
        5,
    );
    let started = Instant::now();
    assert_eq!(
        client.current_data_access().unwrap_err().status(),
        HimsaStatus::Timeout
    );
    assert!(started.elapsed() < Duration::from_secs(2));

    sandbox.disarm_all();
    sandbox.arm(
        Route::CurrentDataAccess,
        Fault::Trickle {
            interval: Duration::from_millis(50),
        },
        5,
    );
    let started = Instant::now();
    assert_eq!(
        client.current_data_access().unwrap_err().status(),
        HimsaStatus::Timeout
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn deprecation_notice_is_surfaced() {
    let sandbox = sandbox();
    let client = client(&sandbox);
    assert_eq!(client.deprecation(), None);
    sandbox.arm(
        Route::Any,
        Fault::Deprecated {
            sunset: "2027-06-30T00:00:00Z".into(),
        },
        1,
    );
    client.current_data_access().unwrap();
    let notice = client.deprecation().expect("announced");
    assert_eq!(notice.sunset_date.as_deref(), Some("2027-06-30T00:00:00Z"));
}

#[test]
fn log_lines_never_contain_the_token() {
    let sandbox = sandbox();
    let (client, lines) = client_with_log(&sandbox);
    sandbox.arm(
        Route::PostAppConnection,
        Fault::Status {
            code: 503,
            retry_after: None,
        },
        1,
    );
    client.request_access(&ask(AccessLevel::Basic)).unwrap();
    let lines = lines.lock().unwrap();
    assert!(
        lines.iter().any(|l| l.contains("retry 1 of 2")),
        "{lines:?}"
    );
    assert!(lines.iter().all(|l| !l.contains(SANDBOX_TOKEN)));
}

#[test]
fn one_client_serves_many_threads() {
    let sandbox = sandbox();
    let client = Arc::new(client(&sandbox));
    client.request_access(&ask(AccessLevel::Limited)).unwrap();
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let client = Arc::clone(&client);
            thread::spawn(move || {
                for _ in 0..25 {
                    assert!(client.current_data_access().unwrap().is_some());
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    assert!(
        sandbox.connections_opened() <= 8,
        "{}",
        sandbox.connections_opened()
    );
}

#[test]
fn refused_connection_is_a_network_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut config = Config::new(&format!("http://127.0.0.1:{port}"), DEFAULT_TENANT, "t");
    config.max_retry_wait = Duration::from_millis(10);
    let client = Client::new(config).unwrap();
    let err = client.current_data_access().unwrap_err();
    assert_eq!(err.status(), HimsaStatus::Network, "{err}");
    assert_eq!(err.http_status(), 0);
}
