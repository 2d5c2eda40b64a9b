//! The committed C header must be exactly what cbindgen generates from the sources.

use std::path::Path;

#[test]
fn committed_header_is_fresh() {
    let generated = std::fs::read_to_string(env!("HIMSA_CONN_GENERATED_HEADER"))
        .expect("build.rs wrote the generated header");
    let committed_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("include/himsa_conn.h");
    let committed = std::fs::read_to_string(&committed_path).expect("include/himsa_conn.h exists");
    assert!(
        generated == committed,
        "include/himsa_conn.h is stale; refresh it with `HIMSA_CONN_WRITE_HEADER=1 cargo build` \
         and commit it"
    );
}

#[test]
fn header_lines_fit_in_100_columns() {
    let header = std::fs::read_to_string(env!("HIMSA_CONN_GENERATED_HEADER")).unwrap();
    for (number, line) in header.lines().enumerate() {
        assert!(
            line.chars().count() <= 100,
            "line {} is too long: {line}",
            number + 1
        );
    }
}
