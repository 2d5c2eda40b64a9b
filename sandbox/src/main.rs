//! `himsa-sandbox`: runs the App Connection API emulator until killed.

use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use himsa_sandbox::{
    ArmedFault, AutoDecide, Grant, Sandbox, SandboxConfig, TokenGrant, DEFAULT_TENANT,
};

const HELP: &str = "\
himsa-sandbox: an offline emulator of the HIMSA SSO App Connection API

Usage: himsa-sandbox [OPTIONS]

The first line printed is the base URL (such as http://127.0.0.1:40123); the next lines
name the default tenant and the tokens. The sandbox then serves until it is killed.

Options (a value may also be given as --option=VALUE):
  --host IP                  Address to listen on [default: 127.0.0.1]
  --port PORT                Port to listen on; 0 picks a free one [default: 0]
  --pascal-case              Answer in PascalCase (AppConnectionId, {\"Field\", \"Access\"})
                             instead of camelCase
  --auto-approve-after MS    Decide every request MS milliseconds after it was posted
  --auto-grant WHAT          What that decision grants, the rest being denied: all,
                             none, or a comma-separated list of levels, patient field
                             names and data type numbers, e.g. Limited,FirstName,3
                             [default: all]
  --fault SPEC               Arm a fault at start (repeatable), see below
  --deprecated SUNSET        Add Noah-Deprecated: true and Noah-Sunset-Date: SUNSET to
                             every answer
  --token SPEC               Add a token: TOKEN,APP,USER NAME[,approve|view][,expired]
                             (default approve); repeatable
  --exit-on-stdin-close      Stop when standard input reaches its end, so that a test
                             harness holding the pipe cannot leak the process
  -h, --help                 Print this help
  -V, --version              Print the version

Default tokens (app sandbox-app): sandbox-token (user \"Sandbox User\", may approve),
viewer-token (user \"Viewer\", may not approve), expired-token (expired).

Fault SPEC: ROUTE:KIND[=ARG]:TIMES
  ROUTE  current (GET .../GetCurrentDataAccess), post (POST .../AppConnection),
         get (GET .../AppConnection) or any (every request)
  TIMES  how many of the next requests of that route get the fault
  KIND   delay=MS                      wait, then answer normally
         status=CODE[:retry-after=V]   answer CODE with a JSON problem (V: seconds or
                                       an HTTP date, sent as Retry-After)
         drop                          send the headers and half the body, then close
         truncated                     the real answer's status, half its body, matching length
         html[=STATUS]                 a text/html gateway error page [default: 502]
         oversized=BYTES               200 JSON body of BYTES bytes with Content-Length
         oversized-chunked=BYTES       the same, chunked
         trickle=MS                    200, one byte of a huge body every MS ms
         empty                         200 with an empty body
         deep=DEPTH                    200 with [[[...]]] nested DEPTH deep
         wrong-shape                   200 with valid JSON of the wrong shape
         echo[=STATUS]                 STATUS (400) whose problem repeats the request headers
         deprecated=SUNSET             answer normally with the deprecation headers
         close                         answer normally, then close the connection
  Everything between the first and the last colon is KIND, so values may hold colons.
  Examples: current:status=503:retry-after=1:2   post:drop:1   any:delay=1500:3

Approval page: GET {base}/portal/{tenant}/{id} (the appPortalUrl of an answer); POST it
as a form with decision=approve_all|deny_all|choose and, with choose, level=grant|deny,
field.<Name>=grant|deny and datatype.<N>=grant|deny.
";

struct Options {
    config: SandboxConfig,
    exit_on_stdin_close: bool,
}

fn parse_token(spec: &str) -> Result<TokenGrant, String> {
    let parts: Vec<&str> = spec.split(',').map(str::trim).collect();
    if parts.len() < 3 || parts[..3].iter().any(|p| p.is_empty()) {
        return Err(format!(
            "--token {spec:?}: expected TOKEN,APP,USER NAME[,approve|view][,expired]"
        ));
    }
    let mut grant = TokenGrant::new(parts[0], parts[1], parts[2], true);
    for flag in &parts[3..] {
        match *flag {
            "approve" => grant.can_approve = true,
            "view" => grant.can_approve = false,
            "expired" => grant.expired = true,
            other => return Err(format!("--token {spec:?}: unknown flag {other:?}")),
        }
    }
    Ok(grant)
}

/// What `main` should do.
enum Command {
    Run(Box<Options>),
    Print(String),
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut config = SandboxConfig::default();
    let mut exit_on_stdin_close = false;
    let mut after: Option<Duration> = None;
    let mut grant: Option<Grant> = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |what: &str| -> Result<String, String> {
            match inline.clone() {
                Some(v) => Ok(v),
                None => args.next().ok_or_else(|| format!("{name} needs {what}")),
            }
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(Command::Print(HELP.to_owned())),
            "-V" | "--version" => {
                return Ok(Command::Print(format!(
                    "himsa-sandbox {}\n",
                    env!("CARGO_PKG_VERSION")
                )))
            }
            "--host" => {
                let text = value("an IP address")?;
                let ip: IpAddr = text
                    .parse()
                    .map_err(|_| format!("--host: {text:?} is not an IP address"))?;
                config.bind = SocketAddr::new(ip, config.bind.port());
            }
            "--port" => {
                let text = value("a port")?;
                let port = text
                    .parse()
                    .map_err(|_| format!("--port: {text:?} is not a port"))?;
                config.bind.set_port(port);
            }
            "--pascal-case" => config.pascal_case = true,
            "--auto-approve-after" => {
                let text = value("milliseconds")?;
                let ms: u64 = text
                    .parse()
                    .map_err(|_| format!("--auto-approve-after: {text:?} is not a number"))?;
                after = Some(Duration::from_millis(ms));
            }
            "--auto-grant" => grant = Some(value("all, none or a list")?.parse()?),
            "--fault" => config
                .faults
                .push(value("a fault spec")?.parse::<ArmedFault>()?),
            "--deprecated" => config.deprecated_sunset = Some(value("a sunset date")?),
            "--token" => {
                let token = parse_token(&value("a token spec")?)?;
                config.tokens.retain(|t| t.token != token.token);
                config.tokens.push(token);
            }
            "--exit-on-stdin-close" => exit_on_stdin_close = true,
            _ => return Err(format!("unknown argument {arg:?}; see --help")),
        }
    }
    config.auto_decide = match (after, grant) {
        (Some(after), grant) => Some(AutoDecide {
            after,
            grant: grant.unwrap_or(Grant::All),
        }),
        (None, Some(_)) => return Err("--auto-grant needs --auto-approve-after".into()),
        (None, None) => None,
    };
    Ok(Command::Run(Box::new(Options {
        config,
        exit_on_stdin_close,
    })))
}

fn describe(config: &SandboxConfig) -> String {
    let mut text = format!("tenant: {DEFAULT_TENANT} (any GUID works)\n");
    for t in &config.tokens {
        let approve = if t.can_approve {
            "may approve"
        } else {
            "may not approve"
        };
        let expired = if t.expired { ", expired" } else { "" };
        text.push_str(&format!(
            "token: {} (app {}, user \"{}\", {approve}{expired})\n",
            t.token, t.app_id, t.user_name
        ));
    }
    if let Some(auto) = &config.auto_decide {
        text.push_str(&format!(
            "auto decision: {} ms after each request, granting {}\n",
            auto.after.as_millis(),
            auto.grant
        ));
    }
    for fault in &config.faults {
        text.push_str(&format!("armed fault: {fault}\n"));
    }
    text
}

fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(Command::Run(options)) => options,
        Ok(Command::Print(text)) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("himsa-sandbox: {message}");
            return ExitCode::from(2);
        }
    };
    let description = describe(&options.config);
    let mut sandbox = match Sandbox::start(options.config) {
        Ok(sandbox) => sandbox,
        Err(error) => {
            eprintln!("himsa-sandbox: cannot listen: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = io::stdout().lock();
    // Harnesses read the first line to find the sandbox, so it must arrive at once.
    let printed = writeln!(out, "{}", sandbox.base_url())
        .and_then(|()| out.flush())
        .and_then(|()| write!(out, "{description}"))
        .and_then(|()| out.flush());
    drop(out);
    if let Err(error) = printed {
        eprintln!("himsa-sandbox: cannot write to standard output: {error}");
    }
    if options.exit_on_stdin_close {
        let _ = io::copy(&mut io::stdin().lock(), &mut io::sink());
        sandbox.stop();
        return ExitCode::SUCCESS;
    }
    loop {
        thread::park();
    }
}
