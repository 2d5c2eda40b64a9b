//! Writes `include/himsa_conn.h` from the sources with cbindgen.
//!
//! The header is committed; a test compares it with a fresh generation, so a change to the
//! C ABI that is not reflected in the committed header fails the test suite. Refresh the
//! committed copy with `HIMSA_CONN_WRITE_HEADER=1 cargo build`.

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

    // The fresh header goes to OUT_DIR, where the header test compares it with the committed
    // one. The committed copy is only rewritten on request, so a build never changes the
    // source tree behind the developer's back.
    let generated = PathBuf::from(env::var("OUT_DIR").expect("set by cargo")).join("himsa_conn.h");
    header.write_to_file(&generated);
    println!(
        "cargo:rustc-env=HIMSA_CONN_GENERATED_HEADER={}",
        generated.display()
    );
    println!("cargo:rerun-if-env-changed=HIMSA_CONN_WRITE_HEADER");
    if env::var_os("HIMSA_CONN_WRITE_HEADER").is_some() {
        header.write_to_file(crate_dir.join("include").join("himsa_conn.h"));
    }
}
