//! The App Connection API routes: routing, authentication, validation and JSON answers.

use std::time::SystemTime;

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::access::{AppRecord, Asked, Connection, Level};
use crate::answer::Answer;
use crate::clock::dotnet_timestamp;
use crate::config::TokenGrant;
use crate::faults::Route;
use crate::server::{Settings, State};
use crate::wire::HttpRequest;

/// What a request path addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    CurrentDataAccess {
        tenant: String,
    },
    AppConnection {
        tenant: String,
    },
    Portal {
        tenant: String,
        connection_id: String,
    },
    Unknown,
}

/// A tenant or connection id in canonical form, if the text is a hyphenated GUID.
pub(crate) fn guid(text: &str) -> Option<String> {
    if text.len() != 36 {
        return None;
    }
    Uuid::try_parse(text)
        .ok()
        .map(|g| g.hyphenated().to_string())
}

impl Target {
    /// Routes a path; literal segments match case-insensitively and one trailing slash is
    /// ignored, as ASP.NET Core routing does.
    pub(crate) fn of(path: &str) -> Target {
        let path = path.strip_prefix('/').unwrap_or(path);
        let path = path.strip_suffix('/').unwrap_or(path);
        let segments: Vec<&str> = path.split('/').collect();
        let is = |i: usize, word: &str| segments[i].eq_ignore_ascii_case(word);
        match segments.len() {
            3 if is(0, "portal") => match (guid(segments[1]), guid(segments[2])) {
                (Some(tenant), Some(connection_id)) => Target::Portal {
                    tenant,
                    connection_id,
                },
                _ => Target::Unknown,
            },
            3 if is(1, "api") && is(2, "AppConnection") => match guid(segments[0]) {
                Some(tenant) => Target::AppConnection { tenant },
                None => Target::Unknown,
            },
            4 if is(1, "api") && is(2, "AppConnection") && is(3, "GetCurrentDataAccess") => {
                match guid(segments[0]) {
                    Some(tenant) => Target::CurrentDataAccess { tenant },
                    None => Target::Unknown,
                }
            }
            _ => Target::Unknown,
        }
    }

    /// The fault route of a request to this target, if it has one besides [`Route::Any`].
    pub(crate) fn route(&self, method: &str) -> Option<Route> {
        match (self, method) {
            (Target::CurrentDataAccess { .. }, "GET") => Some(Route::CurrentDataAccess),
            (Target::AppConnection { .. }, "GET") => Some(Route::GetAppConnection),
            (Target::AppConnection { .. }, "POST") => Some(Route::PostAppConnection),
            _ => None,
        }
    }
}

/// Key spelling of JSON answers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Casing {
    pub(crate) pascal: bool,
}

impl Casing {
    /// The key for `camel` in this spelling.
    pub(crate) fn key(self, camel: &str) -> String {
        if !self.pascal {
            return camel.to_owned();
        }
        let mut chars = camel.chars();
        match chars.next() {
            Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
            None => String::new(),
        }
    }

    /// The key naming the level of a level entry: the PascalCase documentation calls it
    /// `Field`, the camelCase answers `accessLevel`.
    fn level_key(self) -> String {
        if self.pascal {
            "Field".into()
        } else {
            "accessLevel".into()
        }
    }
}

fn entry(casing: Casing, name_key: String, name: Value, access: &str) -> Value {
    let mut object = Map::new();
    object.insert(name_key, name);
    object.insert(casing.key("access"), Value::from(access));
    Value::Object(object)
}

/// The CurrentDataAccess of an app.
pub(crate) fn current_data_access(record: &AppRecord, casing: Casing) -> Value {
    let access = &record.access;
    let mut object = Map::new();
    let levels = access
        .levels
        .iter()
        .map(|(level, state)| {
            entry(
                casing,
                casing.level_key(),
                level.as_str().into(),
                state.as_str(),
            )
        })
        .collect();
    object.insert(casing.key("userAccountAccessLevels"), Value::Array(levels));
    if record.noah_es {
        let fields = access
            .patient_fields
            .iter()
            .map(|(name, state)| {
                entry(
                    casing,
                    casing.key("field"),
                    name.as_str().into(),
                    state.as_str(),
                )
            })
            .collect();
        object.insert(casing.key("patientFields"), Value::Array(fields));
        let types = access
            .data_types
            .iter()
            .map(|(n, state)| entry(casing, casing.key("dataType"), (*n).into(), state.as_str()))
            .collect();
        object.insert(casing.key("dataTypes"), Value::Array(types));
        object.insert(casing.key("controlPatientManagement"), "Shared".into());
        object.insert(casing.key("canManagePatients"), true.into());
        object.insert(casing.key("exclusivePatientManagement"), false.into());
        object.insert(
            casing.key("mainPatientManagementSystemName"),
            "Sandbox Office System".into(),
        );
    }
    object.insert(
        casing.key("created"),
        dotnet_timestamp(record.changed).into(),
    );
    Value::Object(object)
}

/// The AppConnection answer for a connection.
fn app_connection(
    connection: &Connection,
    can_approve: bool,
    portal_url: String,
    data_access: Value,
    casing: Casing,
) -> Value {
    let mut object = Map::new();
    object.insert(casing.key("appConnectionId"), connection.id.clone().into());
    object.insert(
        casing.key("currentUserCanApproveRequests"),
        can_approve.into(),
    );
    object.insert(casing.key("appPortalUrl"), portal_url.into());
    object.insert(casing.key("currentDataAccess"), data_access);
    object.insert(
        casing.key("created"),
        dotnet_timestamp(connection.created).into(),
    );
    Value::Object(object)
}

fn unauthorized(description: Option<&str>, detail: &str) -> Answer {
    let challenge = match description {
        Some(d) => format!("Bearer error=\"invalid_token\", error_description=\"{d}\""),
        None => "Bearer error=\"invalid_token\"".to_owned(),
    };
    Answer::problem(401, detail).with_header("WWW-Authenticate", &challenge)
}

fn authenticate(state: &State, request: &HttpRequest) -> Result<TokenGrant, Answer> {
    let Some(value) = request.header("Authorization") else {
        return Err(unauthorized(None, "the Authorization header is missing"));
    };
    let token = match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("Bearer") => token.trim(),
        _ => {
            return Err(unauthorized(
                None,
                "the Authorization header is not a bearer token",
            ))
        }
    };
    let Some(grant) = state.tokens.iter().find(|t| t.token == token) else {
        return Err(unauthorized(None, "the access token is not valid"));
    };
    if grant.expired {
        return Err(unauthorized(
            Some("The access token expired"),
            "the access token expired",
        ));
    }
    Ok(grant.clone())
}

fn check_version(request: &HttpRequest) -> Result<(), Answer> {
    match request.header("X-Api-Version").map(str::trim) {
        Some("1.0") => Ok(()),
        Some(other) => Err(Answer::problem(
            400,
            &format!("API version {other:?} is not supported; the supported version is 1.0"),
        )),
        None => Err(Answer::problem(400, "the X-Api-Version header is required")),
    }
}

/// Serves an API target (any [`Target`] but `Portal` and `Unknown`).
pub(crate) fn handle(
    settings: &Settings,
    state: &mut State,
    request: &HttpRequest,
    target: &Target,
) -> Answer {
    let (Target::CurrentDataAccess { tenant } | Target::AppConnection { tenant }) = target else {
        return not_found(request);
    };
    let allowed = match target {
        Target::CurrentDataAccess { .. } => "GET",
        _ => "GET, POST",
    };
    if !allowed.split(", ").any(|m| m == request.method) {
        return Answer::problem(405, &format!("{} is not allowed here", request.method))
            .with_header("Allow", allowed);
    }
    let grant = match authenticate(state, request) {
        Ok(grant) => grant,
        Err(answer) => return answer,
    };
    if let Err(answer) = check_version(request) {
        return answer;
    }
    let casing = Casing {
        pascal: settings.pascal_case,
    };
    let auto = settings.auto_decide.as_ref();
    match (target, request.method.as_str()) {
        (Target::CurrentDataAccess { .. }, _) => match state.record_mut(tenant, &grant.app_id) {
            Some(record) => {
                record.settle(auto);
                Answer::json(200, &current_data_access(record, casing))
            }
            None => Answer::problem(404, "this app has no connection in this tenant"),
        },
        (_, "GET") => {
            let portal = |id: &str| settings.portal_url(tenant, id);
            match state.record_mut(tenant, &grant.app_id) {
                Some(record) if !record.connections.is_empty() => {
                    record.settle(auto);
                    let connection = record.connections.last().expect("checked not empty");
                    let body = app_connection(
                        connection,
                        grant.can_approve,
                        portal(&connection.id),
                        current_data_access(record, casing),
                        casing,
                    );
                    Answer::json(200, &body)
                }
                _ => Answer::problem(404, "this app has no connection in this tenant"),
            }
        }
        _ => post_app_connection(settings, state, request, tenant, &grant, casing),
    }
}

fn post_app_connection(
    settings: &Settings,
    state: &mut State,
    request: &HttpRequest,
    tenant: &str,
    grant: &TokenGrant,
    casing: Casing,
) -> Answer {
    match request.header("Content-Type") {
        None => return Answer::problem(400, "the Content-Type header is required"),
        Some(value) => {
            let media = value.split(';').next().unwrap_or("").trim();
            if !media.eq_ignore_ascii_case("application/json") {
                return Answer::problem(415, &format!("expected application/json, got {value:?}"));
            }
        }
    }
    let idempotent_id = match request.header("X-Idempotent-ID").map(str::trim) {
        Some(id) if !id.is_empty() => id.to_owned(),
        _ => return Answer::problem(400, "the X-Idempotent-ID header is required"),
    };
    if let Some(record) = state.record_mut(tenant, &grant.app_id) {
        if let Some(body) = record.answered.get(&idempotent_id) {
            return Answer::new(200, crate::answer::JSON, body.clone());
        }
    }
    let asked = match parse_request_body(&request.body) {
        Ok(asked) => asked,
        Err(detail) => return Answer::problem(400, &detail),
    };
    // Created only now, so that a rejected first request leaves the app unknown.
    let record = state.record_or_new(tenant, &grant.app_id);
    record.settle(settings.auto_decide.as_ref());
    let first = record.connections.is_empty();
    record.apply_request(&asked);
    let now = SystemTime::now();
    let connection = Connection {
        id: Uuid::new_v4().hyphenated().to_string(),
        created: now,
        created_at: std::time::Instant::now(),
        asked,
        user_name: grant.user_name.clone(),
        can_approve: grant.can_approve,
        auto_decided: false,
    };
    let data_access = if first {
        Value::Null
    } else {
        current_data_access(record, casing)
    };
    let body = app_connection(
        &connection,
        grant.can_approve,
        settings.portal_url(tenant, &connection.id),
        data_access,
        casing,
    )
    .to_string()
    .into_bytes();
    record.connections.push(connection);
    record.answered.insert(idempotent_id, body.clone());
    Answer::new(200, crate::answer::JSON, body)
}

/// The value of a key matched case-insensitively; `null` counts as absent.
fn get_key<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    object
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
        .filter(|v| !v.is_null())
}

/// Reads an AppConnectionRequest; the error is the problem detail.
pub(crate) fn parse_request_body(body: &[u8]) -> Result<Asked, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not valid JSON: {e}"))?;
    let Value::Object(object) = value else {
        return Err("the body must be a JSON object".into());
    };
    let level = match get_key(&object, "userAccountAccessLevel") {
        None => return Err("userAccountAccessLevel is required".into()),
        Some(Value::String(name)) => Level::parse(name).ok_or_else(|| {
            format!("unknown userAccountAccessLevel {name:?}; expected Limited, Basic or Advanced")
        })?,
        Some(_) => return Err("userAccountAccessLevel must be a string".into()),
    };
    let mut fields: Vec<String> = Vec::new();
    match get_key(&object, "patientFields") {
        None => {}
        Some(Value::Array(items)) => {
            for item in items {
                let name = item.as_str().filter(|s| !s.trim().is_empty());
                let name = name.ok_or("patientFields must be a list of non-empty strings")?;
                if !fields.iter().any(|f| f == name) {
                    fields.push(name.to_owned());
                }
            }
        }
        Some(_) => return Err("patientFields must be a list of strings".into()),
    }
    let mut data_types: Vec<i64> = Vec::new();
    match get_key(&object, "dataTypes") {
        None => {}
        Some(Value::Array(items)) => {
            for item in items {
                let n = item
                    .as_i64()
                    .ok_or("dataTypes must be a list of integers")?;
                if !data_types.contains(&n) {
                    data_types.push(n);
                }
            }
        }
        Some(_) => return Err("dataTypes must be a list of integers".into()),
    }
    Ok(Asked {
        level,
        fields,
        data_types,
    })
}

/// The answer to a path the sandbox does not serve.
pub(crate) fn not_found(request: &HttpRequest) -> Answer {
    Answer::problem(
        404,
        &format!("no route for {} {}", request.method, request.path()),
    )
}
