//! The built shared library exports exactly the functions the committed header declares, and
//! every declaration in the header is documented.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// Names of the functions the header declares, from lines such as
/// `HimsaStatus himsa_conn_new(const char *base_url,`.
fn declared(header: &str) -> BTreeSet<String> {
    header
        .lines()
        .filter(|line| !line.starts_with(' ') && !line.starts_with('*'))
        .filter_map(|line| {
            let open = line.find('(')?;
            let name = line[..open].rsplit([' ', '*']).next()?;
            name.starts_with("himsa_").then(|| name.to_owned())
        })
        .collect()
}

fn header() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("include/himsa_conn.h"))
        .expect("the committed header")
}

#[test]
fn shared_library_exports_match_the_header() {
    if !support::require_tool("nm", "apt-get install binutils") {
        return;
    }
    let artifacts = support::artifacts();
    let output = Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(&artifacts.cdylib)
        .output()
        .expect("run nm");
    assert!(output.status.success());
    let exported: BTreeSet<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().nth(2))
        .filter(|name| name.starts_with("himsa_"))
        .map(str::to_owned)
        .collect();

    let declared = declared(&header());
    assert!(
        declared.len() >= 30,
        "the header parser found too few functions: {declared:?}"
    );
    assert_eq!(
        exported, declared,
        "nm -D of the cdylib versus include/himsa_conn.h"
    );
    for entry_point in [
        "himsa_conn_new",
        "himsa_conn_current_access",
        "himsa_conn_request",
    ] {
        assert!(exported.contains(entry_point), "{entry_point} is exported");
    }
}

#[test]
fn every_declaration_is_documented() {
    let header = header();
    let lines: Vec<&str> = header.lines().collect();
    for (index, line) in lines.iter().enumerate() {
        let declares_function = !line.starts_with(' ')
            && line.contains("himsa_")
            && line.contains('(')
            && !line.starts_with('*')
            && !line.starts_with("typedef");
        let declares_type = line.starts_with("typedef struct") || line.starts_with("enum ");
        if declares_function || declares_type {
            let before = lines[..index]
                .iter()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap();
            assert!(before.trim_end().ends_with("*/"), "undocumented: {line}");
        }
    }
}
