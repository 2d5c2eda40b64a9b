//! Regression tests for faults found while hardening the library, and for every crash the
//! fuzz targets find (the failing input goes here as a test).
//! Each finding is listed in docs/reliability.md under "Findings".

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use himsa_conn::{
    AccessLevel, AppConnection, AppConnectionRequest, Client, Config, CurrentDataAccess,
    HimsaStatus, Need, ProxySetting,
};
use himsa_sandbox::{Sandbox, SandboxConfig, DEFAULT_TENANT, SANDBOX_TOKEN};

fn config(sandbox: &Sandbox) -> Config {
    let mut config = Config::new(&sandbox.base_url(), DEFAULT_TENANT, SANDBOX_TOKEN);
    config.proxy = ProxySetting::Direct;
    config
}

/// The outcome of a call that must return, not panic.
fn no_panic<T>(call: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(call)).unwrap_or_else(|_| panic!("the call panicked"))
}

#[test]
fn config_debug_hides_proxy_credentials() {
    let mut config = Config::new("https://api.example.invalid", DEFAULT_TENANT, "t");
    config.proxy = ProxySetting::Url("http://user:secret@127.0.0.1:3128".into());
    let text = format!("{config:?}");
    assert!(!text.contains("secret"), "{text}");
    assert!(text.contains("127.0.0.1:3128"), "{text}");
}

#[test]
fn timeouts_too_large_for_a_deadline_are_refused_not_panicked_on() {
    let sandbox = Sandbox::start(SandboxConfig::default()).unwrap();
    for field in ["connect", "request", "overall"] {
        let mut config = config(&sandbox);
        match field {
            "connect" => config.connect_timeout = Duration::MAX,
            "request" => config.request_timeout = Duration::MAX,
            _ => config.overall_timeout = Duration::MAX,
        }
        let outcome = no_panic(|| Client::new(config).and_then(|c| c.current_data_access()));
        match outcome {
            Err(e) => assert_eq!(e.status(), HimsaStatus::InvalidArgument, "{field}: {e}"),
            Ok(answer) => assert_eq!(answer, None, "{field}"),
        }
    }
    assert!(sandbox.requests().len() <= 3);
}

#[test]
fn the_longest_wait_for_approval_does_not_panic() {
    let sandbox = Sandbox::start(SandboxConfig::default()).unwrap();
    let client = Client::new(config(&sandbox)).unwrap();
    let outcome =
        no_panic(|| client.wait_for_approval(&Need::level(AccessLevel::Basic), Duration::MAX));
    match outcome {
        Ok(decision) => assert_eq!(decision.outcome, himsa_conn::HimsaOutcome::NeverConnected),
        Err(e) => assert_eq!(e.status(), HimsaStatus::InvalidArgument, "{e}"),
    }
}

#[test]
fn a_base_url_with_credentials_is_refused() {
    let config = Config::new("https://user:pw@api.example.invalid", DEFAULT_TENANT, "t");
    let err = Client::new(config).unwrap_err();
    assert_eq!(err.status(), HimsaStatus::InvalidArgument);
    assert!(!err.message().contains("pw@"), "{err}");
}

/// Inputs the fuzz targets' invariants rest on, kept as plain tests so that they run on
/// stable in every CI run.
#[test]
fn fuzz_seed_invariants_hold_on_stable() {
    let seeds = [
        r#"{"userAccountAccessLevels":[{"accessLevel":"Basic","access":"Granted"},{"accessLevel":"Advanced","access":"Denied"},{"accessLevel":"Limited","access":"PendingApproval"}],"created":"2023-02-23T08:46:57.956Z"}"#,
        r#"{"UserAccountAccessLevels":[{"Field":"Basic","Access":"Granted"}],"Created":"2023-04-04T19:17:22.0751316Z"}"#,
        r#"{"UserAccountAccessLevels":[{"field":"Platinum","access":"Frozen"},{"accessLevel":null,"access":"Granted"},7],"patientFields":null,"dataTypes":[{"dataType":"3","access":"Granted"},{"dataType":1.5,"access":"Denied"}],"canManagePatients":"yes","futureMember":{"nested":[1]},"created":"2023-02-23T08:46:57"}"#,
        r#"{"created":"x","Created":5,"CREATED":null}"#,
        "{}",
    ];
    for seed in seeds {
        let value: serde_json::Value = serde_json::from_str(seed).unwrap();
        let access = CurrentDataAccess::from_value(&value).expect(seed);
        let again = CurrentDataAccess::from_value(&access.to_value()).expect(seed);
        assert_eq!(
            again.user_account_access_levels, access.user_account_access_levels,
            "{seed}"
        );
        assert_eq!(again.patient_fields, access.patient_fields, "{seed}");
        assert_eq!(again.data_types, access.data_types, "{seed}");
        assert_eq!(again.created, access.created, "{seed}");

        let wrapped = serde_json::json!({ "appConnectionId": "a", "currentDataAccess": value });
        let connection = AppConnection::from_value(&wrapped).expect(seed);
        let again = AppConnection::from_value(&connection.to_value()).expect(seed);
        assert_eq!(again.app_connection_id, "a");
        assert_eq!(
            again
                .current_data_access
                .map(|a| a.user_account_access_levels),
            connection
                .current_data_access
                .map(|a| a.user_account_access_levels)
        );
    }
    for refused in ["[]", "null", "3", "\"text\""] {
        let value: serde_json::Value = serde_json::from_str(refused).unwrap();
        assert!(CurrentDataAccess::from_value(&value).is_err(), "{refused}");
        assert!(AppConnection::from_value(&value).is_err(), "{refused}");
    }

    let request = r#"{"UserAccountAccessLevel":" limited ","PatientFields":["FirstName"],"DataTypes":[1,"3"]}"#;
    let value: serde_json::Value = serde_json::from_str(request).unwrap();
    let read = AppConnectionRequest::from_value(&value).unwrap();
    assert_eq!(read.user_account_access_level, AccessLevel::Limited);
    assert_eq!(read.data_types, vec![1, 3]);
    assert_eq!(
        AppConnectionRequest::from_value(&read.to_value()).unwrap(),
        read
    );
}
