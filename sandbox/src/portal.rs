//! The approval page: what a user sees in a browser at `appPortalUrl`, and the form that
//! records their decision.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::access::{AccessState, AppRecord, Choice, DecideError, Decision};
use crate::answer::{escape_html, Answer};
use crate::clock::dotnet_timestamp;
use crate::server::{Settings, State};
use crate::wire::HttpRequest;

/// Serves `GET` and `POST` of `/portal/{tenant}/{connection_id}`.
pub(crate) fn handle(
    settings: &Settings,
    state: &mut State,
    request: &HttpRequest,
    tenant: &str,
    connection_id: &str,
) -> Answer {
    if request.method != "GET" && request.method != "POST" {
        return Answer::html(405, "Method not allowed", "<p>Use GET or POST.</p>")
            .with_header("Allow", "GET, POST");
    }
    let Some((app_id, record)) = state.find_connection(tenant, connection_id) else {
        return Answer::html(
            404,
            "Unknown request",
            "<p>There is no such app connection.</p>",
        );
    };
    record.settle(settings.auto_decide.as_ref());
    if request.method == "GET" {
        return page(&app_id, record, tenant, connection_id);
    }
    let media = request.header("Content-Type").unwrap_or("");
    let media = media.split(';').next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Answer::html(
            415,
            "Unsupported form",
            "<p>Post the form as application/x-www-form-urlencoded.</p>",
        );
    }
    let decision = match parse_form(&String::from_utf8_lossy(&request.body)) {
        Ok(decision) => decision,
        Err(detail) => {
            let text = format!("<p>{}</p>", escape_html(&detail));
            return Answer::html(400, "Bad form", &text);
        }
    };
    match record.decide(connection_id, &decision) {
        Ok(()) => {
            let text = format!(
                "<p id=\"outcome\">Your decision was saved.</p>\n{}",
                states_table(record, connection_id, false)
            );
            Answer::html(200, "Decision saved", &text)
        }
        Err(error) => {
            let status = if error == DecideError::NoConnection {
                404
            } else {
                409
            };
            let text = format!("<p id=\"outcome\">{}</p>", escape_html(&error.to_string()));
            Answer::html(status, "Nothing was decided", &text)
        }
    }
}

fn page(app_id: &str, record: &AppRecord, tenant: &str, connection_id: &str) -> Answer {
    let index = record.index_of(connection_id).expect("found by id");
    let connection = &record.connections[index];
    let mut text = format!(
        "<p>The app <strong>{}</strong> asks for access to data of the business \
         <code>{}</code>.</p>\n<p>Requested by {} ({}) on {}. Request <code>{}</code>.</p>\n",
        escape_html(app_id),
        escape_html(tenant),
        escape_html(&connection.user_name),
        if connection.can_approve {
            "may approve requests"
        } else {
            "may not approve requests"
        },
        dotnet_timestamp(connection.created),
        escape_html(&connection.id),
    );
    if index + 1 != record.connections.len() {
        text.push_str("<p id=\"outcome\">A newer request replaced this one.</p>\n");
        return Answer::html(200, "Request replaced", &text);
    }
    let _ = write!(
        text,
        "<form method=\"post\" action=\"/portal/{}/{}\">\n{}\n<p>\n\
         <button type=\"submit\" name=\"decision\" value=\"approve_all\">Approve all</button>\n\
         <button type=\"submit\" name=\"decision\" value=\"deny_all\">Deny all</button>\n\
         <button type=\"submit\" name=\"decision\" value=\"choose\">Submit choices</button>\n\
         </p>\n</form>",
        escape_html(tenant),
        escape_html(&connection.id),
        states_table(record, connection_id, true)
    );
    Answer::html(200, "Approve app access", &text)
}

/// A table of the items asked by a connection with their states, and grant/deny choices for
/// the pending ones when `choices` is set.
fn states_table(record: &AppRecord, connection_id: &str, choices: bool) -> String {
    let index = record.index_of(connection_id).expect("found by id");
    let asked = &record.connections[index].asked;
    let access = &record.access;
    let mut rows: Vec<(String, String, Option<AccessState>)> = vec![(
        format!("User account access level {}", asked.level),
        "level".to_owned(),
        access.levels.get(&asked.level).copied(),
    )];
    for field in &asked.fields {
        let state = access.patient_fields.get(field).copied();
        rows.push((
            format!("Patient field {field}"),
            format!("field.{field}"),
            state,
        ));
    }
    for n in &asked.data_types {
        let state = access.data_types.get(n).copied();
        rows.push((format!("Data type {n}"), format!("datatype.{n}"), state));
    }
    let mut html = String::from("<table>\n<tr><th>Item</th><th>State</th>");
    if choices {
        html.push_str("<th>Grant</th><th>Deny</th>");
    }
    html.push_str("</tr>\n");
    for (label, name, state) in rows {
        let state_text = state.map_or("Removed", AccessState::as_str);
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{state_text}</td>",
            escape_html(&label)
        );
        if choices && state == Some(AccessState::PendingApproval) {
            let name = escape_html(&name);
            let _ = write!(
                html,
                "<td><input type=\"radio\" name=\"{name}\" value=\"grant\"></td>\
                 <td><input type=\"radio\" name=\"{name}\" value=\"deny\"></td>"
            );
        } else if choices {
            html.push_str("<td></td><td></td>");
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</table>");
    html
}

fn choice(value: &str) -> Result<Choice, String> {
    match value {
        "grant" => Ok(Choice::Grant),
        "deny" => Ok(Choice::Deny),
        _ => Err(format!("{value:?} is neither grant nor deny")),
    }
}

/// Reads the approval form.
pub(crate) fn parse_form(body: &str) -> Result<Decision, String> {
    let pairs: Vec<(String, String)> = body
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (form_decode(k), form_decode(v)),
            None => (form_decode(p), String::new()),
        })
        .collect();
    let decision = pairs
        .iter()
        .find(|(k, _)| k == "decision")
        .map(|(_, v)| v.as_str());
    match decision {
        Some("approve_all") => Ok(Decision::ApproveAll),
        Some("deny_all") => Ok(Decision::DenyAll),
        Some("choose") => {
            let mut level = None;
            let mut fields = BTreeMap::new();
            let mut data_types = BTreeMap::new();
            for (key, value) in &pairs {
                if key == "level" {
                    level = Some(choice(value)?);
                } else if let Some(name) = key.strip_prefix("field.") {
                    fields.insert(name.to_owned(), choice(value)?);
                } else if let Some(number) = key.strip_prefix("datatype.") {
                    let n = number
                        .parse()
                        .map_err(|_| format!("data type {number:?} is not a number"))?;
                    data_types.insert(n, choice(value)?);
                }
            }
            Ok(Decision::Choose {
                level,
                fields,
                data_types,
            })
        }
        Some(other) => Err(format!(
            "decision {other:?} is unknown; expected approve_all, deny_all or choose"
        )),
        None => Err("the form has no decision".into()),
    }
}

/// The form body that submits `decision`.
pub(crate) fn form_body(decision: &Decision) -> String {
    match decision {
        Decision::ApproveAll => "decision=approve_all".into(),
        Decision::DenyAll => "decision=deny_all".into(),
        Decision::Choose {
            level,
            fields,
            data_types,
        } => {
            let word = |c: &Choice| match c {
                Choice::Grant => "grant",
                Choice::Deny => "deny",
            };
            let mut body = String::from("decision=choose");
            if let Some(level) = level {
                let _ = write!(body, "&level={}", word(level));
            }
            for (name, c) in fields {
                let _ = write!(
                    body,
                    "&{}={}",
                    form_encode(&format!("field.{name}")),
                    word(c)
                );
            }
            for (n, c) in data_types {
                let _ = write!(body, "&datatype.{n}={}", word(c));
            }
            body
        }
    }
}

fn form_encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{byte:02X}");
            }
        }
    }
    out
}

fn form_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_round_trip() {
        let decision = Decision::Choose {
            level: Some(Choice::Grant),
            fields: [("First Name&x".to_owned(), Choice::Deny)].into(),
            data_types: [(3, Choice::Grant)].into(),
        };
        let body = form_body(&decision);
        assert_eq!(
            body,
            "decision=choose&level=grant&field.First+Name%26x=deny&datatype.3=grant"
        );
        assert_eq!(parse_form(&body), Ok(decision));
        assert_eq!(parse_form("decision=approve_all"), Ok(Decision::ApproveAll));
        assert!(parse_form("decision=maybe").is_err());
        assert!(parse_form("decision=choose&level=perhaps").is_err());
        assert_eq!(form_decode("a%2"), "a%2");
    }
}
