//! Answers before they are written: status, headers and a complete body.

use serde_json::{json, Value};

use crate::wire::reason;

/// Media type of JSON answers.
pub(crate) const JSON: &str = "application/json; charset=utf-8";
/// Media type of problem answers, as ASP.NET Core sends them.
pub(crate) const PROBLEM_JSON: &str = "application/problem+json; charset=utf-8";
/// Media type of HTML pages.
pub(crate) const HTML: &str = "text/html; charset=utf-8";

/// A complete answer.
#[derive(Clone, Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    pub(crate) fn new(status: u16, content_type: &str, body: Vec<u8>) -> Answer {
        Answer {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body,
        }
    }

    pub(crate) fn json(status: u16, value: &Value) -> Answer {
        Answer::new(status, JSON, value.to_string().into_bytes())
    }

    /// A JSON problem description (RFC 9457); its keys are camelCase in either spelling, as
    /// ASP.NET Core writes them.
    pub(crate) fn problem(status: u16, detail: &str) -> Answer {
        let body = json!({
            "title": reason(status),
            "status": status,
            "detail": detail,
        });
        Answer::new(status, PROBLEM_JSON, body.to_string().into_bytes())
    }

    pub(crate) fn html(status: u16, title: &str, body_html: &str) -> Answer {
        let page = format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <title>{}</title>\n<style>\n\
             body {{ font-family: sans-serif; max-width: 46em; margin: 2em auto; }}\n\
             table {{ border-collapse: collapse; }}\n\
             td, th {{ border: 1px solid #bbb; padding: 0.3em 0.6em; text-align: left; }}\n\
             button {{ margin-right: 0.6em; }}\n\
             </style>\n</head>\n<body>\n<h1>{}</h1>\n{body_html}\n</body>\n</html>\n",
            escape_html(title),
            escape_html(title)
        );
        Answer::new(status, HTML, page.into_bytes())
    }

    pub(crate) fn with_header(mut self, name: &str, value: &str) -> Answer {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}
