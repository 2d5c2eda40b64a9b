//! Writes `include/himsa_conn.h` from the sources with cbindgen.
//!
//! The header is committed; a test compares it with a fresh generation, so a change to the
//! C ABI that is not reflected in the committed header fails the test suite.

use std::env;
use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");

    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("cbindgen.toml is readable");
    let header = cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("the C header can be generated from the sources");

    // Written to OUT_DIR always; copied into include/ only when it changed, so that a
    // read-only checkout still builds and unchanged headers keep their timestamps.
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("set by cargo"));
    header.write_to_file(out_dir.join("himsa_conn.h"));
    if env::var_os("HIMSA_CONN_NO_HEADER_UPDATE").is_none() {
        header.write_to_file(crate_dir.join("include").join("himsa_conn.h"));
    }
}
