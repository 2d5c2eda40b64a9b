//! The C ABI driven by a real C program (`tests/support/c/ffi_test.c`) built against the
//! committed header and the real cdylib, run against `himsa-sandbox` processes: plainly,
//! under valgrind and with the address and undefined-behaviour sanitizers. The C quickstart
//! example runs here too.

mod support;

use std::path::PathBuf;
use std::sync::OnceLock;

use support::{run_program, run_wrapped, Compile, SandboxProcess};

const FAULTS: &[&str] = &[
    "current:status=403:1",
    "current:status=429:retry-after=1:1",
    "current:status=500:1",
    "current:status=502:1",
    "current:status=503:1",
    "current:status=418:1",
    "current:status=409:1",
    "current:html:1",
    "current:html=200:1",
    "current:truncated:1",
    "current:empty:1",
    "current:wrong-shape:1",
    "current:oversized=100000:1",
    "current:oversized-chunked=100000:1",
    "current:status=429:retry-after=1:1",
];

/// The sandbox arguments each scenario of the C program expects.
fn sandbox_args(scenario: &str) -> Vec<String> {
    let args: Vec<&str> = match scenario {
        "flow" => vec![
            "--auto-approve-after",
            "300",
            "--auto-grant",
            "Limited,FirstName",
        ],
        "threads" => vec!["--auto-approve-after", "100"],
        "deprecated" => vec!["--deprecated", "2030-06-30T00:00:00Z"],
        "pascal" => vec!["--pascal-case", "--auto-approve-after", "100"],
        "faults" => {
            return FAULTS
                .iter()
                .flat_map(|f| ["--fault", f])
                .map(String::from)
                .collect()
        }
        _ => vec![],
    };
    args.into_iter().map(String::from).collect()
}

const SCENARIOS: &[&str] = &[
    "args",
    "flow",
    "token",
    "viewer",
    "faults",
    "threads",
    "nonascii",
    "deprecated",
    "pascal",
];

const C_FLAGS: &[&str] = &["-std=c11", "-Wpedantic"];

fn ffi_test() -> &'static PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = support::scratch_dir("c");
        Compile::new("gcc", dir.join("ffi_test"))
            .flags(C_FLAGS)
            .source("tests/support/c/ffi_test.c")
            .build()
    })
}

fn sanitized_ffi_test() -> Option<&'static PathBuf> {
    static BUILT: OnceLock<Option<PathBuf>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let compiler = ["clang", "gcc"]
                .into_iter()
                .find(|c| support::have_tool(c))?;
            let dir = support::scratch_dir("c-sanitized");
            Some(
                Compile::new(compiler, dir.join("ffi_test_sanitized"))
                    .flags(C_FLAGS)
                    .flags(&[
                        "-fsanitize=address,undefined",
                        "-fno-sanitize-recover=undefined",
                        "-fno-omit-frame-pointer",
                    ])
                    .source("tests/support/c/ffi_test.c")
                    .build(),
            )
        })
        .as_ref()
}

fn run_scenario(scenario: &str) {
    let sandbox = SandboxProcess::start(sandbox_args(scenario));
    run_program(ffi_test(), &[scenario, sandbox.url()]).assert_ok(scenario);
}

#[test]
fn null_and_invalid_arguments() {
    run_scenario("args");
}

#[test]
fn flow_with_partial_grant() {
    run_scenario("flow");
}

#[test]
fn expired_token_and_token_replacement() {
    run_scenario("token");
}

#[test]
fn viewer_timeout_and_cancel() {
    run_scenario("viewer");
}

#[test]
fn every_fault_maps_to_its_status() {
    run_scenario("faults");
}

#[test]
fn two_threads_share_one_handle() {
    run_scenario("threads");
}

#[test]
fn non_ascii_text_both_ways() {
    run_scenario("nonascii");
}

#[test]
fn deprecation_headers() {
    run_scenario("deprecated");
}

#[test]
fn pascal_case_answers() {
    run_scenario("pascal");
}

#[test]
fn no_leaks_or_memory_errors_under_valgrind() {
    if !support::require_tool("valgrind", "apt-get install valgrind") {
        return;
    }
    let suppressions = support::root().join("tests/support/valgrind.supp");
    let suppressions = format!("--suppressions={}", suppressions.display());
    let valgrind = [
        "valgrind",
        "-q",
        "--leak-check=full",
        "--error-exitcode=1",
        suppressions.as_str(),
    ];
    for scenario in ["args", "flow", "token", "viewer", "threads", "faults"] {
        let sandbox = SandboxProcess::start(sandbox_args(scenario));
        run_wrapped(&valgrind, ffi_test(), &[scenario, sandbox.url()])
            .assert_ok(&format!("{scenario} under valgrind"));
    }
}

#[test]
fn clean_under_address_and_undefined_sanitizers() {
    let Some(program) = sanitized_ffi_test() else {
        assert!(
            !support::in_ci(),
            "no C compiler with sanitizers and CI is set"
        );
        support::say_skipped("neither clang nor gcc found; apt-get install gcc");
        return;
    };
    for scenario in SCENARIOS {
        let sandbox = SandboxProcess::start(sandbox_args(scenario));
        run_program(program, &[*scenario, sandbox.url()])
            .assert_ok(&format!("{scenario} with sanitizers"));
    }
}

#[test]
fn c_quickstart_ends_partially_granted() {
    let dir = support::scratch_dir("c-quickstart");
    let program = Compile::new("gcc", dir.join("quickstart"))
        .flags(C_FLAGS)
        .source("examples/c/quickstart.c")
        .build();
    let sandbox = SandboxProcess::start([
        "--auto-approve-after",
        "500",
        "--auto-grant",
        "Limited,FirstName",
    ]);
    let run = run_program(&program, &[sandbox.url(), support::TENANT, "sandbox-token"]);
    run.assert_ok("C quickstart");
    support::assert_partially_granted_table(&run.stdout);
}

#[test]
fn run_script_runs_the_c_example() {
    if !support::require_tool("bash", "apt-get install bash") {
        return;
    }
    support::artifacts();
    let mut command = std::process::Command::new("bash");
    command
        .arg(support::root().join("examples/run.sh"))
        .arg("c")
        .env("CARGO_TARGET_DIR", support::ffi_target_dir());
    let run = support::run_with_limit(command, support::RUN_LIMIT);
    run.assert_ok("examples/run.sh c");
    support::assert_partially_granted_table(&run.stdout);
}
