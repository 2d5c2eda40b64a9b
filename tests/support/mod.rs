//! Helpers shared by the tests that drive the C ABI from other languages: the real cdylib
//! and sandbox binary built once per test run, sandbox processes, and compiling and running
//! C and C++ programs against the library.
//!
//! The artifacts are built into their own target directory (`target/ffi`): an outer
//! `cargo test` holds the lock of the main target directory, so building into it from a
//! test would wait forever. Cargo's own lock on `target/ffi` keeps concurrent test binaries
//! safe.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

/// Tenant of the sandbox's examples (any GUID works).
pub const TENANT: &str = himsa_sandbox::DEFAULT_TENANT;

/// How long any one program run by these helpers may take before it is killed.
pub const RUN_LIMIT: Duration = Duration::from_secs(180);

/// The workspace root (where `Cargo.toml`, `include/` and `bindings/` live).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The target directory the helpers build into: `<target>/ffi`.
pub fn ffi_target_dir() -> PathBuf {
    // CARGO_TARGET_TMPDIR is `<target>/tmp`, so this follows a relocated target directory.
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .map(|target| target.join("ffi"))
        .unwrap_or_else(|| root().join("target").join("ffi"))
}

/// A scratch directory for one test's build products, emptied first.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = ffi_target_dir().join("scratch").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch directory");
    dir
}

/// Paths of the artifacts the foreign-language tests need.
#[derive(Clone, Debug)]
pub struct Artifacts {
    /// The directory holding `libhimsa_conn.so` (for `-L`, rpath and `LD_LIBRARY_PATH`).
    pub lib_dir: PathBuf,
    /// `libhimsa_conn.so` itself.
    pub cdylib: PathBuf,
    /// The `himsa-sandbox` binary.
    pub sandbox: PathBuf,
}

fn cargo_build(args: &[&str]) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(root())
        .env("CARGO_TARGET_DIR", ffi_target_dir())
        .arg("build")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run cargo");
    assert!(
        output.status.success(),
        "cargo build {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Builds the cdylib and the sandbox binary once per test process and returns their paths.
pub fn artifacts() -> &'static Artifacts {
    static BUILT: OnceLock<Artifacts> = OnceLock::new();
    BUILT.get_or_init(|| {
        cargo_build(&["--lib", "-p", "himsa-conn"]);
        cargo_build(&["-p", "himsa-sandbox", "--bin", "himsa-sandbox"]);
        let lib_dir = ffi_target_dir().join("debug");
        let artifacts = Artifacts {
            cdylib: lib_dir.join(format!(
                "{}himsa_conn{}",
                std::env::consts::DLL_PREFIX,
                std::env::consts::DLL_SUFFIX
            )),
            sandbox: lib_dir.join(format!("himsa-sandbox{}", std::env::consts::EXE_SUFFIX)),
            lib_dir,
        };
        assert!(artifacts.cdylib.is_file(), "missing {:?}", artifacts.cdylib);
        assert!(
            artifacts.sandbox.is_file(),
            "missing {:?}",
            artifacts.sandbox
        );
        artifacts
    })
}

/// A running `himsa-sandbox --exit-on-stdin-close` process, killed when dropped.
pub struct SandboxProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    base_url: String,
}

impl SandboxProcess {
    /// Starts the sandbox with extra arguments (for example `["--fault", "current:drop:1"]`)
    /// and waits for the base URL on the first line of its output.
    pub fn start<I, S>(args: I) -> SandboxProcess
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut child = Command::new(&artifacts().sandbox)
            .arg("--exit-on-stdin-close")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start himsa-sandbox");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("sandbox stdout");
        let (sender, receiver) = mpsc::channel();
        thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = sender.send(line);
            // Keep draining so that the sandbox never blocks on a full pipe.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let line = receiver
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_default();
        let base_url = line.trim().to_owned();
        if !base_url.starts_with("http://") {
            let _ = child.kill();
            let mut err = String::new();
            if let Some(mut stderr) = child.stderr.take() {
                let _ = stderr.read_to_string(&mut err);
            }
            panic!("himsa-sandbox did not print its base URL (got {line:?}); stderr: {err}");
        }
        SandboxProcess {
            child,
            stdin,
            base_url,
        }
    }

    /// The base URL, such as `http://127.0.0.1:40123`.
    pub fn url(&self) -> &str {
        &self.base_url
    }
}

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The outcome of a program run.
#[derive(Debug)]
pub struct Run {
    /// The exit code, or -1 when killed by a signal or the time limit.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Panics with the whole output unless the program exited with 0.
    pub fn assert_ok(&self, what: &str) -> &Run {
        assert_eq!(
            self.code, 0,
            "{what} failed with exit code {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }
}

/// Runs a command with a time limit, collecting its output.
pub fn run_with_limit(mut command: Command, limit: Duration) -> Run {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_reader = thread::spawn(move || {
        let mut text = Vec::new();
        let _ = out.read_to_end(&mut text);
        text
    });
    let err_reader = thread::spawn(move || {
        let mut text = Vec::new();
        let _ = err.read_to_end(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for program") {
            break Some(status);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(20));
    };
    let stdout = String::from_utf8_lossy(&out_reader.join().unwrap_or_default()).into_owned();
    let mut stderr = String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned();
    if status.is_none() {
        stderr.push_str(&format!("\n[killed after {limit:?}]"));
    }
    Run {
        code: status.and_then(|s| s.code()).unwrap_or(-1),
        stdout,
        stderr,
    }
}

/// Whether a program can be found on `PATH`.
pub fn have_tool(name: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(name).is_file()))
}

/// Whether the tests run in CI, where a missing tool is a failure rather than a skip.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// Reports a missing tool: fails in CI, prints a visible line and skips otherwise.
/// Returns `true` when the test should go on.
pub fn require_tool(name: &str, install_hint: &str) -> bool {
    if have_tool(name) {
        return true;
    }
    assert!(
        !in_ci(),
        "{name} is missing and CI is set; install it: {install_hint}"
    );
    say_skipped(&format!(
        "{name} not found; to run this test: {install_hint}"
    ));
    false
}

/// Prints a SKIPPED line that stays visible: the test harness captures `eprintln!` of
/// passing tests, but not writes to the standard error stream itself.
pub fn say_skipped(why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED: {why}");
}

/// A C or C++ compiler invocation against the library's header and cdylib.
pub struct Compile {
    compiler: String,
    sources: Vec<PathBuf>,
    flags: Vec<String>,
    output: PathBuf,
}

impl Compile {
    /// Starts an invocation of `compiler` (for example `gcc` or `g++`) writing `output`.
    pub fn new(compiler: &str, output: PathBuf) -> Compile {
        Compile {
            compiler: compiler.to_owned(),
            sources: Vec::new(),
            flags: vec![
                "-Wall".into(),
                "-Wextra".into(),
                "-Werror".into(),
                "-g".into(),
            ],
            output,
        }
    }

    /// Adds a source file (relative to the workspace root, or absolute).
    pub fn source(mut self, path: impl AsRef<Path>) -> Compile {
        self.sources.push(root().join(path));
        self
    }

    /// Adds compiler flags.
    pub fn flags(mut self, flags: &[&str]) -> Compile {
        self.flags.extend(flags.iter().map(|f| (*f).to_owned()));
        self
    }

    /// Compiles and links against `libhimsa_conn`, panicking with the diagnostics on failure.
    pub fn build(self) -> PathBuf {
        let lib_dir = &artifacts().lib_dir;
        let mut command = Command::new(&self.compiler);
        command
            .args(&self.flags)
            .arg("-I")
            .arg(root().join("include"))
            .arg("-I")
            .arg(root().join("bindings/cpp/include"))
            .args(&self.sources)
            .arg("-o")
            .arg(&self.output)
            .arg("-L")
            .arg(lib_dir)
            .arg("-lhimsa_conn")
            .arg(format!("-Wl,-rpath,{}", lib_dir.display()))
            .arg("-lpthread");
        let run = run_with_limit(command, RUN_LIMIT);
        assert_eq!(
            run.code, 0,
            "{} failed to compile {:?}:\n{}{}",
            self.compiler, self.sources, run.stdout, run.stderr
        );
        self.output
    }
}

/// Runs a built program with arguments and the library directory on `LD_LIBRARY_PATH`.
pub fn run_program<S: AsRef<OsStr>>(program: &Path, args: &[S]) -> Run {
    let mut command = Command::new(program);
    command.args(args);
    command.env("LD_LIBRARY_PATH", &artifacts().lib_dir);
    run_with_limit(command, RUN_LIMIT)
}

/// Runs `wrapper` (such as `valgrind`) with arguments, then the program and its arguments.
pub fn run_wrapped<S: AsRef<OsStr>>(wrapper: &[&str], program: &Path, args: &[S]) -> Run {
    let mut command = Command::new(wrapper[0]);
    command.args(&wrapper[1..]).arg(program).args(args);
    command.env("LD_LIBRARY_PATH", &artifacts().lib_dir);
    run_with_limit(command, RUN_LIMIT)
}

/// Checks the end of a quickstart's output: the final table of a sandbox started with
/// `--auto-grant Limited,FirstName`, where the quickstart asked for `Limited`, `FirstName`
/// and `EmailAddress`.
pub fn assert_partially_granted_table(stdout: &str) {
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .collect();
    let has = |kind: &str, name: &str, state: &str| rows.iter().any(|r| r == &[kind, name, state]);
    assert!(
        stdout.contains("never connected"),
        "no never-connected line:\n{stdout}"
    );
    assert!(stdout.contains("/portal/"), "no portal URL:\n{stdout}");
    assert!(
        stdout.contains("may approve: yes"),
        "no approver line:\n{stdout}"
    );
    assert!(
        has("level", "Limited", "Granted"),
        "Limited not granted:\n{stdout}"
    );
    assert!(
        has("field", "FirstName", "Granted"),
        "FirstName not granted:\n{stdout}"
    );
    assert!(
        has("field", "EmailAddress", "Denied"),
        "EmailAddress not denied:\n{stdout}"
    );
    let last = rows
        .iter()
        .rev()
        .find(|r| !r.is_empty())
        .expect("some output");
    assert!(
        matches!(last[0], "level" | "field" | "type"),
        "the output does not end with the table:\n{stdout}"
    );
}
