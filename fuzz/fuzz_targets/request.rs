//! Arbitrary bytes as an AppConnectionRequest body: the strict reader never panics, and a
//! request it accepts is written in camelCase and reads back equal.

#![no_main]

use himsa_conn::AppConnectionRequest;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Ok(request) = AppConnectionRequest::from_value(&value) else {
        return;
    };
    let written = request.to_value();
    let object = written
        .as_object()
        .expect("a request is written as an object");
    assert!(object.contains_key("userAccountAccessLevel"));
    assert!(object
        .keys()
        .all(|k| k.starts_with(|c: char| c.is_ascii_lowercase())));
    let again = AppConnectionRequest::from_value(&written).expect("own output is readable");
    assert_eq!(again, request);
});
