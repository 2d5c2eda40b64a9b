//! The approval page, used over plain HTTP as a browser would.

mod common;

use std::collections::BTreeMap;

use common::*;
use himsa_sandbox::{
    AccessState, Choice, Decision, Level, Sandbox, SandboxConfig, DEFAULT_APP, SANDBOX_TOKEN,
};
use serde_json::json;

const FORM: &str = "application/x-www-form-urlencoded";

fn form_headers() -> Vec<(String, String)> {
    vec![("Content-Type".to_owned(), FORM.to_owned())]
}

/// Starts a sandbox and asks for Basic, two fields and two data types; returns the portal path.
fn asked() -> (Sandbox, Client, String, String) {
    let sandbox = Sandbox::start(SandboxConfig::default()).unwrap();
    let mut client = Client::new(&sandbox.base_url());
    let tenant = new_tenant();
    let body = json!({
        "userAccountAccessLevel": "Basic",
        "patientFields": ["FirstName", "LastName"],
        "dataTypes": [3, 12]
    });
    let answer = client.post(
        &connection_path(&tenant),
        &post_headers(SANDBOX_TOKEN, "portal-1"),
        &body.to_string(),
    );
    let url = answer.json()["appPortalUrl"].as_str().unwrap().to_owned();
    (sandbox, client, tenant, path_of(&url))
}

#[test]
fn page_shows_a_form_with_every_asked_item() {
    let (_sandbox, mut client, tenant, portal) = asked();
    let page = client.get(&portal, &[]);
    assert_eq!(page.status, 200, "no token needed");
    assert!(page
        .header("Content-Type")
        .unwrap()
        .starts_with("text/html"));
    let html = page.text();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(
        html.contains(&format!("<form method=\"post\" action=\"{portal}\">")),
        "{html}"
    );
    for button in ["approve_all", "deny_all", "choose"] {
        assert!(
            html.contains(&format!("name=\"decision\" value=\"{button}\"")),
            "{button}"
        );
    }
    for name in [
        "level",
        "field.FirstName",
        "field.LastName",
        "datatype.3",
        "datatype.12",
    ] {
        for value in ["grant", "deny"] {
            let input = format!("<input type=\"radio\" name=\"{name}\" value=\"{value}\">");
            assert!(html.contains(&input), "{input}");
        }
    }
    assert!(html.contains("Sandbox User"));
    assert!(html.contains(DEFAULT_APP));
    assert!(html.contains(&tenant));
}

#[test]
fn approve_all_through_the_form() {
    let (sandbox, mut client, tenant, portal) = asked();
    let body = sandbox.portal_form_body(&Decision::ApproveAll);
    assert_eq!(body, "decision=approve_all");
    let done = client.post(&portal, &form_headers(), &body);
    assert_eq!(done.status, 200);
    assert!(done.text().contains("saved"));
    let access = client
        .get(&current_path(&tenant), &api_headers(SANDBOX_TOKEN))
        .json();
    assert_eq!(access["userAccountAccessLevels"][0]["access"], "Granted");
    assert!(access["patientFields"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["access"] == "Granted"));
    assert!(access["dataTypes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["access"] == "Granted"));

    // The page now shows no choices, and a second decision has nothing to decide.
    let page = client.get(&portal, &[]).text();
    assert!(!page.contains("type=\"radio\""));
    let again = client.post(&portal, &form_headers(), "decision=deny_all");
    assert_eq!(again.status, 409);
    assert!(again
        .header("Content-Type")
        .unwrap()
        .starts_with("text/html"));
}

#[test]
fn deny_all_through_the_form() {
    let (sandbox, mut client, tenant, portal) = asked();
    let body = sandbox.portal_form_body(&Decision::DenyAll);
    assert_eq!(client.post(&portal, &form_headers(), &body).status, 200);
    let access = sandbox.access(&tenant, DEFAULT_APP).unwrap();
    assert_eq!(access.levels.get(&Level::Basic), Some(&AccessState::Denied));
    assert_eq!(
        access.patient_fields.get("LastName"),
        Some(&AccessState::Denied)
    );
    assert_eq!(access.data_types.get(&12), Some(&AccessState::Denied));
}

#[test]
fn chosen_items_through_the_form() {
    let (sandbox, mut client, tenant, portal) = asked();
    let decision = Decision::Choose {
        level: Some(Choice::Grant),
        fields: BTreeMap::from([("LastName".to_owned(), Choice::Deny)]),
        data_types: BTreeMap::from([(12, Choice::Grant)]),
    };
    let body = sandbox.portal_form_body(&decision);
    assert_eq!(
        body,
        "decision=choose&level=grant&field.LastName=deny&datatype.12=grant"
    );
    assert_eq!(client.post(&portal, &form_headers(), &body).status, 200);
    let access = sandbox.access(&tenant, DEFAULT_APP).unwrap();
    assert_eq!(
        access.levels.get(&Level::Basic),
        Some(&AccessState::Granted)
    );
    assert_eq!(
        access.patient_fields.get("FirstName"),
        Some(&AccessState::PendingApproval)
    );
    assert_eq!(
        access.patient_fields.get("LastName"),
        Some(&AccessState::Denied)
    );
    assert_eq!(
        access.data_types.get(&3),
        Some(&AccessState::PendingApproval)
    );
    assert_eq!(access.data_types.get(&12), Some(&AccessState::Granted));

    // What a browser sends for the "Submit choices" button with radios picked.
    let browser = "field.FirstName=grant&datatype.3=deny&decision=choose";
    assert_eq!(client.post(&portal, &form_headers(), browser).status, 200);
    let access = sandbox.access(&tenant, DEFAULT_APP).unwrap();
    assert_eq!(
        access.patient_fields.get("FirstName"),
        Some(&AccessState::Granted)
    );
    assert_eq!(access.data_types.get(&3), Some(&AccessState::Denied));
}

#[test]
fn bad_forms_and_unknown_connections() {
    let (_sandbox, mut client, tenant, portal) = asked();
    let bad = client.post(&portal, &form_headers(), "decision=maybe");
    assert_eq!(bad.status, 400);
    assert!(bad.text().contains("maybe"));
    assert_eq!(
        client.post(&portal, &form_headers(), "level=grant").status,
        400
    );
    assert_eq!(
        client
            .post(&portal, &form_headers(), "decision=choose&datatype.x=grant")
            .status,
        400
    );
    let json_type = vec![("Content-Type".to_owned(), "application/json".to_owned())];
    assert_eq!(
        client
            .post(&portal, &json_type, "decision=approve_all")
            .status,
        415
    );
    let unknown = format!("/portal/{tenant}/{}", new_tenant());
    let missing = client.get(&unknown, &[]);
    assert_eq!(missing.status, 404);
    assert!(missing
        .header("Content-Type")
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(client.send("PUT", &portal, &[], b"").unwrap().status, 405);
}

#[test]
fn replaced_connection_page_and_decision() {
    let (sandbox, mut client, tenant, portal) = asked();
    let newer = client.post(
        &connection_path(&tenant),
        &post_headers(SANDBOX_TOKEN, "portal-2"),
        &json!({"userAccountAccessLevel": "Advanced"}).to_string(),
    );
    let newer_portal = path_of(newer.json()["appPortalUrl"].as_str().unwrap());
    let old_page = client.get(&portal, &[]);
    assert_eq!(old_page.status, 200);
    assert!(old_page.text().contains("replaced"));
    assert!(!old_page.text().contains("<form"));
    let refused = client.post(&portal, &form_headers(), "decision=approve_all");
    assert_eq!(refused.status, 409);
    assert_eq!(
        client
            .post(&newer_portal, &form_headers(), "decision=approve_all")
            .status,
        200
    );
    let access = sandbox.access(&tenant, DEFAULT_APP).unwrap();
    assert_eq!(
        access.levels.get(&Level::Advanced),
        Some(&AccessState::Granted)
    );
    assert_eq!(
        access.levels.get(&Level::Basic),
        None,
        "the replaced pending level is gone"
    );
}

#[test]
fn field_names_are_escaped_in_the_page() {
    let sandbox = Sandbox::start(SandboxConfig::default()).unwrap();
    let mut client = Client::new(&sandbox.base_url());
    let tenant = new_tenant();
    let body = json!({"userAccountAccessLevel": "Limited", "patientFields": ["<b>\"x\""]});
    let answer = client.post(
        &connection_path(&tenant),
        &post_headers(SANDBOX_TOKEN, "e-1"),
        &body.to_string(),
    );
    let page = client
        .get(
            &path_of(answer.json()["appPortalUrl"].as_str().unwrap()),
            &[],
        )
        .text();
    assert!(!page.contains("<b>"));
    assert!(page.contains("&lt;b&gt;&quot;x&quot;"));
}
