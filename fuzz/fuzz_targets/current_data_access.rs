//! Arbitrary bytes as the answer to `GetCurrentDataAccess`: the reader never panics, refuses
//! only what is not a JSON object, and what it writes reads back to the same content; the
//! planner accepts whatever was read.

#![no_main]

use himsa_conn::{merged_request, standing, AccessLevel, CurrentDataAccess, Need};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let access = match CurrentDataAccess::from_value(&value) {
        Ok(access) => access,
        Err(_) => {
            assert!(!value.is_object(), "an object must always be readable");
            return;
        }
    };

    let written = access.to_value();
    let again = CurrentDataAccess::from_value(&written).expect("own output is readable");
    assert_eq!(
        again.user_account_access_levels,
        access.user_account_access_levels
    );
    assert_eq!(again.patient_fields, access.patient_fields);
    assert_eq!(again.data_types, access.data_types);
    assert_eq!(
        again.control_patient_management,
        access.control_patient_management
    );
    assert_eq!(again.can_manage_patients, access.can_manage_patients);
    assert_eq!(
        again.exclusive_patient_management,
        access.exclusive_patient_management
    );
    assert_eq!(
        again.main_patient_management_system_name,
        access.main_patient_management_system_name
    );
    assert_eq!(again.created, access.created);

    for level in [
        AccessLevel::Limited,
        AccessLevel::Basic,
        AccessLevel::Advanced,
    ] {
        let need = Need::level(level);
        let _ = standing(&need, &access);
        let request = merged_request(&need, Some(&access));
        assert!(request.user_account_access_level.rank() >= need.level.rank());
    }
});
