//! The API routes, the access model, authentication and the request log, over real HTTP.

mod common;

use std::time::Duration;

use common::*;
use himsa_sandbox::{
    AccessState, AutoDecide, Choice, DecideError, Decision, Grant, Level, Sandbox, SandboxConfig,
    TokenGrant, DEFAULT_APP, DEFAULT_TENANT, EXPIRED_TOKEN, SANDBOX_TOKEN, VIEWER_TOKEN,
};
use serde_json::{json, Value};

fn start() -> Sandbox {
    Sandbox::start(SandboxConfig::default()).expect("start the sandbox")
}

fn post(client: &mut Client, tenant: &str, token: &str, id: &str, body: &Value) -> Resp {
    client.post(
        &connection_path(tenant),
        &post_headers(token, id),
        &body.to_string(),
    )
}

fn current(client: &mut Client, tenant: &str) -> Resp {
    client.get(&current_path(tenant), &api_headers(SANDBOX_TOKEN))
}

fn assert_problem(resp: &Resp, status: u16, detail_part: &str) {
    assert_eq!(resp.status, status, "{}", resp.text());
    assert!(resp
        .header("Content-Type")
        .unwrap()
        .starts_with("application/problem+json"));
    let problem = resp.json();
    assert_eq!(problem["status"], status);
    assert!(problem["title"].as_str().is_some_and(|t| !t.is_empty()));
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains(detail_part),
        "{detail:?} lacks {detail_part:?}"
    );
}

#[test]
fn current_data_access_is_404_until_the_app_asks() {
    let sandbox = start();
    let mut client = Client::new(&sandbox.base_url());
    let tenant = new_tenant();

    assert_problem(&current(&mut client, &tenant), 404, "no connection");
    let get = client.get(&connection_path(&tenant), &api_headers(SANDBOX_TOKEN));
    assert_problem(&get, 404, "no connection");

    let answer = post(
        &mut client,
        &tenant,
        SANDBOX_TOKEN,
        "a-1",
        &json!({"userAccountAccessLevel": "Basic"}),
    );
    assert_eq!(answer.status, 200);
    assert!(answer
        .header("Content-Type")
        .unwrap()
        .starts_with("application/json"));
    let answer = answer.json();
    let id = answer["appConnectionId"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok());
    assert_eq!(answer["currentUserCanApproveRequests"], true);
    assert_eq!(
        answer["currentDataAccess"],
        Value::Null,
        "null on the first request"
    );
    assert_eq!(
        answer["appPortalUrl"],
        format!("{}/portal/{tenant}/{id}", sandbox.base_url())
    );
    assert_dotnet_timestamp(answer["created"].as_str().unwrap());

    let access = current(&mut client, &tenant);
    assert_eq!(access.status, 200);
    let access = access.json();
    assert_eq!(
        access["userAccountAccessLevels"],
        json!([{"accessLevel": "Basic", "access": "PendingApproval"}])
    );
    assert_dotnet_timestamp(access["created"].as_str().unwrap());
    for extra in [
        "patientFields",
        "dataTypes",
        "controlPatientManagement",
        "canManagePatients",
    ] {
        assert!(access.get(extra).is_none(), "{extra} only for Noah ES apps");
    }

    let latest = client.get(&connection_path(&tenant), &api_headers(VIEWER_TOKEN));
    assert_eq!(latest.status, 200);
    let latest = latest.json();
    assert_eq!(latest["appConnectionId"], id);
    assert_eq!(
        latest["currentUserCanApproveRequests"], false,
        "viewer may not approve"
    );
    assert_eq!(
        latest["currentDataAccess"]["userAccountAccessLevels"][0]["access"],
        "PendingApproval"
    );

    let other_tenant = new_tenant();
    assert_eq!(
        current(&mut client, &other_tenant).status,
        404,
        "tenants are separate"
    );
}

#[test]
fn second_request_carries_current_access_and_viewer_flag() {
    let sandbox = start();
    let mut client = Client::new(&sandbox.base_url());
    let tenant = new_tenant();
    post(
        &mut client,
        &tenant,
        SANDBOX_TOKEN,
        "one",
        &json!({"userAccountAccessLevel": "Limited"}),
    );
    sandbox.decide(&tenant, &Decision::ApproveAll).unwrap();
    let second = post(
        &mut client,
        &tenant,
        VIEWER_TOKEN,
        "two",
        &json!({"userAccountAccessLevel": "Basic"}),
    );
    let second = second.json();
    assert_eq!(second["currentUserCanApproveRequests"], false);
    assert_eq!(
        second["currentDataAccess"]["userAccountAccessLevels"],
        json!([
            {"accessLevel": "Limited", "access": "Granted"},
            {"accessLevel": "Basic", "access": "PendingApproval"}
        ])
    );
}

#[test]
fn post_validates_headers_and_body() {
    let sandbox = start();
    let mut client = Client::new(&sandbox.base_url());
    let tenant = new_tenant();
    let path = connection_path(&tenant);
    let headers = post_headers(SANDBOX_TOKEN, "v-1");

    assert_problem(
        &client.post(&path, &headers, "{not json"),
        400,
        "not valid JSON",
    );
    assert_problem(&client.post(&path, &headers, "[1]"), 400, "JSON object");
    assert_problem(
        &client.post(&path, &headers, "{}"),
        400,
        "userAccountAccessLevel is required",
    );
    let unknown = json!({"userAccountAccessLevel": "Total"}).to_string();
    assert_problem(
        &client.post(&path, &headers, &unknown),
        400,
        "Limited, Basic or Advanced",
    );
    let number = json!({"userAccountAccessLevel": 2}).to_string();
    assert_problem(
        &client.post(&path, &headers, &number),
        400,
        "must be a string",
    );
    let fields =
        json!({"userAccountAccessLevel": "Basic", "patientFields": "FirstName"}).to_string();
    assert_problem(&client.post(&path, &headers, &fields), 400, "patientFields");
    let types = json!({"userAccountAccessLevel": "Basic", "dataTypes": ["3"]}).to_string();
    assert_problem(&client.post(&path, &headers, &types), 400, "dataTypes");

    let body = json!({"userAccountAccessLevel": "Basic"}).to_string();
    let mut no_type = api_headers(SANDBOX_TOKEN);
    no_type.push(("X-Idempotent-ID".into(), "v-2".into()));
    assert_problem(&client.post(&path, &no_type, &body), 400, "Content-Type");
    let mut text_type = no_type.clone();
    text_type.push(("Content-Type".into(), "text/plain".into()));
    assert_problem(
        &client.post(&path, &text_type, &body),
        415,
        "application/json",
    );
    let mut no_id = api_headers(SANDBOX_TOKEN);
    no_id.push(("Content-Type".into(), "application/json".into()));
    assert_problem(&client.post(&path, &no_id, &body), 400, "X-Idempotent-ID");

    assert_eq!(
        current(&mut client, &tenant).status,
        404,
        "rejected requests create nothing"
    );

    // Keys and level names match case-insensitively; a charset parameter is fine.
    let mut headers = post_headers(SANDBOX_TOKEN, "v-3");
    headers.retain(|(n, _)| n != "Content-Type");
    headers.push((
        "content-type".into(),
        "Application/JSON; charset=utf-8".into(),
    ));
    let pascal = json!({"UserAccountAccessLevel": "advanced", "PATIENTFIELDS": ["FirstName"], "DataTypes": [7]});
    let answer = client.post(&path, &headers, &pascal.to_string());
    assert_eq!(answer.status, 200, "{}", answer.text());
    let access = sandbox.access(&tenant, DEFAULT_APP).unwrap();
    assert_eq!(
        access.levels.get(&Level::Advanced),
        Some(&AccessState::PendingApproval)
    );
    assert_eq!(
        access.patient_fields.get("FirstName"),
        Some(&AccessState::PendingApproval)
    );
    assert_eq!(
        access.data_types.get(&7),
        Some(&AccessState::PendingApproval)
    );
}

#[test]
fn same_idempotent_id_returns_the_same_answer_and_creates_nothing() {
    let sandbox = start();
    let mut client = Client::new(&sandbox.base_url());
    let tenant = new_tenant();
    let body = json!({"userAccountAccessLevel": "Basic"});
    let first = post(&mut client, &tenant, SANDBOX_TOKEN, "same-id", &body);
    let again = post(&mut client, &tenant, SANDBOX_TOKEN, "same-id", &body);
    assert_eq!(first.status, 200);
    assert_eq!(again.status, 200);
    assert_eq!(first.body, again.body, "byte for byte the same answer");
    let latest = client
        .get(&connection_path(&tenant), &api_headers(SANDBOX_TOKEN))
        .json();
    assert_eq!(latest["appConnectionId"], first.json()["appConnectionId"]);

    let fresh = post(&mut client, &tenant, SANDBOX_TOKEN, "other-id", &body).json();
    assert_ne!(fresh["appConnectionId"], first.json()["appConnectionId"]);
    assert!(
        !fresh["currentDataAccess"].is_null(),
        "not the first request any more"
    );

    // The id is scoped to the tenant.
    let elsewhere = post(&mut client, &new_tenant(), SANDBOX_TOKEN, "same-id", &body).json();
    assert_ne!(
        elsewhere["appConnectionId"],
        first.json()["appConnectionId"]
    );

    let posts: Vec<_> = sandbox
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(posts.len(), 4);
    assert_eq!(posts[0].idempotency_id.as_deref(), Some("same-id"));
    assert_eq!(posts[1].idempotency_id.as_deref(), Some("same-id"));
    assert_eq!(posts[2].idempotency_id.as_deref(), Some("other-id"));
}

#[test]
fn a_new_request_replaces_the_pending_one() {
    let sandbox = start();
    let mut client = Client::new(&sandbox.base_url());
    let tenant = new_tenant();
    let first = post(
        &mut client,
        &tenant,
        SANDBOX_TOKEN,
        "r-1",
        &json!({"userAccountAccessLevel": "Basic"}),
    )
    .json();
    let second = post(
        &mut client,
        &tenant,
        SANDBOX_TOKEN,
        "r-2",
        &json!({"userAccountAccessLevel": "Advanced"}),
    )
    .json();
    let latest = client
        .get(&connection_path(&tenant), &api_headers(SANDBOX_TOKEN))
        .json();
    assert_eq!(latest["appConnectionId"], second["appConnectionId"]);
    // The pending Basic of the replaced request is gone; only Advanced is pending.
    assert_eq!(
        current(&mut client, &tenant).json()["userAccountAccessLevels"],
        json!([{"accessLevel": "Advanced", "access": "PendingApproval"}])
    );

    let replaced_url = first["appPortalUrl"].as_str().unwrap();
    let form = vec![(
        "Content-Type".to_owned(),
        "application/x-www-form-urlencoded".to_owned(),
    )];
    let body = sandbox.portal_form_body(&Decision::ApproveAll);
    let refused = client.post(&path_of(replaced_url), &form, &body);
    assert_eq!(refused.status, 409);
    assert!(refused
        .header("Content-Type")
        .unwrap()
        .starts_with("text/html"));
    assert!(refused.text().contains("replaced"));
    assert_eq!(
        sandbox
            .access(&tenant, DEFAULT_APP)
            .unwrap()
            .levels
            .get(&Level::Advanced),
        Some(&AccessState::PendingApproval),
        "deciding a replaced request changes nothing"
    );
}

#[test]
fn asking_for_less_removes_granted_access() {
    let sandbox = start();
    let mut client = Client::new(&sandbox.base_url());
    let tenant = new_tenant();
    let everything = json!({
        "userAccountAccessLevel": "Advanced",
        "patientFields": ["FirstName", "LastName"],
        "dataTypes": [3, 5]
    });
    post(&mut client, &tenant, SANDBOX_TOKEN, "l-1", &everything);
    sandbox.decide(&tenant, &Decision::ApproveAll).unwrap();
    let granted = current(&mut client, &tenant).json();
    assert_eq!(
        access_of(&granted["dataTypes"], "dataType", &json!(5)),
        Some("Granted")
    );

    let less = json!({"userAccountAccessLevel": "Basic", "patientFields": ["FirstName"], "dataTypes": [3]});
    let answer = post(&mut client, &tenant, SANDBOX_TOKEN, "l-2", &less).json();
    let after = &answer["currentDataAccess"];
    assert_eq!(
        after["userAccountAccessLevels"],
        json!([{"accessLevel": "Basic", "access": "PendingApproval"}]),
        "Advanced was removed"
    );
    assert_eq!(
        after["patientFields"],
        json!([{"field": "FirstName", "access": "Granted"}])
    );
    assert_eq!(
        after["dataTypes"],
        json!([{"dataType": 3, "access": "Granted"}])
    );
    assert_eq!(
        current(&mut client, &tenant).json()["patientFields"],
        after["patientFields"]
    );

    // A lower granted level stays when a higher one is asked.
    sandbox.decide(&tenant, &Decision::ApproveAll).unwrap();
    let higher = json!({"userAccountAccessLevel": "Advanced", "patientFields": ["FirstName"], "dataTypes": [3]});
    let answer = post(&mut client, &tenant, SANDBOX_TOKEN, "l-3", &higher).json();
    assert_eq!(
        answer["currentDataAccess"]["userAccountAccessLevels"],
        json!([
            {"accessLevel": "Basic", "access": "Granted"},
            {"accessLevel": "Advanced", "access": "PendingApproval"}
        ])
    );
}

#[test]
fn denied_items_become_pending_when_asked_again() {
    let sandbox = start();
    let mut client = Client::new(&sandbox.base_url());
    let tenant = new_tenant();
    let body = json!({"userAccountAccessLevel": "Basic", "patientFields": ["EmailAddress"]});
    post(&mut client, &tenant, SANDBOX_TOKEN, "d-1", &body);
    sandbox.decide(&tenant, &Decision::DenyAll).unwrap();
    let denied = current(&mut client, &tenant).json();
    assert_eq!(denied["userAccountAccessLevels"][0]["access"], "Denied");
    assert_eq!(denied["patientFields"][0]["access"], "Denied");
    assert_eq!(
        sandbox.decide(&tenant, &Decision::ApproveAll),
        Err(DecideError::NothingPending)
    );

    // Denied items not asked again stay on record.
    let other = json!({"userAccountAccessLevel": "Limited", "patientFields": ["FirstName"]});
    let answer = post(&mut client, &tenant, SANDBOX_TOKEN, "d-2", &other).json();
    let access = &answer["currentDataAccess"];
    assert_eq!(
        access_of(
            &access["userAccountAccessLevels"],
            "accessLevel",
            &json!("Basic")
        ),
        Some("Denied")
    );
    assert_eq!(
        access_of(&access["patientFields"], "field", &json!("EmailAddress")),
        Some("Denied")
    );

    let answer = post(&mut client, &tenant, SANDBOX_TOKEN, "d-3", &body).json();
    let access = &answer["currentDataAccess"];
    assert_eq!(
        access_of(
            &access["userAccountAccessLevels"],
            "accessLevel",
            &json!("Basic")
        ),
        Some("PendingApproval")
    );
    assert_eq!(
        access_of(&access["patientFields"], "field", &json!("EmailAddress")),
        Some("PendingApproval")
    );
}

#[test]
fn partial_decisions_leave_unnamed_items_pending() {
    let sandbox = start();
    let mut client = Client::new(&sandbox.base_url());
    let tenant = new_tenant();
    let body = json!({"userAccountAccessLevel": "Basic", "patientFields": ["FirstName", "LastName"], "dataTypes": [1, 2]});
    post(&mut client, &tenant, SANDBOX_TOKEN, "p-1", &body);
    let choose = Decision::Choose {
        level: Some(Choice::Grant),
        fields: [("LastName".to_owned(), Choice::Deny)].into(),
        data_types: [(2, Choice::Grant)].into(),
    };
    sandbox.decide(&tenant, &choose).unwrap();
    let access = current(&mut client, &tenant).json();
    assert_eq!(access["userAccountAccessLevels"][0]["access"], "Granted");
    assert_eq!(
        access_of(&access["patientFields"], "field", &json!("FirstName")),
        Some("PendingApproval")
    );
    assert_eq!(
        access_of(&access["patientFields"], "field", &json!("LastName")),
        Some("Denied")
    );
    assert_eq!(
        access_of(&access["dataTypes"], "dataType", &json!(1)),
        Some("PendingApproval")
    );
    assert_eq!(
        access_of(&access["dataTypes"], "dataType", &json!(2)),
        Some("Granted")
    );
    assert_eq!(access["canManagePatients"], true);
    assert_eq!(access["exclusivePatientManagement"], false);
    assert!(access["controlPatientManagement"].is_string());
    assert!(access["mainPatientManagementSystemName"].is_string());

    // A later decision only touches what is still pending.
    sandbox.decide(&tenant, &Decision::DenyAll).unwrap();
    let access = current(&mut client, &tenant).json();
    assert_eq!(access["userAccountAccessLevels"][0]["access"], "Granted");
    assert_eq!(
        access_of(&access["patientFields"], "field", &json!("FirstName")),
        Some("Denied")
    );
    assert_eq!(
        access_of(&access["dataTypes"], "dataType", &json!(2)),
        Some("Granted")
    );

    assert_eq!(
        sandbox.decide(&new_tenant(), &Decision::ApproveAll),
        Err(DecideError::NoConnection)
    );
    assert_eq!(
        sandbox.decide("not-a-guid", &Decision::ApproveAll),
        Err(DecideError::NoConnection)
    );
}

#[test]
fn authentication_and_api_version() {
    let sandbox = start();
    let mut client = Client::new(&sandbox.base_url());
    let tenant = DEFAULT_TENANT;
    let path = current_path(tenant);
    let version = ("X-Api-Version".to_owned(), "1.0".to_owned());

    let missing = client.get(&path, std::slice::from_ref(&version));
    assert_problem(&missing, 401, "missing");
    assert_eq!(
        missing.header("WWW-Authenticate"),
        Some("Bearer error=\"invalid_token\"")
    );

    let basic = vec![
        version.clone(),
        ("Authorization".into(), "Basic dXNlcjpwdw==".into()),
    ];
    assert_eq!(client.get(&path, &basic).status, 401);

    let unknown = client.get(&path, &api_headers("no-such-token"));
    assert_problem(&unknown, 401, "not valid");
    assert_eq!(
        unknown.header("WWW-Authenticate"),
        Some("Bearer error=\"invalid_token\"")
    );

    let expired = client.get(&path, &api_headers(EXPIRED_TOKEN));
    assert_eq!(expired.status, 401);
    assert_eq!(
        expired.header("WWW-Authenticate"),
        Some("Bearer error=\"invalid_token\", error_description=\"The access token expired\"")
    );
    let refused = client.post(
        &connection_path(tenant),
        &post_headers(EXPIRED_TOKEN, "x"),
        "{}",
    );
    assert_eq!(refused.status, 401, "auth comes before validation");

    let mut no_version = api_headers(SANDBOX_TOKEN);
    no_version.retain(|(n, _)| n != "X-Api-Version");
    assert_problem(&client.get(&path, &no_version), 400, "X-Api-Version");
    let mut wrong_version = no_version.clone();
    wrong_version.push(("X-Api-Version".into(), "2.0".into()));
    assert_problem(&client.get(&path, &wrong_version), 400, "1.0");

    assert_eq!(client.get(&path, &api_headers(SANDBOX_TOKEN)).status, 404);
    assert!(sandbox.expire_token(SANDBOX_TOKEN));
    assert!(!sandbox.expire_token("never-heard-of"));
    let now_expired = client.get(&path, &api_headers(SANDBOX_TOKEN));
    assert!(now_expired
        .header("WWW-Authenticate")
        .unwrap()
        .contains("expired"));

    sandbox.add_token(TokenGrant::new("other-token", "other-app", "Other", false));
    let other = new_tenant();
    post(
        &mut client,
        &other,
        "other-token",
        "o-1",
        &json!({"userAccountAccessLevel": "Basic"}),
    );
    assert!(sandbox.access(&other, "other-app").is_some());
    assert!(
        sandbox.access(&other, DEFAULT_APP).is_none(),
        "access is per app"
    );
    assert_eq!(
        sandbox.decide_for_app(&other, "other-app", &Decision::ApproveAll),
        Ok(())
    );
}

#[test]
fn unknown_routes_and_methods() {
    let sandbox = start();
    let mut client = Client::new(&sandbox.base_url());
    let headers = api_headers(SANDBOX_TOKEN);
    assert_problem(&client.get("/nowhere", &headers), 404, "/nowhere");
    assert_problem(
        &client.get("/not-a-guid/api/AppConnection", &headers),
        404,
        "no route",
    );
    assert_problem(
        &client.get(&format!("/{DEFAULT_TENANT}/api/Users"), &headers),
        404,
        "no route",
    );
    let delete = client
        .send("DELETE", &connection_path(DEFAULT_TENANT), &headers, b"")
        .unwrap();
    assert_eq!(delete.status, 405);
    assert_eq!(delete.header("Allow"), Some("GET, POST"));
    let post_current = client.post(
        &current_path(DEFAULT_TENANT),
        &post_headers(SANDBOX_TOKEN, "z"),
        "{}",
    );
    assert_eq!(post_current.status, 405);
    // Literal path segments match in any case; a trailing slash is ignored.
    let lower = format!(
        "/{}/api/appconnection/getcurrentdataaccess/",
        DEFAULT_TENANT.to_uppercase()
    );
    assert_problem(&client.get(&lower, &headers), 404, "no connection");
}

#[test]
fn pascal_case_answers() {
    let config = SandboxConfig {
        pascal_case: true,
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(config).unwrap();
    let mut client = Client::new(&sandbox.base_url());
    let tenant = new_tenant();
    let body = json!({"userAccountAccessLevel": "Basic", "patientFields": ["FirstName"], "dataTypes": [3]});
    let first = post(&mut client, &tenant, SANDBOX_TOKEN, "pc-1", &body).json();
    for key in [
        "AppConnectionId",
        "CurrentUserCanApproveRequests",
        "AppPortalUrl",
        "CurrentDataAccess",
        "Created",
    ] {
        assert!(first.get(key).is_some(), "{key} in {first}");
    }
    assert!(first.get("appConnectionId").is_none());
    sandbox
        .decide(
            &tenant,
            &Decision::Choose {
                level: Some(Choice::Grant),
                fields: Default::default(),
                data_types: Default::default(),
            },
        )
        .unwrap();
    let access = current(&mut client, &tenant).json();
    assert_eq!(
        access["UserAccountAccessLevels"],
        json!([{"Field": "Basic", "Access": "Granted"}])
    );
    assert_eq!(
        access["PatientFields"],
        json!([{"Field": "FirstName", "Access": "PendingApproval"}])
    );
    assert_eq!(
        access["DataTypes"],
        json!([{"DataType": 3, "Access": "PendingApproval"}])
    );
    assert_eq!(access["CanManagePatients"], true);
    assert_dotnet_timestamp(access["Created"].as_str().unwrap());
    let latest = client
        .get(&connection_path(&tenant), &api_headers(SANDBOX_TOKEN))
        .json();
    assert_eq!(
        latest["CurrentDataAccess"]["UserAccountAccessLevels"][0]["Access"],
        "Granted"
    );
    // Problems keep their standard lower-case keys.
    let problem = client
        .get(&current_path(&new_tenant()), &api_headers(SANDBOX_TOKEN))
        .json();
    assert_eq!(problem["status"], 404);
}

#[test]
fn keep_alive_log_and_connection_count() {
    let sandbox = start();
    let mut client = Client::new(&sandbox.base_url());
    let tenant = new_tenant();
    for _ in 0..3 {
        assert_eq!(current(&mut client, &tenant).status, 404);
    }
    post(
        &mut client,
        &tenant,
        SANDBOX_TOKEN,
        "k-1",
        &json!({"userAccountAccessLevel": "Basic"}),
    );
    assert_eq!(sandbox.connections_opened(), 1, "one kept-alive connection");

    let log = sandbox.requests();
    assert_eq!(log.len(), 4);
    assert!(log.iter().all(|r| r.connection_id == log[0].connection_id));
    assert_eq!(log[0].method, "GET");
    assert_eq!(log[0].path, current_path(&tenant));
    assert_eq!(log[0].status, 404);
    assert_eq!(log[0].header("authorization"), Some("Bearer <redacted>"));
    assert_eq!(log[0].header("X-Api-Version"), Some("1.0"));
    assert_eq!(log[0].idempotency_id, None);
    assert_eq!(log[0].fault, None);
    assert_eq!(log[3].method, "POST");
    assert_eq!(log[3].status, 200);
    assert_eq!(log[3].idempotency_id.as_deref(), Some("k-1"));
    assert!(log
        .iter()
        .all(|r| !r.headers.iter().any(|(_, v)| v.contains(SANDBOX_TOKEN))));

    let mut second = Client::new(&sandbox.base_url());
    assert_eq!(current(&mut second, &tenant).status, 200);
    assert_eq!(sandbox.connections_opened(), 2);
    let log = sandbox.requests();
    assert_ne!(log[4].connection_id, log[0].connection_id);

    sandbox.clear_log();
    assert!(sandbox.requests().is_empty());
    current(&mut client, &tenant);
    assert_eq!(sandbox.requests().len(), 1);

    // A client asking to close gets Connection: close and a closed socket.
    let mut headers = api_headers(SANDBOX_TOKEN);
    headers.push(("Connection".into(), "close".into()));
    let closing = client.get(&current_path(&tenant), &headers);
    assert_eq!(closing.header("Connection"), Some("close"));
    assert_eq!(current(&mut client, &tenant).status, 200);
    assert_eq!(sandbox.connections_opened(), 3);
}

#[test]
fn chunked_request_bodies_are_read() {
    let sandbox = start();
    let tenant = new_tenant();
    let mut stream = connect(addr_of(&sandbox.base_url()));
    let mut headers = post_headers(SANDBOX_TOKEN, "c-1");
    headers.push(("Transfer-Encoding".into(), "chunked".into()));
    headers.push(("Expect".into(), "100-continue".into()));
    let body = r#"{"userAccountAccessLevel":"Limited"}"#;
    let (a, b) = body.split_at(10);
    let chunked = format!("{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n", a.len(), b.len());
    write_request(
        &mut stream,
        "POST",
        &connection_path(&tenant),
        &headers,
        b"",
    )
    .unwrap();
    let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
    let (interim, _) = read_head(&mut reader).unwrap();
    assert_eq!(interim, 100);
    std::io::Write::write_all(&mut stream, chunked.as_bytes()).unwrap();
    let (status, _) = read_head(&mut reader).unwrap();
    assert_eq!(status, 200);
    let levels = sandbox.access(&tenant, DEFAULT_APP).unwrap().levels;
    assert_eq!(
        levels.get(&Level::Limited),
        Some(&AccessState::PendingApproval)
    );
}

#[test]
fn automatic_decision_after_a_delay() {
    let config = SandboxConfig {
        auto_decide: Some(AutoDecide {
            after: Duration::from_millis(600),
            grant: "Limited,FirstName,3".parse().unwrap(),
        }),
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(config).unwrap();
    let mut client = Client::new(&sandbox.base_url());
    let tenant = new_tenant();
    let body = json!({"userAccountAccessLevel": "Limited", "patientFields": ["FirstName", "LastName"], "dataTypes": [3, 4]});
    post(&mut client, &tenant, SANDBOX_TOKEN, "auto-1", &body);
    let early = current(&mut client, &tenant).json();
    assert_eq!(
        early["userAccountAccessLevels"][0]["access"],
        "PendingApproval"
    );
    std::thread::sleep(Duration::from_millis(800));
    let late = current(&mut client, &tenant).json();
    assert_eq!(late["userAccountAccessLevels"][0]["access"], "Granted");
    assert_eq!(
        access_of(&late["patientFields"], "field", &json!("FirstName")),
        Some("Granted")
    );
    assert_eq!(
        access_of(&late["patientFields"], "field", &json!("LastName")),
        Some("Denied")
    );
    assert_eq!(
        access_of(&late["dataTypes"], "dataType", &json!(3)),
        Some("Granted")
    );
    assert_eq!(
        access_of(&late["dataTypes"], "dataType", &json!(4)),
        Some("Denied")
    );

    // Each new request gets its own delay.
    post(
        &mut client,
        &tenant,
        SANDBOX_TOKEN,
        "auto-2",
        &json!({"userAccountAccessLevel": "Advanced"}),
    );
    let latest = client
        .get(&connection_path(&tenant), &api_headers(SANDBOX_TOKEN))
        .json();
    let advanced = access_of(
        &latest["currentDataAccess"]["userAccountAccessLevels"],
        "accessLevel",
        &json!("Advanced"),
    );
    assert_eq!(advanced, Some("PendingApproval"));
    std::thread::sleep(Duration::from_millis(800));
    let levels = sandbox.access(&tenant, DEFAULT_APP).unwrap().levels;
    assert_eq!(levels.get(&Level::Advanced), Some(&AccessState::Denied));
    assert_eq!(levels.get(&Level::Limited), Some(&AccessState::Granted));
}

#[test]
fn grant_spec_parsing() {
    assert_eq!("all".parse::<Grant>(), Ok(Grant::All));
    assert_eq!("None".parse::<Grant>(), Ok(Grant::None));
    assert_eq!(
        "Limited, FirstName,3".parse::<Grant>(),
        Ok(Grant::Only(vec![
            "Limited".into(),
            "FirstName".into(),
            "3".into()
        ]))
    );
    assert!(",".parse::<Grant>().is_err());
}

#[test]
fn stop_closes_the_port_and_open_connections() {
    let mut sandbox = start();
    let addr = sandbox.local_addr();
    let mut client = Client::new(&sandbox.base_url());
    assert_eq!(current(&mut client, &new_tenant()).status, 404);
    sandbox.stop();
    assert!(client.server_closed(), "kept connection closed on stop");
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "nothing listens any more"
    );
    sandbox.stop();
}
