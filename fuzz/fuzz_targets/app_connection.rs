//! Arbitrary bytes as an AppConnection answer (to the POST or to the GET): the reader never
//! panics, refuses only what is not a JSON object, and what it writes reads back to the same
//! content, the nested current access included.

#![no_main]

use himsa_conn::AppConnection;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let connection = match AppConnection::from_value(&value) {
        Ok(connection) => connection,
        Err(_) => {
            assert!(!value.is_object(), "an object must always be readable");
            return;
        }
    };

    let written = connection.to_value();
    let again = AppConnection::from_value(&written).expect("own output is readable");
    assert_eq!(again.app_connection_id, connection.app_connection_id);
    assert_eq!(
        again.current_user_can_approve_requests,
        connection.current_user_can_approve_requests
    );
    assert_eq!(again.app_portal_url, connection.app_portal_url);
    assert_eq!(again.created, connection.created);
    match (&again.current_data_access, &connection.current_data_access) {
        (None, None) => {}
        (Some(a), Some(b)) => {
            assert_eq!(a.user_account_access_levels, b.user_account_access_levels);
            assert_eq!(a.patient_fields, b.patient_fields);
            assert_eq!(a.data_types, b.data_types);
            assert_eq!(a.created, b.created);
        }
        (a, b) => panic!("current access changed on the way back: {a:?} / {b:?}"),
    }
});
