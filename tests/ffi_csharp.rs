//! The C# wrapper (`bindings/csharp`) compiled with Mono's `mcs`, its NUnit tests run with
//! `nunit-console` against `himsa-sandbox` processes, and the C# quickstart run.
//!
//! Without Mono the test prints how to install it and passes, unless `CI` is set: there a
//! missing toolchain fails.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{run_with_limit, SandboxProcess, RUN_LIMIT};

const INSTALL: &str = "apt-get install mono-mcs mono-runtime nunit-console libnunit-cil-dev";

/// Where Debian's packages put the NUnit 2.6 framework assembly.
fn nunit_framework() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("NUNIT_FRAMEWORK_DLL") {
        return Some(PathBuf::from(path));
    }
    let mut candidates = Vec::new();
    for dir in ["/usr/lib/cli", "/usr/lib/mono/gac/nunit.framework"] {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with("nunit.framework") || dir.ends_with("nunit.framework") {
                    candidates.push(entry.path().join("nunit.framework.dll"));
                }
            }
        }
    }
    candidates.sort();
    candidates.into_iter().find(|p| p.is_file())
}

/// Whether Mono, mcs, nunit-console and the NUnit framework are all there; prints the
/// install line (or fails in CI) when not.
fn toolchain() -> Option<PathBuf> {
    for tool in ["mcs", "mono", "nunit-console"] {
        if !support::require_tool(tool, INSTALL) {
            return None;
        }
    }
    let framework = nunit_framework();
    if framework.is_none() {
        assert!(
            !support::in_ci(),
            "nunit.framework.dll is missing and CI is set; install it: {INSTALL}"
        );
        support::say_skipped(&format!(
            "nunit.framework.dll not found; to run this test: {INSTALL}"
        ));
    }
    framework
}

fn sources(dir: &str) -> Vec<PathBuf> {
    let dir = support::root().join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {dir:?}: {e}"))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "cs"))
        .collect();
    files.sort();
    files
}

fn mcs(out: &Path, target: &str, references: &[&Path], files: &[PathBuf]) {
    let mut command = Command::new("mcs");
    command
        .arg(format!("-target:{target}"))
        .arg(format!("-out:{}", out.display()))
        .arg("-langversion:7.2")
        .arg("-warnaserror+")
        .arg("-nologo");
    for reference in references {
        command.arg(format!("-r:{}", reference.display()));
    }
    command.args(files);
    run_with_limit(command, RUN_LIMIT).assert_ok(&format!("mcs {}", out.display()));
}

/// Builds the wrapper into a fresh directory next to a copy of the native library, where
/// Mono's `DllImport("himsa_conn")` finds `libhimsa_conn.so`.
fn build_wrapper(dir: &Path) -> PathBuf {
    let artifacts = support::artifacts();
    let dll = dir.join("HimsaConn.dll");
    mcs(&dll, "library", &[], &sources("bindings/csharp/HimsaConn"));
    let native = artifacts.cdylib.file_name().expect("library name");
    std::fs::copy(&artifacts.cdylib, dir.join(native)).expect("copy the native library");
    dll
}

fn mono_command(dir: &Path, program: &str) -> Command {
    let mut command = Command::new(program);
    command
        .current_dir(dir)
        .env("LD_LIBRARY_PATH", dir)
        .env("HIMSA_SANDBOX", &support::artifacts().sandbox);
    command
}

#[test]
fn csharp_nunit_tests_pass() {
    let Some(framework) = toolchain() else {
        return;
    };
    let dir = support::scratch_dir("csharp-tests");
    let wrapper = build_wrapper(&dir);
    let local_framework = dir.join("nunit.framework.dll");
    std::fs::copy(&framework, &local_framework).expect("copy nunit.framework.dll");
    let tests = dir.join("HimsaConn.Tests.dll");
    mcs(
        &tests,
        "library",
        &[&wrapper, &local_framework],
        &sources("bindings/csharp/HimsaConn.Tests"),
    );

    let mut command = mono_command(&dir, "nunit-console");
    command
        .arg("-nologo")
        .arg("-noshadow")
        .arg(format!("-xml={}", dir.join("TestResult.xml").display()))
        .arg(&tests);
    let run = run_with_limit(command, RUN_LIMIT);
    println!("{}", run.stdout);
    run.assert_ok("nunit-console");
    assert!(
        run.stdout.contains("Errors: 0, Failures: 0"),
        "NUnit reported failures:\n{}",
        run.stdout
    );
}

#[test]
fn csharp_quickstart_ends_partially_granted() {
    if toolchain().is_none() {
        return;
    }
    let dir = support::scratch_dir("csharp-quickstart");
    let wrapper = build_wrapper(&dir);
    let exe = dir.join("Quickstart.exe");
    mcs(
        &exe,
        "exe",
        &[&wrapper],
        &[support::root().join("examples/csharp/Quickstart.cs")],
    );
    let sandbox = SandboxProcess::start([
        "--auto-approve-after",
        "500",
        "--auto-grant",
        "Limited,FirstName",
    ]);
    let mut command = mono_command(&dir, "mono");
    command
        .arg(&exe)
        .args([sandbox.url(), support::TENANT, "sandbox-token"]);
    let run = run_with_limit(command, RUN_LIMIT);
    run.assert_ok("C# quickstart");
    support::assert_partially_granted_table(&run.stdout);
}
