//! The C++ wrapper (`bindings/cpp`) driven by a C++17 program
//! (`tests/support/cpp/wrapper_test.cpp`) against `himsa-sandbox` processes; the C++
//! quickstart built directly and through CMake (`add_subdirectory` and `find_package`).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use support::{run_program, run_with_limit, Compile, SandboxProcess, RUN_LIMIT};

const CXX_FLAGS: &[&str] = &["-std=c++17", "-Wpedantic"];

fn sandbox_args(scenario: &str) -> Vec<&'static str> {
    match scenario {
        "flow" => vec![
            "--auto-approve-after",
            "300",
            "--auto-grant",
            "Limited,FirstName",
        ],
        "threads" => vec!["--auto-approve-after", "100"],
        "deprecated" => vec!["--deprecated", "2030-06-30T00:00:00Z"],
        "faults" => vec![
            "--fault",
            "current:status=403:1",
            "--fault",
            "current:status=429:1",
            "--fault",
            "current:status=503:1",
            "--fault",
            "current:html:1",
            "--fault",
            "current:truncated:1",
            "--fault",
            "current:oversized=100000:1",
        ],
        _ => vec![],
    }
}

fn wrapper_test() -> &'static PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = support::scratch_dir("cpp");
        Compile::new("g++", dir.join("wrapper_test"))
            .flags(CXX_FLAGS)
            .source("tests/support/cpp/wrapper_test.cpp")
            .build()
    })
}

fn run_scenario(scenario: &str) {
    let sandbox = SandboxProcess::start(sandbox_args(scenario));
    run_program(wrapper_test(), &[scenario, sandbox.url()]).assert_ok(scenario);
}

#[test]
fn flow_through_the_wrapper() {
    run_scenario("flow");
}

#[test]
fn arguments_moves_and_options() {
    run_scenario("args");
}

#[test]
fn faults_become_exceptions() {
    run_scenario("faults");
}

#[test]
fn token_replacement() {
    run_scenario("token");
}

#[test]
fn viewer_timeout_and_cancel() {
    run_scenario("viewer");
}

#[test]
fn threads_share_one_connection() {
    run_scenario("threads");
}

#[test]
fn non_ascii_text() {
    run_scenario("nonascii");
}

#[test]
fn deprecation_notice() {
    run_scenario("deprecated");
}

fn run_quickstart(program: &Path) {
    let sandbox = SandboxProcess::start([
        "--auto-approve-after",
        "500",
        "--auto-grant",
        "Limited,FirstName",
    ]);
    let run = run_program(program, &[sandbox.url(), support::TENANT, "sandbox-token"]);
    run.assert_ok("C++ quickstart");
    support::assert_partially_granted_table(&run.stdout);
}

#[test]
fn cpp_quickstart_ends_partially_granted() {
    let dir = support::scratch_dir("cpp-quickstart");
    let program = Compile::new("g++", dir.join("quickstart"))
        .flags(CXX_FLAGS)
        .source("examples/cpp/quickstart.cpp")
        .build();
    run_quickstart(&program);
}

fn cmake(args: &[&str], dir: &Path) {
    let mut command = Command::new("cmake");
    command.args(args).current_dir(dir);
    let run = run_with_limit(command, RUN_LIMIT);
    run.assert_ok(&format!("cmake {args:?}"));
}

fn write_consumer(dir: &Path, how: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let root = support::root();
    let quickstart = root.join("examples/cpp/quickstart.cpp");
    let text = format!(
        "cmake_minimum_required(VERSION 3.19)\nproject(consumer CXX)\n{how}\n\
         add_executable(quickstart \"{}\")\n\
         target_link_libraries(quickstart PRIVATE himsa::conn)\n",
        quickstart.display()
    );
    std::fs::write(dir.join("CMakeLists.txt"), text).unwrap();
}

#[test]
fn cmake_add_subdirectory_and_find_package() {
    if !support::require_tool("cmake", "apt-get install cmake") {
        return;
    }
    support::artifacts();
    let dir = support::scratch_dir("cmake");
    let bindings = support::root().join("bindings/cpp");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let prefix = dir.join("prefix");

    // A project that adds the bindings as a subdirectory; cargo finds the library built.
    let sub = dir.join("sub");
    write_consumer(
        &sub,
        &format!("add_subdirectory(\"{}\" himsa-conn)", bindings.display()),
    );
    cmake(
        &[
            "-S",
            ".",
            "-B",
            "build",
            &format!("-DHIMSA_CONN_CARGO={cargo}"),
            &format!(
                "-DHIMSA_CONN_CARGO_TARGET_DIR={}",
                support::ffi_target_dir().display()
            ),
            &format!("-DCMAKE_INSTALL_PREFIX={}", prefix.display()),
        ],
        &sub,
    );
    cmake(&["--build", "build"], &sub);
    run_quickstart(&sub.join("build/quickstart"));

    // The installed package, found with find_package.
    cmake(&["--install", "build"], &sub);
    let found = dir.join("found");
    write_consumer(&found, "find_package(himsa-conn 0.1 CONFIG REQUIRED)");
    cmake(
        &[
            "-S",
            ".",
            "-B",
            "build",
            &format!("-DCMAKE_PREFIX_PATH={}", prefix.display()),
        ],
        &found,
    );
    cmake(&["--build", "build"], &found);
    run_quickstart(&found.join("build/quickstart"));
}
