//! The planner's merge from a structured input: a need and a current access with levels,
//! patient fields and data types in any state, with duplicates and case variants.
//!
//! Invariants of `merged_request` (the request never asks for less than is granted or
//! pending):
//! - its level ranks at least as high as the needed level and every granted or pending
//!   known level;
//! - every granted or pending field and data type, and every needed one, is in it (fields
//!   compared without regard to case);
//! - it has no duplicate (fields compared without regard to case) and nothing that is
//!   neither needed nor granted nor pending.

#![no_main]

use himsa_conn::{
    merged_request, standing, AccessLevel, AccessState, AppConnectionRequest, CurrentDataAccess,
    DataTypeAccess, FieldAccess, LevelAccess, Need, Standing,
};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum LevelIn {
    Limited,
    Basic,
    Advanced,
    Unknown(String),
}

#[derive(Arbitrary, Debug)]
enum KnownLevelIn {
    Limited,
    Basic,
    Advanced,
}

#[derive(Arbitrary, Debug)]
enum StateIn {
    Granted,
    Denied,
    PendingApproval,
    Unknown(String),
}

/// Field names from a small set with case variants, so that collisions are common.
#[derive(Arbitrary, Debug)]
enum FieldIn {
    FirstName,
    FirstNameLower,
    LastName,
    EmailAddress,
    Other(String),
}

#[derive(Arbitrary, Debug)]
struct Input {
    need_level: KnownLevelIn,
    need_fields: Vec<FieldIn>,
    need_types: Vec<i8>,
    access: Option<AccessIn>,
}

#[derive(Arbitrary, Debug)]
struct AccessIn {
    levels: Vec<(LevelIn, StateIn)>,
    fields: Vec<(FieldIn, StateIn)>,
    types: Vec<(i8, StateIn)>,
}

fn level(input: &LevelIn) -> AccessLevel {
    match input {
        LevelIn::Limited => AccessLevel::Limited,
        LevelIn::Basic => AccessLevel::Basic,
        LevelIn::Advanced => AccessLevel::Advanced,
        LevelIn::Unknown(text) => AccessLevel::parse(text),
    }
}

fn state(input: &StateIn) -> AccessState {
    match input {
        StateIn::Granted => AccessState::Granted,
        StateIn::Denied => AccessState::Denied,
        StateIn::PendingApproval => AccessState::PendingApproval,
        StateIn::Unknown(text) => AccessState::parse(text),
    }
}

fn field(input: &FieldIn) -> String {
    match input {
        FieldIn::FirstName => "FirstName".to_owned(),
        FieldIn::FirstNameLower => "firstname".to_owned(),
        FieldIn::LastName => "LastName".to_owned(),
        FieldIn::EmailAddress => "EmailAddress".to_owned(),
        FieldIn::Other(text) => text.clone(),
    }
}

/// Everything not refused is held, or may be: it must be carried into a request.
fn kept(state: &AccessState) -> bool {
    *state != AccessState::Denied
}

/// Field names match case-insensitively and without surrounding white space.
fn same_field(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

fn has_field(request: &AppConnectionRequest, name: &str) -> bool {
    request.patient_fields.iter().any(|f| same_field(f, name))
}

fuzz_target!(|input: Input| {
    let need = Need {
        level: match input.need_level {
            KnownLevelIn::Limited => AccessLevel::Limited,
            KnownLevelIn::Basic => AccessLevel::Basic,
            KnownLevelIn::Advanced => AccessLevel::Advanced,
        },
        patient_fields: input.need_fields.iter().map(field).collect(),
        data_types: input.need_types.iter().map(|t| i64::from(*t)).collect(),
    };
    let access = input.access.as_ref().map(|a| CurrentDataAccess {
        user_account_access_levels: a
            .levels
            .iter()
            .map(|(l, s)| LevelAccess {
                level: level(l),
                access: state(s),
            })
            .collect(),
        patient_fields: a
            .fields
            .iter()
            .map(|(f, s)| FieldAccess {
                field: field(f),
                access: state(s),
            })
            .collect(),
        data_types: a
            .types
            .iter()
            .map(|(t, s)| DataTypeAccess {
                data_type: i64::from(*t),
                access: state(s),
            })
            .collect(),
        ..CurrentDataAccess::default()
    });

    let request = merged_request(&need, access.as_ref());
    let merged = request
        .user_account_access_level
        .rank()
        .expect("the merged level is a known level");
    assert!(merged >= need.level.rank().unwrap());

    for name in &need.patient_fields {
        assert!(has_field(&request, name), "needed field {name:?} missing");
    }
    for t in &need.data_types {
        assert!(
            request.data_types.contains(t),
            "needed data type {t} missing"
        );
    }
    if let Some(access) = &access {
        for entry in access
            .user_account_access_levels
            .iter()
            .filter(|e| kept(&e.access))
        {
            if let Some(rank) = entry.level.rank() {
                assert!(merged >= rank, "asks {merged} below kept level {rank}");
            }
        }
        for entry in access.patient_fields.iter().filter(|e| kept(&e.access)) {
            assert!(
                has_field(&request, &entry.field),
                "kept field {:?} lost",
                entry.field
            );
        }
        for entry in access.data_types.iter().filter(|e| kept(&e.access)) {
            assert!(request.data_types.contains(&entry.data_type));
        }
    }

    // No duplicates, and nothing invented.
    for (i, f) in request.patient_fields.iter().enumerate() {
        assert!(
            !request.patient_fields[..i].iter().any(|g| same_field(g, f)),
            "duplicate field {f:?}"
        );
        let needed = need.patient_fields.iter().any(|n| same_field(n, f));
        let held = access.as_ref().is_some_and(|a| {
            a.patient_fields
                .iter()
                .any(|e| kept(&e.access) && same_field(&e.field, f))
        });
        assert!(needed || held, "field {f:?} came from nowhere");
    }
    for (i, t) in request.data_types.iter().enumerate() {
        assert!(
            !request.data_types[..i].contains(t),
            "duplicate data type {t}"
        );
        let needed = need.data_types.contains(t);
        let held = access.as_ref().is_some_and(|a| {
            a.data_types
                .iter()
                .any(|e| kept(&e.access) && e.data_type == *t)
        });
        assert!(needed || held, "data type {t} came from nowhere");
    }

    // What the planner calls granted is granted item by item.
    if let Some(access) = &access {
        if standing(&need, access) == Standing::Granted {
            for name in &need.patient_fields {
                assert_eq!(access.field_state(name), Some(&AccessState::Granted));
            }
            for t in &need.data_types {
                assert_eq!(access.data_type_state(*t), Some(&AccessState::Granted));
            }
        }
    }

    // The request survives the trip through its JSON form.
    let again = AppConnectionRequest::from_value(&request.to_value()).expect("readable");
    assert_eq!(again, request);
});
