//! The `himsa-sandbox` binary: first line, options, and stopping when stdin closes.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use himsa_sandbox::{DEFAULT_TENANT, SANDBOX_TOKEN};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_himsa-sandbox");

/// Kills the child if a test fails before it is done with it.
struct Running {
    child: Child,
    stdout: BufReader<ChildStdout>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(args: &[&str]) -> (Running, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .arg("--exit-on-stdin-close")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the binary");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut running = Running { child, stdout };
    let mut first = String::new();
    running.stdout.read_line(&mut first).unwrap();
    (running, first.trim_end().to_owned())
}

fn wait_for_exit(running: &mut Running) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Some(status) = running.child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn prints_its_url_first_and_stops_when_stdin_closes() {
    let (mut running, url) = spawn(&[]);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let addr = addr_of(&url);
    assert_ne!(addr.port(), 0);

    let mut rest = String::new();
    for _ in 0..4 {
        running.stdout.read_line(&mut rest).unwrap();
    }
    assert!(rest.contains(DEFAULT_TENANT), "{rest}");
    assert!(rest.contains("sandbox-token"));
    assert!(rest.contains("viewer-token"));
    assert!(rest.contains("expired-token"));

    let mut client = Client::new(&url);
    let resp = client.get(&current_path(DEFAULT_TENANT), &api_headers(SANDBOX_TOKEN));
    assert_eq!(resp.status, 404);

    drop(running.child.stdin.take());
    let status = wait_for_exit(&mut running).expect("exits once stdin closes");
    assert!(status.success());
    assert!(std::net::TcpStream::connect(addr).is_err());
}

#[test]
fn options_shape_the_sandbox() {
    let (mut running, url) = spawn(&[
        "--pascal-case",
        "--port=0",
        "--fault",
        "current:status=503:retry-after=1:1",
        "--auto-approve-after",
        "100",
        "--auto-grant",
        "Limited,FirstName",
        "--deprecated",
        "2030-01-01",
        "--token",
        "cli-token,cli-app,Cli User,view",
    ]);
    let mut client = Client::new(&url);
    let tenant = new_tenant();

    let refused = client.get(&current_path(&tenant), &api_headers(SANDBOX_TOKEN));
    assert_eq!(refused.status, 503);
    assert_eq!(refused.header("Retry-After"), Some("1"));
    assert_eq!(refused.header("Noah-Sunset-Date"), Some("2030-01-01"));

    let body =
        json!({"userAccountAccessLevel": "Limited", "patientFields": ["FirstName", "LastName"]});
    let answer = client
        .post(
            &connection_path(&tenant),
            &post_headers("cli-token", "b-1"),
            &body.to_string(),
        )
        .json();
    assert_eq!(answer["CurrentUserCanApproveRequests"], false);
    std::thread::sleep(Duration::from_millis(200));
    let access = client
        .get(&current_path(&tenant), &api_headers("cli-token"))
        .json();
    assert_eq!(
        access["UserAccountAccessLevels"],
        json!([{"Field": "Limited", "Access": "Granted"}])
    );
    assert_eq!(
        access["PatientFields"],
        json!([
            {"Field": "FirstName", "Access": "Granted"},
            {"Field": "LastName", "Access": "Denied"}
        ])
    );

    drop(running.child.stdin.take());
    assert!(wait_for_exit(&mut running).is_some());
}

#[test]
fn help_names_every_option_and_bad_arguments_fail() {
    let help = Command::new(BIN).arg("--help").output().unwrap();
    assert!(help.status.success());
    let text = String::from_utf8(help.stdout).unwrap();
    for option in [
        "--host",
        "--port",
        "--pascal-case",
        "--auto-approve-after",
        "--auto-grant",
        "--fault",
        "--deprecated",
        "--token",
        "--exit-on-stdin-close",
        "--help",
        "--version",
        "retry-after",
        "oversized-chunked",
        "trickle",
        "decision=approve_all",
    ] {
        assert!(text.contains(option), "--help lacks {option}");
    }

    for args in [
        &["--fault", "current:melt:1"][..],
        &["--port", "x"],
        &["--auto-grant", "all"],
        &["--token", "only-token"],
        &["--what"],
    ] {
        let mut child = Command::new(BIN)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut stdout)
            .unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(2), "{args:?}");
        assert!(stdout.is_empty(), "no URL for {args:?}");
    }
}
