//! The App Connection flow from start to end.
//!
//! With no arguments it starts the sandbox (a local emulator of the service) in this process
//! and plays the user who approves in the browser: a partial grant. With
//! `--api URL --tenant ID --token-file PATH` it runs against a real HIMSA environment and
//! waits for a real person to approve at the printed portal URL.
//!
//! ```text
//! cargo run --example quickstart
//! cargo run --example quickstart -- --api https://api.qa.eu.noah-es.com \
//!     --tenant <tenant GUID> --token-file token.txt
//! ```

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use himsa_conn::{
    AccessLevel, Client, Config, CurrentDataAccess, HimsaOutcome, HimsaRequestPolicy, Need,
};
use himsa_sandbox::{Choice, Decision, Sandbox, SandboxConfig, DEFAULT_TENANT, SANDBOX_TOKEN};

/// Where the flow runs: the in-process sandbox, or a real environment.
enum Target {
    Sandbox(Sandbox),
    Real {
        api: String,
        tenant: String,
        token: String,
    },
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("quickstart: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let target = parse_args()?;
    let (api, tenant, token) = match &target {
        Target::Sandbox(sandbox) => {
            println!("sandbox running at {}", sandbox.base_url());
            (
                sandbox.base_url(),
                DEFAULT_TENANT.to_owned(),
                SANDBOX_TOKEN.to_owned(),
            )
        }
        Target::Real { api, tenant, token } => (api.clone(), tenant.clone(), token.clone()),
    };

    let mut config = Config::new(&api, &tenant, &token);
    config.user_agent = "himsa-conn-quickstart".to_owned();
    if matches!(target, Target::Sandbox(_)) {
        config.poll_interval = Duration::from_millis(200);
        config.max_poll_interval = Duration::from_secs(1);
    }
    let client = Client::new(config).map_err(|e| e.to_string())?;

    println!("\n1. read the current data access");
    match client.current_data_access().map_err(|e| e.to_string())? {
        None => println!("   never connected in this tenant"),
        Some(answer) => print_table(&answer.value),
    }

    println!("\n2. ask for what the app needs: Limited, patient fields FirstName and EmailAddress");
    let need = Need {
        level: AccessLevel::Limited,
        patient_fields: vec!["FirstName".into(), "EmailAddress".into()],
        data_types: Vec::new(),
    };
    let decision = client
        .ensure_access(&need, HimsaRequestPolicy::IfNeeded)
        .map_err(|e| e.to_string())?;
    println!("   outcome: {}", decision.outcome.as_str());
    if decision.outcome == HimsaOutcome::Granted {
        println!("   everything needed is already granted");
        return Ok(());
    }
    println!("   approve at: {}", decision.portal_url());
    println!("   this user may approve: {}", decision.user_can_approve());

    println!("\n3. a user decides in the browser");
    let user = match &target {
        Target::Sandbox(sandbox) => Some(play_the_user(sandbox, decision.portal_url().to_owned())),
        Target::Real { .. } => {
            println!("   open the URL above in a browser; waiting up to 10 minutes");
            None
        }
    };

    println!("\n4. wait for the approval");
    let timeout = if user.is_some() {
        Duration::from_secs(30)
    } else {
        Duration::from_secs(600)
    };
    let waited = client
        .wait_for_approval(&need, timeout)
        .map_err(|e| e.to_string())?;
    if let Some(user) = user {
        user.join()
            .map_err(|_| "the simulated user failed".to_owned())??;
    }
    println!("   outcome: {}", waited.outcome.as_str());
    if waited.outcome == HimsaOutcome::Denied {
        println!("   a user refused part of what was asked; the app works with what is granted");
    }

    println!("\n5. the final data access");
    match client.current_data_access().map_err(|e| e.to_string())? {
        None => println!("   never connected in this tenant"),
        Some(answer) => print_table(&answer.value),
    }
    Ok(())
}

/// Posts the approval page's form as a browser would: grants Limited and FirstName, denies
/// EmailAddress.
fn play_the_user(sandbox: &Sandbox, portal_url: String) -> thread::JoinHandle<Result<(), String>> {
    let mut fields = BTreeMap::new();
    fields.insert("FirstName".to_owned(), Choice::Grant);
    fields.insert("EmailAddress".to_owned(), Choice::Deny);
    let choice = Decision::Choose {
        level: Some(Choice::Grant),
        fields,
        data_types: BTreeMap::new(),
    };
    let form = sandbox.portal_form_body(&choice);
    thread::spawn(move || {
        thread::sleep(Duration::from_millis(500));
        let answer = ureq::post(&portal_url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send(form.as_bytes())
            .map_err(|e| format!("the approval page did not answer: {e}"))?;
        println!(
            "   the user granted Limited and FirstName, denied EmailAddress (page answered {})",
            answer.status()
        );
        Ok(())
    })
}

fn print_table(access: &CurrentDataAccess) {
    println!("   {:<24} state", "item");
    for entry in &access.user_account_access_levels {
        println!(
            "   {:<24} {}",
            format!("level {}", entry.level),
            entry.access
        );
    }
    for entry in &access.patient_fields {
        println!(
            "   {:<24} {}",
            format!("field {}", entry.field),
            entry.access
        );
    }
    for entry in &access.data_types {
        println!(
            "   {:<24} {}",
            format!("data type {}", entry.data_type),
            entry.access
        );
    }
}

fn parse_args() -> Result<Target, String> {
    let mut api = None;
    let mut tenant = None;
    let mut token_file = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--api" => api = Some(value("--api")?),
            "--tenant" => tenant = Some(value("--tenant")?),
            "--token-file" => token_file = Some(value("--token-file")?),
            "-h" | "--help" => {
                println!(
                    "usage: quickstart [--api URL --tenant GUID --token-file PATH]\n\
                     without arguments the flow runs against a local sandbox"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}; see --help")),
        }
    }
    match (api, tenant, token_file) {
        (None, None, None) => {
            let sandbox = Sandbox::start(SandboxConfig::default())
                .map_err(|e| format!("the sandbox did not start: {e}"))?;
            Ok(Target::Sandbox(sandbox))
        }
        (Some(api), Some(tenant), Some(path)) => {
            let token = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read the token file {path}: {e}"))?;
            Ok(Target::Real {
                api,
                tenant,
                token: token.trim().to_owned(),
            })
        }
        _ => Err("--api, --tenant and --token-file go together".to_owned()),
    }
}
