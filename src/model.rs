//! Typed model of the App Connection answers and requests.
//!
//! The service documents its payloads in two spellings (PascalCase on the reference page,
//! camelCase on the live service), so readers here match keys case-insensitively and accept
//! both `field` and `accessLevel` as the name of an entry's level. Readers are lenient: an
//! unknown enum value is kept as [`AccessLevel::Unknown`] / [`AccessState::Unknown`] with
//! its raw text, a `null` or mistyped value is skipped with a note in `warnings`, and fields
//! the model does not know are kept in `extra`. Only an answer that is not a JSON object at
//! all is refused. Writers always produce camelCase.

use std::cmp::Ordering;
use std::fmt;

use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

/// Access level of a user account connection, ordered `Limited < Basic < Advanced`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AccessLevel {
    /// The smallest level.
    Limited,
    /// The middle level.
    Basic,
    /// The largest level.
    Advanced,
    /// A level this library does not know yet, with the text the server sent.
    Unknown(String),
}

/// State of one requested item (a level, a patient field or a data type).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AccessState {
    /// A user of the tenant approved it.
    Granted,
    /// A user of the tenant refused it.
    Denied,
    /// Asked for, not decided yet.
    PendingApproval,
    /// A state this library does not know yet, with the text the server sent.
    Unknown(String),
}

/// One entry of `userAccountAccessLevels`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LevelAccess {
    /// The level the entry is about.
    pub level: AccessLevel,
    /// Its state.
    pub access: AccessState,
}

/// One entry of `patientFields` (Noah ES apps).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldAccess {
    /// Field name as sent by the server, for example `FirstName`.
    pub field: String,
    /// Its state.
    pub access: AccessState,
}

/// One entry of `dataTypes` (Noah ES apps).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataTypeAccess {
    /// The data type number.
    pub data_type: i64,
    /// Its state.
    pub access: AccessState,
}

/// How a timestamp named its time zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Zone {
    /// It ended in `Z`.
    Utc,
    /// It carried an offset such as `+02:00`.
    Offset,
    /// It carried no zone; it is read as UTC.
    Unspecified,
}

/// A timestamp as the server sent it, and its instant when it could be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timestamp {
    /// The text exactly as received.
    pub raw: String,
    /// The instant in UTC, or `None` when the text is not an ISO 8601 date and time.
    pub utc: Option<DateTime<Utc>>,
    /// How the text named its zone (meaningless when `utc` is `None`).
    pub zone: Zone,
}

/// The app's current data access in a tenant (answer of `GetCurrentDataAccess`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CurrentDataAccess {
    /// Levels with their states; several may appear in different states at once.
    pub user_account_access_levels: Vec<LevelAccess>,
    /// Patient fields with their states (Noah ES apps; empty otherwise).
    pub patient_fields: Vec<FieldAccess>,
    /// Data types with their states (Noah ES apps; empty otherwise).
    pub data_types: Vec<DataTypeAccess>,
    /// `controlPatientManagement`, when present.
    pub control_patient_management: Option<String>,
    /// `canManagePatients`, when present.
    pub can_manage_patients: Option<bool>,
    /// `exclusivePatientManagement`, when present.
    pub exclusive_patient_management: Option<bool>,
    /// `mainPatientManagementSystemName`, when present.
    pub main_patient_management_system_name: Option<String>,
    /// `created`, when present.
    pub created: Option<Timestamp>,
    /// Members the model does not know, with their original keys.
    pub extra: Map<String, Value>,
    /// What could not be read (a mistyped or null value, an entry without a level, ...).
    pub warnings: Vec<String>,
}

/// An app connection (answer of the POST and of `GET AppConnection`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AppConnection {
    /// `appConnectionId`; empty when the server sent none.
    pub app_connection_id: String,
    /// `currentUserCanApproveRequests`; `false` when absent.
    pub current_user_can_approve_requests: bool,
    /// `appPortalUrl`: where to send a browser for approval; may be empty.
    pub app_portal_url: String,
    /// `currentDataAccess`; `None` when `null` or absent (right after the first request).
    pub current_data_access: Option<CurrentDataAccess>,
    /// `created`, when present.
    pub created: Option<Timestamp>,
    /// Members the model does not know, with their original keys.
    pub extra: Map<String, Value>,
    /// What could not be read.
    pub warnings: Vec<String>,
}

/// What an app asks for (body of the POST).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppConnectionRequest {
    /// The level asked for. Must be a known level.
    pub user_account_access_level: AccessLevel,
    /// Patient fields asked for (Noah ES apps); not sent when empty.
    pub patient_fields: Vec<String>,
    /// Data types asked for (Noah ES apps); not sent when empty.
    pub data_types: Vec<i64>,
}

/// An answer that is not even the outline of the expected structure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShapeError(pub String);

impl fmt::Display for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ShapeError {}

impl AccessLevel {
    /// Reads a level name, ignoring case and surrounding whitespace; any other text is kept
    /// as [`AccessLevel::Unknown`] exactly as received.
    pub fn parse(text: &str) -> Self {
        let name = text.trim();
        if name.eq_ignore_ascii_case("Limited") {
            AccessLevel::Limited
        } else if name.eq_ignore_ascii_case("Basic") {
            AccessLevel::Basic
        } else if name.eq_ignore_ascii_case("Advanced") {
            AccessLevel::Advanced
        } else {
            AccessLevel::Unknown(text.to_string())
        }
    }

    /// The name as the service spells it, or the raw text of an unknown level.
    pub fn as_str(&self) -> &str {
        match self {
            AccessLevel::Limited => "Limited",
            AccessLevel::Basic => "Basic",
            AccessLevel::Advanced => "Advanced",
            AccessLevel::Unknown(raw) => raw,
        }
    }

    /// Position in the order `Limited` (1) < `Basic` (2) < `Advanced` (3); `None` for an
    /// unknown level, whose place in that order cannot be guessed.
    pub fn rank(&self) -> Option<u8> {
        match self {
            AccessLevel::Limited => Some(1),
            AccessLevel::Basic => Some(2),
            AccessLevel::Advanced => Some(3),
            AccessLevel::Unknown(_) => None,
        }
    }

    /// Whether this is one of the levels the library knows.
    pub fn is_known(&self) -> bool {
        self.rank().is_some()
    }
}

impl PartialOrd for AccessLevel {
    /// Known levels compare by [`AccessLevel::rank`]; an unknown level is only comparable
    /// with an equal one, so that no code mistakes it for more or less access.
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        match (self.rank(), other.rank()) {
            (Some(a), Some(b)) => Some(a.cmp(&b)),
            _ if self == other => Some(Ordering::Equal),
            _ => None,
        }
    }
}

impl fmt::Display for AccessLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AccessState {
    /// Reads a state name (`Granted`, `Denied`, `PendingApproval`), ignoring case and
    /// surrounding whitespace; any other text, `Pending` included, is kept as
    /// [`AccessState::Unknown`] exactly as received, since the service documents no other
    /// spelling and a guess could make a refusal look like a wait.
    pub fn parse(text: &str) -> Self {
        let name = text.trim();
        if name.eq_ignore_ascii_case("Granted") {
            AccessState::Granted
        } else if name.eq_ignore_ascii_case("Denied") {
            AccessState::Denied
        } else if name.eq_ignore_ascii_case("PendingApproval") {
            AccessState::PendingApproval
        } else {
            AccessState::Unknown(text.to_string())
        }
    }

    /// The name as the service spells it, or the raw text of an unknown state.
    pub fn as_str(&self) -> &str {
        match self {
            AccessState::Granted => "Granted",
            AccessState::Denied => "Denied",
            AccessState::PendingApproval => "PendingApproval",
            AccessState::Unknown(raw) => raw,
        }
    }
}

impl fmt::Display for AccessState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Timestamp {
    /// Reads an ISO 8601 / RFC 3339 date and time with any number of fractional digits,
    /// ending in `Z`, in an offset (`+02:00` or `+0200`) or in nothing (then read as UTC).
    /// Surrounding whitespace and a lowercase `t` or `z` are tolerated. Text in any other
    /// form gives `utc: None`; this never fails, and `raw` always keeps the text as received.
    pub fn parse(raw: &str) -> Timestamp {
        let (utc, zone) = match parse_instant(raw.trim()) {
            Some((utc, zone)) => (Some(utc), zone),
            None => (None, Zone::Unspecified),
        };
        Timestamp {
            raw: raw.to_string(),
            utc,
            zone,
        }
    }
}

/// The instant named by `text` and how it named its zone, if it is a date and time.
fn parse_instant(text: &str) -> Option<(DateTime<Utc>, Zone)> {
    // The common forms (`Z`, `+02:00`, any fraction, lowercase `t`/`z`) are all RFC 3339.
    if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
        let zone = if text.ends_with(['Z', 'z']) {
            Zone::Utc
        } else {
            Zone::Offset
        };
        return Some((instant.with_timezone(&Utc), zone));
    }
    // chrono's format-string parser skips whitespace that ISO 8601 does not allow, so refuse
    // it before falling back to the forms RFC 3339 leaves out.
    if text.contains(char::is_whitespace) {
        return None;
    }
    let text = match text.as_bytes().get(10) {
        // Byte 10 is ASCII here, so both slice ends fall on character boundaries.
        Some(b't') => format!("{}T{}", &text[..10], &text[11..]),
        _ => text.to_string(),
    };
    // The date itself holds hyphens, so an offset sign can only come after it.
    let has_offset = text.get(10..).is_some_and(|time| time.contains(['+', '-']));
    if has_offset {
        DateTime::<FixedOffset>::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S%.f%z")
            .ok()
            .map(|instant| (instant.with_timezone(&Utc), Zone::Offset))
    } else {
        NaiveDateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S%.f")
            .ok()
            .map(|local| (local.and_utc(), Zone::Unspecified))
    }
}

/// A member found in an object: the key as received and its value.
type Found<'a> = Option<(&'a str, &'a Value)>;

/// Sorts the members of `object` into the `N` known slots, each named by one or more
/// aliases matched case-insensitively, and returns the rest as unknown members.
///
/// The first member of a slot wins; serde_json keeps members sorted by key, so "first" is
/// a stable choice (PascalCase before camelCase) whatever order the text had. A later
/// member is noted in `warnings`, except when it is another alias carrying the same value,
/// which loses nothing.
fn split_members<'a, const N: usize>(
    object: &'a Map<String, Value>,
    slots: &[&[&str]; N],
    path: &str,
    warnings: &mut Vec<String>,
) -> ([Found<'a>; N], Map<String, Value>) {
    let mut found: [Found<'a>; N] = [None; N];
    let mut extra = Map::new();
    for (key, value) in object {
        let slot = slots
            .iter()
            .position(|aliases| aliases.iter().any(|a| a.eq_ignore_ascii_case(key)));
        match slot {
            None => {
                extra.insert(key.clone(), value.clone());
            }
            Some(i) => match found[i] {
                None => found[i] = Some((key.as_str(), value)),
                Some((first, first_value)) => {
                    if first.eq_ignore_ascii_case(key) || first_value != value {
                        warnings.push(format!(
                            "{}: duplicate member `{key}` ignored, `{first}` used",
                            path_or_root(path)
                        ));
                    }
                }
            },
        }
    }
    (found, extra)
}

/// The name to use for the top of an object in a warning.
fn path_or_root(path: &str) -> &str {
    if path.is_empty() {
        "(top)"
    } else {
        path
    }
}

/// How a JSON value's type reads in a message.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The error for a value that is not an object where `what` was expected.
fn not_an_object(what: &str, value: &Value) -> ShapeError {
    ShapeError(format!(
        "expected a JSON object for {what}, found {}",
        kind(value)
    ))
}

/// An optional string member: absent and `null` both give `None` without a note.
fn opt_string(found: Found<'_>, name: &str, warnings: &mut Vec<String>) -> Option<String> {
    match found? {
        (_, Value::Null) => None,
        (_, Value::String(text)) => Some(text.clone()),
        (_, other) => {
            warnings.push(format!("{name}: expected a string, found {}", kind(other)));
            None
        }
    }
}

/// An optional boolean member: absent and `null` both give `None` without a note.
fn opt_bool(found: Found<'_>, name: &str, warnings: &mut Vec<String>) -> Option<bool> {
    match found? {
        (_, Value::Null) => None,
        (_, Value::Bool(flag)) => Some(*flag),
        (_, other) => {
            warnings.push(format!("{name}: expected a boolean, found {}", kind(other)));
            None
        }
    }
}

/// An optional timestamp member, given as a string.
fn opt_timestamp(found: Found<'_>, name: &str, warnings: &mut Vec<String>) -> Option<Timestamp> {
    opt_string(found, name, warnings).map(|text| Timestamp::parse(&text))
}

/// An optional list member: absent and `null` both read as an empty list, since .NET
/// serializers commonly write `null` for an empty collection.
fn opt_array<'a>(found: Found<'a>, name: &str, warnings: &mut Vec<String>) -> &'a [Value] {
    match found {
        None | Some((_, Value::Null)) => &[],
        Some((_, Value::Array(items))) => items,
        Some((_, other)) => {
            warnings.push(format!("{name}: expected an array, found {}", kind(other)));
            &[]
        }
    }
}

/// The object of one list entry, or a note saying why the entry is skipped.
fn entry_object<'a>(
    value: &'a Value,
    path: &str,
    warnings: &mut Vec<String>,
) -> Option<&'a Map<String, Value>> {
    match value {
        Value::Object(object) => Some(object),
        Value::Null => {
            warnings.push(format!("{path}: null entry skipped"));
            None
        }
        other => {
            warnings.push(format!(
                "{path}: expected an object, found {}; entry skipped",
                kind(other)
            ));
            None
        }
    }
}

/// The text of a required entry member, or a note saying why the entry is skipped.
fn entry_text<'a>(
    found: Found<'a>,
    path: &str,
    what: &str,
    warnings: &mut Vec<String>,
) -> Option<&'a str> {
    match found {
        Some((_, Value::String(text))) => Some(text),
        None | Some((_, Value::Null)) => {
            warnings.push(format!("{path}: no {what}; entry skipped"));
            None
        }
        Some((key, other)) => {
            warnings.push(format!(
                "{path}: `{key}` is {}, expected a string; entry skipped",
                kind(other)
            ));
            None
        }
    }
}

/// A data type number given as a JSON integer or as a string holding one.
fn data_type_number(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// The data type of an entry, or a note saying why the entry is skipped.
fn entry_data_type(found: Found<'_>, path: &str, warnings: &mut Vec<String>) -> Option<i64> {
    match found {
        None | Some((_, Value::Null)) => {
            warnings.push(format!("{path}: no dataType; entry skipped"));
            None
        }
        Some((key, value)) => {
            let number = data_type_number(value);
            if number.is_none() {
                warnings.push(format!(
                    "{path}: `{key}` is {}, not a 64-bit integer; entry skipped",
                    kind(value)
                ));
            }
            number
        }
    }
}

/// Aliases of the level member of a `userAccountAccessLevels` entry.
const LEVEL_NAMES: &[&str] = &["field", "accessLevel", "level"];

/// Reads `userAccountAccessLevels`, skipping (with a note) each entry that cannot be read.
fn read_levels(items: &[Value], warnings: &mut Vec<String>) -> Vec<LevelAccess> {
    let mut levels = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = format!("userAccountAccessLevels[{i}]");
        let Some(object) = entry_object(item, &path, warnings) else {
            continue;
        };
        let ([level, access], _) =
            split_members(object, &[LEVEL_NAMES, &["access"]], &path, warnings);
        let level = entry_text(level, &path, "level", warnings);
        let access = entry_text(access, &path, "access", warnings);
        if let (Some(level), Some(access)) = (level, access) {
            levels.push(LevelAccess {
                level: AccessLevel::parse(level),
                access: AccessState::parse(access),
            });
        }
    }
    levels
}

/// Reads `patientFields` entries (`{field, access}`).
fn read_fields(items: &[Value], warnings: &mut Vec<String>) -> Vec<FieldAccess> {
    let mut fields = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = format!("patientFields[{i}]");
        let Some(object) = entry_object(item, &path, warnings) else {
            continue;
        };
        let ([field, access], _) =
            split_members(object, &[&["field"], &["access"]], &path, warnings);
        let field = entry_text(field, &path, "field", warnings);
        let access = entry_text(access, &path, "access", warnings);
        if let (Some(field), Some(access)) = (field, access) {
            fields.push(FieldAccess {
                field: field.to_string(),
                access: AccessState::parse(access),
            });
        }
    }
    fields
}

/// Reads `dataTypes` entries (`{dataType, access}`).
fn read_data_types(items: &[Value], warnings: &mut Vec<String>) -> Vec<DataTypeAccess> {
    let mut data_types = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = format!("dataTypes[{i}]");
        let Some(object) = entry_object(item, &path, warnings) else {
            continue;
        };
        let ([data_type, access], _) =
            split_members(object, &[&["dataType"], &["access"]], &path, warnings);
        let data_type = entry_data_type(data_type, &path, warnings);
        let access = entry_text(access, &path, "access", warnings);
        if let (Some(data_type), Some(access)) = (data_type, access) {
            data_types.push(DataTypeAccess {
                data_type,
                access: AccessState::parse(access),
            });
        }
    }
    data_types
}

/// Adds the unknown members back to a written object; a member the writer already wrote
/// (in any case) keeps the typed value, so `extra` can never contradict the model.
/// Members of a CurrentDataAccess that the model writes itself.
const CURRENT_DATA_ACCESS_MEMBERS: [&str; 8] = [
    "userAccountAccessLevels",
    "patientFields",
    "dataTypes",
    "controlPatientManagement",
    "canManagePatients",
    "exclusivePatientManagement",
    "mainPatientManagementSystemName",
    "created",
];

/// Members of an AppConnection that the model writes itself.
const APP_CONNECTION_MEMBERS: [&str; 5] = [
    "appConnectionId",
    "currentUserCanApproveRequests",
    "appPortalUrl",
    "currentDataAccess",
    "created",
];

/// Writes the unknown members after the known ones; one that differs from a known member
/// only by case is left out, so that no key appears twice to a case-insensitive reader.
fn write_extra<M: SerializeMap>(
    map: &mut M,
    extra: &Map<String, Value>,
    known: &[&str],
) -> Result<(), M::Error> {
    for (key, value) in extra {
        if !known.iter().any(|member| member.eq_ignore_ascii_case(key)) {
            map.serialize_entry(key, value)?;
        }
    }
    Ok(())
}

impl Serialize for LevelAccess {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("accessLevel", self.level.as_str())?;
        map.serialize_entry("access", self.access.as_str())?;
        map.end()
    }
}

impl Serialize for FieldAccess {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("field", &self.field)?;
        map.serialize_entry("access", self.access.as_str())?;
        map.end()
    }
}

impl Serialize for DataTypeAccess {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("dataType", &self.data_type)?;
        map.serialize_entry("access", self.access.as_str())?;
        map.end()
    }
}

impl Serialize for CurrentDataAccess {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("userAccountAccessLevels", &self.user_account_access_levels)?;
        if !self.patient_fields.is_empty() {
            map.serialize_entry("patientFields", &self.patient_fields)?;
        }
        if !self.data_types.is_empty() {
            map.serialize_entry("dataTypes", &self.data_types)?;
        }
        if let Some(text) = &self.control_patient_management {
            map.serialize_entry("controlPatientManagement", text)?;
        }
        if let Some(flag) = self.can_manage_patients {
            map.serialize_entry("canManagePatients", &flag)?;
        }
        if let Some(flag) = self.exclusive_patient_management {
            map.serialize_entry("exclusivePatientManagement", &flag)?;
        }
        if let Some(text) = &self.main_patient_management_system_name {
            map.serialize_entry("mainPatientManagementSystemName", text)?;
        }
        if let Some(created) = &self.created {
            map.serialize_entry("created", &created.raw)?;
        }
        write_extra(&mut map, &self.extra, &CURRENT_DATA_ACCESS_MEMBERS)?;
        map.end()
    }
}

impl Serialize for AppConnection {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("appConnectionId", &self.app_connection_id)?;
        map.serialize_entry(
            "currentUserCanApproveRequests",
            &self.current_user_can_approve_requests,
        )?;
        map.serialize_entry("appPortalUrl", &self.app_portal_url)?;
        if let Some(access) = &self.current_data_access {
            map.serialize_entry("currentDataAccess", access)?;
        }
        if let Some(created) = &self.created {
            map.serialize_entry("created", &created.raw)?;
        }
        write_extra(&mut map, &self.extra, &APP_CONNECTION_MEMBERS)?;
        map.end()
    }
}

impl CurrentDataAccess {
    /// Reads a CurrentDataAccess in either spelling.
    ///
    /// Only a value that is not an object is refused. Everything else is read as far as it
    /// goes: entries and members that cannot be read are skipped with a note in `warnings`,
    /// and members the model does not know are kept in `extra`. A missing or `null` list or
    /// optional member is simply absent and is not noted.
    pub fn from_value(value: &Value) -> Result<Self, ShapeError> {
        let Value::Object(object) = value else {
            return Err(not_an_object("CurrentDataAccess", value));
        };
        let mut warnings = Vec::new();
        let w = &mut warnings;
        let (found, extra) = split_members(
            object,
            &[
                &["userAccountAccessLevels"],
                &["patientFields"],
                &["dataTypes"],
                &["controlPatientManagement"],
                &["canManagePatients"],
                &["exclusivePatientManagement"],
                &["mainPatientManagementSystemName"],
                &["created"],
            ],
            "",
            w,
        );
        let [levels, fields, data_types, control, can_manage, exclusive, main_name, created] =
            found;
        let user_account_access_levels =
            read_levels(opt_array(levels, "userAccountAccessLevels", w), w);
        let patient_fields = read_fields(opt_array(fields, "patientFields", w), w);
        let data_types = read_data_types(opt_array(data_types, "dataTypes", w), w);
        let control_patient_management = opt_string(control, "controlPatientManagement", w);
        let can_manage_patients = opt_bool(can_manage, "canManagePatients", w);
        let exclusive_patient_management = opt_bool(exclusive, "exclusivePatientManagement", w);
        let main_patient_management_system_name =
            opt_string(main_name, "mainPatientManagementSystemName", w);
        let created = opt_timestamp(created, "created", w);
        Ok(CurrentDataAccess {
            user_account_access_levels,
            patient_fields,
            data_types,
            control_patient_management,
            can_manage_patients,
            exclusive_patient_management,
            main_patient_management_system_name,
            created,
            extra,
            warnings,
        })
    }

    /// Writes the normalized camelCase form: levels as `{accessLevel, access}`, optional
    /// members only when present, `created` as received, then the unknown members.
    /// `warnings` are not written. The same form is printed by `serde_json::to_string`.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("the model serializes to JSON with text keys")
    }

    /// The state of the first entry for `level`, if the answer has one.
    pub fn level_state(&self, level: &AccessLevel) -> Option<&AccessState> {
        self.user_account_access_levels
            .iter()
            .find(|entry| &entry.level == level)
            .map(|entry| &entry.access)
    }

    /// The state of the first patient field named `name`, compared without regard to case
    /// since the service's spellings are not reliable.
    pub fn field_state(&self, name: &str) -> Option<&AccessState> {
        self.patient_fields
            .iter()
            .find(|entry| entry.field.trim().eq_ignore_ascii_case(name.trim()))
            .map(|entry| &entry.access)
    }

    /// The state of the first entry for data type `n`.
    pub fn data_type_state(&self, n: i64) -> Option<&AccessState> {
        self.data_types
            .iter()
            .find(|entry| entry.data_type == n)
            .map(|entry| &entry.access)
    }

    /// The highest known level whose state is `Granted`; unknown levels are ignored
    /// because their rank cannot be known.
    pub fn highest_granted_level(&self) -> Option<AccessLevel> {
        self.user_account_access_levels
            .iter()
            .filter(|entry| entry.access == AccessState::Granted)
            .filter_map(|entry| entry.level.rank().map(|rank| (rank, &entry.level)))
            .max_by_key(|(rank, _)| *rank)
            .map(|(_, level)| level.clone())
    }
}

impl AppConnection {
    /// Reads an AppConnection in either spelling, as leniently as
    /// [`CurrentDataAccess::from_value`]: only a value that is not an object is refused.
    ///
    /// A missing or `null` `appPortalUrl` reads as an empty string and a `null`
    /// `currentDataAccess` as `None`, both normal. A nested `currentDataAccess` keeps its
    /// own notes in its own `warnings`; one that is not an object is noted here and dropped.
    pub fn from_value(value: &Value) -> Result<Self, ShapeError> {
        let Value::Object(object) = value else {
            return Err(not_an_object("AppConnection", value));
        };
        let mut warnings = Vec::new();
        let w = &mut warnings;
        let ([id, can_approve, portal, data_access, created], extra) = split_members(
            object,
            &[
                &["appConnectionId"],
                &["currentUserCanApproveRequests"],
                &["appPortalUrl"],
                &["currentDataAccess"],
                &["created"],
            ],
            "",
            w,
        );
        let app_connection_id = match id {
            Some((_, Value::String(text))) => text.clone(),
            None => {
                w.push("appConnectionId: missing".to_string());
                String::new()
            }
            Some((_, other)) => {
                w.push(format!(
                    "appConnectionId: expected a string, found {}",
                    kind(other)
                ));
                String::new()
            }
        };
        let current_user_can_approve_requests = match can_approve {
            None => false,
            Some((_, Value::Bool(flag))) => *flag,
            Some((_, other)) => {
                w.push(format!(
                    "currentUserCanApproveRequests: expected a boolean, found {}",
                    kind(other)
                ));
                false
            }
        };
        let app_portal_url = opt_string(portal, "appPortalUrl", w).unwrap_or_default();
        let current_data_access = match data_access {
            None | Some((_, Value::Null)) => None,
            Some((_, nested)) => match CurrentDataAccess::from_value(nested) {
                Ok(nested) => Some(nested),
                Err(error) => {
                    w.push(format!("currentDataAccess: {error}"));
                    None
                }
            },
        };
        let created = opt_timestamp(created, "created", w);
        Ok(AppConnection {
            app_connection_id,
            current_user_can_approve_requests,
            app_portal_url,
            current_data_access,
            created,
            extra,
            warnings,
        })
    }

    /// Writes the normalized camelCase form: the nested data access and `created` only when
    /// present, `created` as received, then the unknown members. `warnings` are not written.
    /// The same form is printed by `serde_json::to_string`.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("the model serializes to JSON with text keys")
    }
}

impl AppConnectionRequest {
    /// Writes the POST body in camelCase; the Noah ES lists are left out when empty so that
    /// a HIMSA SSO app sends only its level.
    pub fn to_value(&self) -> Value {
        let mut out = Map::new();
        out.insert(
            "userAccountAccessLevel".into(),
            Value::from(self.user_account_access_level.as_str()),
        );
        if !self.patient_fields.is_empty() {
            out.insert(
                "patientFields".into(),
                Value::from(self.patient_fields.clone()),
            );
        }
        if !self.data_types.is_empty() {
            out.insert("dataTypes".into(), Value::from(self.data_types.clone()));
        }
        Value::Object(out)
    }

    /// Reads a request in either spelling. Unlike the answer readers this one is strict,
    /// since a request has no place for notes: a missing level, or a member or list item
    /// of the wrong type, is an error. Unknown members are ignored, and a data type may be
    /// given as a string holding an integer.
    pub fn from_value(value: &Value) -> Result<Self, ShapeError> {
        let Value::Object(object) = value else {
            return Err(not_an_object("AppConnectionRequest", value));
        };
        // Duplicates are resolved as in the answer readers, but there is nowhere to note them.
        let mut ignored = Vec::new();
        let ([level, fields, data_types], _) = split_members(
            object,
            &[
                &["userAccountAccessLevel"],
                &["patientFields"],
                &["dataTypes"],
            ],
            "",
            &mut ignored,
        );
        let user_account_access_level = match level {
            Some((_, Value::String(text))) => AccessLevel::parse(text),
            None | Some((_, Value::Null)) => {
                return Err(ShapeError(
                    "AppConnectionRequest: userAccountAccessLevel missing".to_string(),
                ))
            }
            Some((_, other)) => {
                return Err(ShapeError(format!(
                    "AppConnectionRequest: userAccountAccessLevel is {}, expected a string",
                    kind(other)
                )))
            }
        };
        let patient_fields = request_list(fields, "patientFields", |item| {
            item.as_str().map(str::to_string)
        })?;
        let data_types = request_list(data_types, "dataTypes", data_type_number)?;
        Ok(AppConnectionRequest {
            user_account_access_level,
            patient_fields,
            data_types,
        })
    }
}

/// Reads one list of a request strictly: absent or `null` is empty, anything unreadable
/// is an error naming the item.
fn request_list<T>(
    found: Found<'_>,
    name: &str,
    read: impl Fn(&Value) -> Option<T>,
) -> Result<Vec<T>, ShapeError> {
    match found {
        None | Some((_, Value::Null)) => Ok(Vec::new()),
        Some((_, Value::Array(items))) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                read(item).ok_or_else(|| {
                    ShapeError(format!(
                        "AppConnectionRequest: {name}[{i}] cannot be read ({})",
                        kind(item)
                    ))
                })
            })
            .collect(),
        Some((_, other)) => Err(ShapeError(format!(
            "AppConnectionRequest: {name} is {}, expected an array",
            kind(other)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, nanos: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
            + chrono::Duration::nanoseconds(i64::from(nanos))
    }

    fn cda(value: Value) -> CurrentDataAccess {
        CurrentDataAccess::from_value(&value).unwrap()
    }

    fn conn(value: Value) -> AppConnection {
        AppConnection::from_value(&value).unwrap()
    }

    fn level(level: AccessLevel, access: AccessState) -> LevelAccess {
        LevelAccess { level, access }
    }

    /// The levels of the seed example: Basic granted, Advanced denied, Limited pending.
    fn seed_levels() -> Vec<LevelAccess> {
        vec![
            level(AccessLevel::Basic, AccessState::Granted),
            level(AccessLevel::Advanced, AccessState::Denied),
            level(AccessLevel::Limited, AccessState::PendingApproval),
        ]
    }

    #[test]
    fn access_level_parse_and_print() {
        let cases = [
            ("Limited", AccessLevel::Limited),
            ("basic", AccessLevel::Basic),
            ("  ADVANCED\t", AccessLevel::Advanced),
            ("Full", AccessLevel::Unknown("Full".into())),
            (" Full ", AccessLevel::Unknown(" Full ".into())),
            ("", AccessLevel::Unknown(String::new())),
        ];
        for (text, expected) in cases {
            assert_eq!(AccessLevel::parse(text), expected, "{text:?}");
        }
        assert_eq!(AccessLevel::Basic.as_str(), "Basic");
        assert_eq!(AccessLevel::Unknown("Full".into()).to_string(), "Full");
        assert_eq!(AccessLevel::Advanced.to_string(), "Advanced");
    }

    #[test]
    fn access_level_rank_and_order() {
        assert_eq!(AccessLevel::Limited.rank(), Some(1));
        assert_eq!(AccessLevel::Basic.rank(), Some(2));
        assert_eq!(AccessLevel::Advanced.rank(), Some(3));
        assert_eq!(AccessLevel::Unknown("x".into()).rank(), None);
        assert!(AccessLevel::Basic.is_known());
        assert!(!AccessLevel::Unknown("x".into()).is_known());
        assert!(AccessLevel::Limited < AccessLevel::Basic);
        assert!(AccessLevel::Advanced > AccessLevel::Basic);
        let unknown = AccessLevel::Unknown("x".into());
        assert_eq!(unknown.partial_cmp(&AccessLevel::Basic), None);
        assert_eq!(unknown.partial_cmp(&unknown.clone()), Some(Ordering::Equal));
    }

    #[test]
    fn access_state_parse_and_print() {
        let cases = [
            ("Granted", AccessState::Granted),
            ("denied", AccessState::Denied),
            (" PENDINGAPPROVAL ", AccessState::PendingApproval),
            ("Pending", AccessState::Unknown("Pending".into())),
            ("Revoked", AccessState::Unknown("Revoked".into())),
        ];
        for (text, expected) in cases {
            assert_eq!(AccessState::parse(text), expected, "{text:?}");
        }
        assert_eq!(AccessState::PendingApproval.to_string(), "PendingApproval");
        assert_eq!(AccessState::Unknown("Revoked".into()).as_str(), "Revoked");
    }

    #[test]
    fn timestamp_forms() {
        let base = |nanos| utc(2023, 4, 4, 19, 17, 22, nanos);
        let cases = [
            ("2023-04-04T19:17:22Z", Some(base(0)), Zone::Utc),
            ("2023-04-04T19:17:22.5Z", Some(base(500_000_000)), Zone::Utc),
            (
                "2023-04-04T19:17:22.956Z",
                Some(base(956_000_000)),
                Zone::Utc,
            ),
            (
                "2023-04-04T19:17:22.0751316Z",
                Some(base(75_131_600)),
                Zone::Utc,
            ),
            (
                "2023-04-04t19:17:22.0751316z",
                Some(base(75_131_600)),
                Zone::Utc,
            ),
            ("2023-04-04T21:17:22+02:00", Some(base(0)), Zone::Offset),
            (
                "2023-04-04T21:17:22.956+0200",
                Some(base(956_000_000)),
                Zone::Offset,
            ),
            ("2023-04-04T13:47:22-05:30", Some(base(0)), Zone::Offset),
            ("2023-04-04t13:47:22-0530", Some(base(0)), Zone::Offset),
            ("2023-04-04T19:17:22", Some(base(0)), Zone::Unspecified),
            (
                "2023-04-04T19:17:22.0751316",
                Some(base(75_131_600)),
                Zone::Unspecified,
            ),
            (
                "2023-04-04t19:17:22.1",
                Some(base(100_000_000)),
                Zone::Unspecified,
            ),
            (" 2023-04-04T19:17:22Z\n", Some(base(0)), Zone::Utc),
        ];
        for (text, expected, zone) in cases {
            let parsed = Timestamp::parse(text);
            assert_eq!(parsed.raw, text);
            assert_eq!(parsed.utc, expected, "{text:?}");
            assert_eq!(parsed.zone, zone, "{text:?}");
        }
    }

    #[test]
    fn timestamp_refuses_what_is_not_a_date_and_time() {
        let cases = [
            "",
            "   ",
            "garbage",
            "2023-04-04",
            "2023-04-04T19:17",
            "2023-04-04T19:17:22.",
            "2023-04-04T19:17:22.Z",
            "2023-13-04T19:17:22Z",
            "2023-02-30T19:17:22Z",
            "2023-04-04T24:00:00Z",
            "2023-04-04T19:17:22+24:00",
            "2023-04-04T19:17:22 +02:00",
            "2023-04-04T19:17:22+02",
            "2023-04-04T19:17:22Zjunk",
            "1680635842",
            "2023-04-04\u{e9}19:17:22",
            "\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}t\u{e9}",
            "+262143-12-31T23:59:59-23:59",
            "-262144-01-01T00:00:00+23:59",
        ];
        for text in cases {
            let parsed = Timestamp::parse(text);
            assert_eq!(parsed.utc, None, "{text:?}");
            assert_eq!(parsed.zone, Zone::Unspecified, "{text:?}");
            assert_eq!(parsed.raw, text);
        }
    }

    #[test]
    fn seed_example_pascal_case() {
        let read = cda(json!({
            "UserAccountAccessLevels": [
                {"Field": "Basic", "Access": "Granted"},
                {"Field": "Advanced", "Access": "Denied"},
                {"Field": "Limited", "Access": "PendingApproval"}
            ],
            "Created": "2023-02-23T08:46:57.956Z"
        }));
        assert_eq!(read.user_account_access_levels, seed_levels());
        let created = read.created.as_ref().unwrap();
        assert_eq!(created.raw, "2023-02-23T08:46:57.956Z");
        assert_eq!(created.utc, Some(utc(2023, 2, 23, 8, 46, 57, 956_000_000)));
        assert!(read.warnings.is_empty(), "{:?}", read.warnings);
        assert!(read.extra.is_empty());
        assert_eq!(
            read.level_state(&AccessLevel::Basic),
            Some(&AccessState::Granted)
        );
        assert_eq!(
            read.level_state(&AccessLevel::Advanced),
            Some(&AccessState::Denied)
        );
        assert_eq!(
            read.level_state(&AccessLevel::Limited),
            Some(&AccessState::PendingApproval)
        );
        assert_eq!(read.highest_granted_level(), Some(AccessLevel::Basic));
    }

    #[test]
    fn seed_example_camel_case_and_level_aliases() {
        let read = cda(json!({
            "userAccountAccessLevels": [
                {"accessLevel": "Basic", "access": "Granted"},
                {"level": "advanced", "ACCESS": "denied"},
                {"field": "LIMITED", "access": "pendingApproval"}
            ],
            "created": "2023-04-04T19:17:22.0751316Z"
        }));
        assert_eq!(read.user_account_access_levels, seed_levels());
        assert_eq!(read.created.unwrap().zone, Zone::Utc);
        assert!(read.warnings.is_empty(), "{:?}", read.warnings);
    }

    #[test]
    fn noah_es_members_and_extras() {
        let read = cda(json!({
            "userAccountAccessLevels": [{"accessLevel": "Advanced", "access": "Granted"}],
            "patientFields": [
                {"field": "FirstName", "access": "Granted"},
                {"Field": "EmailAddress", "Access": "PendingApproval"}
            ],
            "dataTypes": [
                {"dataType": 1, "access": "Granted"},
                {"DataType": "7", "Access": "Denied"}
            ],
            "controlPatientManagement": "Shared",
            "canManagePatients": true,
            "exclusivePatientManagement": false,
            "mainPatientManagementSystemName": "Noah",
            "futureMember": {"nested": [1, 2]},
            "Created": "2023-04-04T19:17:22+02:00"
        }));
        assert_eq!(
            read.patient_fields,
            vec![
                FieldAccess {
                    field: "FirstName".into(),
                    access: AccessState::Granted
                },
                FieldAccess {
                    field: "EmailAddress".into(),
                    access: AccessState::PendingApproval
                },
            ]
        );
        assert_eq!(
            read.data_types,
            vec![
                DataTypeAccess {
                    data_type: 1,
                    access: AccessState::Granted
                },
                DataTypeAccess {
                    data_type: 7,
                    access: AccessState::Denied
                },
            ]
        );
        assert_eq!(read.control_patient_management.as_deref(), Some("Shared"));
        assert_eq!(read.can_manage_patients, Some(true));
        assert_eq!(read.exclusive_patient_management, Some(false));
        assert_eq!(
            read.main_patient_management_system_name.as_deref(),
            Some("Noah")
        );
        assert_eq!(
            read.extra.get("futureMember"),
            Some(&json!({"nested": [1, 2]}))
        );
        assert_eq!(read.extra.len(), 1);
        assert!(read.warnings.is_empty(), "{:?}", read.warnings);
        assert_eq!(read.field_state("firstname"), Some(&AccessState::Granted));
        assert_eq!(read.field_state("LastName"), None);
        assert_eq!(read.data_type_state(7), Some(&AccessState::Denied));
        assert_eq!(read.data_type_state(2), None);
        assert_eq!(read.highest_granted_level(), Some(AccessLevel::Advanced));

        assert_eq!(
            read.to_value(),
            json!({
                "userAccountAccessLevels": [{"accessLevel": "Advanced", "access": "Granted"}],
                "patientFields": [
                    {"field": "FirstName", "access": "Granted"},
                    {"field": "EmailAddress", "access": "PendingApproval"}
                ],
                "dataTypes": [
                    {"dataType": 1, "access": "Granted"},
                    {"dataType": 7, "access": "Denied"}
                ],
                "controlPatientManagement": "Shared",
                "canManagePatients": true,
                "exclusivePatientManagement": false,
                "mainPatientManagementSystemName": "Noah",
                "futureMember": {"nested": [1, 2]},
                "created": "2023-04-04T19:17:22+02:00"
            })
        );
        let again = cda(read.to_value());
        assert_eq!(again, read);
    }

    #[test]
    fn unknown_levels_and_states_are_kept_and_written_back() {
        let read = cda(json!({
            "userAccountAccessLevels": [
                {"accessLevel": "Premium", "access": "Granted"},
                {"accessLevel": "Limited", "access": "Revoked"},
                {"accessLevel": "Limited", "access": "Granted"}
            ],
            "patientFields": [{"field": "ShoeSize", "access": "Suspended"}]
        }));
        assert_eq!(
            read.user_account_access_levels,
            vec![
                level(AccessLevel::Unknown("Premium".into()), AccessState::Granted),
                level(AccessLevel::Limited, AccessState::Unknown("Revoked".into())),
                level(AccessLevel::Limited, AccessState::Granted),
            ]
        );
        assert_eq!(
            read.level_state(&AccessLevel::Limited),
            Some(&AccessState::Unknown("Revoked".into()))
        );
        assert_eq!(read.highest_granted_level(), Some(AccessLevel::Limited));
        assert!(read.warnings.is_empty());
        let written = read.to_value();
        assert_eq!(
            written["userAccountAccessLevels"][0],
            json!({"accessLevel": "Premium", "access": "Granted"})
        );
        assert_eq!(
            written["userAccountAccessLevels"][1]["access"],
            json!("Revoked")
        );
        assert_eq!(written["patientFields"][0]["access"], json!("Suspended"));
    }

    #[test]
    fn nulls_everywhere() {
        let read = cda(json!({
            "userAccountAccessLevels": [
                null,
                {"accessLevel": null, "access": "Granted"},
                {"accessLevel": "Basic", "access": null},
                {"accessLevel": "Basic", "access": "Granted"}
            ],
            "patientFields": null,
            "dataTypes": [{"dataType": null, "access": "Granted"}],
            "controlPatientManagement": null,
            "canManagePatients": null,
            "exclusivePatientManagement": null,
            "mainPatientManagementSystemName": null,
            "created": null,
            "other": null
        }));
        assert_eq!(
            read.user_account_access_levels,
            vec![level(AccessLevel::Basic, AccessState::Granted)]
        );
        assert!(read.patient_fields.is_empty());
        assert!(read.data_types.is_empty());
        assert_eq!(read.control_patient_management, None);
        assert_eq!(read.can_manage_patients, None);
        assert_eq!(read.created, None);
        assert_eq!(read.extra.get("other"), Some(&Value::Null));
        assert_eq!(
            read.warnings,
            vec![
                "userAccountAccessLevels[0]: null entry skipped",
                "userAccountAccessLevels[1]: no level; entry skipped",
                "userAccountAccessLevels[2]: no access; entry skipped",
                "dataTypes[0]: no dataType; entry skipped",
            ]
        );
    }

    #[test]
    fn mistyped_members_are_skipped_with_a_note() {
        let read = cda(json!({
            "userAccountAccessLevels": [
                "Basic",
                {"access": "Granted"},
                {"accessLevel": 2, "access": "Granted"},
                {"accessLevel": {"name": "Basic"}, "access": ["Granted"]},
                {"accessLevel": "Advanced", "access": "Granted"}
            ],
            "patientFields": {"field": "FirstName", "access": "Granted"},
            "dataTypes": "1,2,3",
            "controlPatientManagement": 5,
            "canManagePatients": "true",
            "exclusivePatientManagement": 0,
            "mainPatientManagementSystemName": ["Noah"],
            "created": 1680635842
        }));
        assert_eq!(
            read.user_account_access_levels,
            vec![level(AccessLevel::Advanced, AccessState::Granted)]
        );
        assert_eq!(read.can_manage_patients, None);
        assert_eq!(read.created, None);
        assert_eq!(
            read.warnings,
            vec![
                "userAccountAccessLevels[0]: expected an object, found a string; entry skipped",
                "userAccountAccessLevels[1]: no level; entry skipped",
                "userAccountAccessLevels[2]: `accessLevel` is a number, expected a string; \
                 entry skipped",
                "userAccountAccessLevels[3]: `accessLevel` is an object, expected a string; \
                 entry skipped",
                "userAccountAccessLevels[3]: `access` is an array, expected a string; \
                 entry skipped",
                "patientFields: expected an array, found an object",
                "dataTypes: expected an array, found a string",
                "controlPatientManagement: expected a string, found a number",
                "canManagePatients: expected a boolean, found a string",
                "exclusivePatientManagement: expected a boolean, found a number",
                "mainPatientManagementSystemName: expected a string, found an array",
                "created: expected a string, found a number",
            ]
        );
    }

    #[test]
    fn hostile_data_types_never_panic() {
        let read = cda(json!({
            "dataTypes": [
                {"dataType": 18446744073709551615u64, "access": "Granted"},
                {"dataType": -3, "access": "Granted"},
                {"dataType": 2.5, "access": "Granted"},
                {"dataType": 4.0, "access": "Granted"},
                {"dataType": 1e300, "access": "Granted"},
                {"dataType": "99999999999999999999", "access": "Granted"},
                {"dataType": " 12 ", "access": "Granted"},
                {"dataType": "x", "access": "Granted"},
                {"dataType": {"n": 1}, "access": "Granted"},
                {"dataType": 9223372036854775807i64, "access": "Granted"},
                {"dataType": -9223372036854775808i64, "access": {"deep": {"er": []}}}
            ]
        }));
        assert_eq!(
            read.data_types,
            vec![
                DataTypeAccess {
                    data_type: -3,
                    access: AccessState::Granted
                },
                DataTypeAccess {
                    data_type: 12,
                    access: AccessState::Granted
                },
                DataTypeAccess {
                    data_type: i64::MAX,
                    access: AccessState::Granted
                },
            ]
        );
        assert_eq!(read.warnings.len(), 8, "{:?}", read.warnings);
        assert_eq!(
            read.warnings[0],
            "dataTypes[0]: `dataType` is a number, not a 64-bit integer; entry skipped"
        );
    }

    #[test]
    fn hostile_nesting_never_panics() {
        let mut deep = json!("Basic");
        for _ in 0..64 {
            deep = json!({"accessLevel": deep, "access": "Granted"});
        }
        let read = cda(json!({"userAccountAccessLevels": [deep.clone()], "created": {"a": 1}}));
        assert!(read.user_account_access_levels.is_empty());
        assert_eq!(read.warnings.len(), 2, "{:?}", read.warnings);
        let read = conn(json!({"currentDataAccess": deep, "appConnectionId": [1]}));
        assert!(read.current_data_access.is_some());
        assert_eq!(read.app_connection_id, "");
    }

    #[test]
    fn duplicate_keys_differing_by_case_first_wins() {
        // serde_json keeps members sorted by key, so the PascalCase key comes first.
        let read = cda(json!({
            "UserAccountAccessLevels": [{"Field": "Basic", "Access": "Granted"}],
            "userAccountAccessLevels": [{"accessLevel": "Limited", "access": "Denied"}]
        }));
        assert_eq!(
            read.user_account_access_levels,
            vec![level(AccessLevel::Basic, AccessState::Granted)]
        );
        assert_eq!(
            read.warnings,
            vec![
                "(top): duplicate member `userAccountAccessLevels` ignored, \
                 `UserAccountAccessLevels` used"
            ]
        );
        assert!(read.extra.is_empty());
    }

    #[test]
    fn level_aliases_agreeing_are_quiet_and_disagreeing_are_noted() {
        let read = cda(json!({"userAccountAccessLevels": [
            {"accessLevel": "Basic", "field": "Basic", "access": "Granted"},
            {"accessLevel": "Basic", "field": "Advanced", "access": "Granted"}
        ]}));
        assert_eq!(read.user_account_access_levels.len(), 2);
        assert_eq!(read.user_account_access_levels[1].level, AccessLevel::Basic);
        assert_eq!(
            read.warnings,
            vec![
                "userAccountAccessLevels[1]: duplicate member `field` ignored, `accessLevel` used"
            ]
        );
    }

    #[test]
    fn non_objects_are_shape_errors() {
        let cases = [
            (json!([]), "an array"),
            (json!("text"), "a string"),
            (Value::Null, "null"),
            (json!(3), "a number"),
            (json!(true), "a boolean"),
        ];
        for (value, found) in cases {
            assert_eq!(
                CurrentDataAccess::from_value(&value),
                Err(ShapeError(format!(
                    "expected a JSON object for CurrentDataAccess, found {found}"
                )))
            );
            assert_eq!(
                AppConnection::from_value(&value).unwrap_err().to_string(),
                format!("expected a JSON object for AppConnection, found {found}")
            );
            assert!(AppConnectionRequest::from_value(&value).is_err());
        }
    }

    #[test]
    fn empty_object_reads_as_empty() {
        let read = cda(json!({}));
        assert_eq!(read, CurrentDataAccess::default());
        assert_eq!(read.highest_granted_level(), None);
        assert_eq!(read.to_value(), json!({"userAccountAccessLevels": []}));
        let read = conn(json!({}));
        assert_eq!(read.warnings, vec!["appConnectionId: missing"]);
    }

    #[test]
    fn app_connection_right_after_first_request() {
        let read = conn(json!({
            "appConnectionId": "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
            "currentUserCanApproveRequests": true,
            "appPortalUrl": "",
            "currentDataAccess": null,
            "created": "2023-02-23T08:46:57.956Z"
        }));
        assert_eq!(
            read.app_connection_id,
            "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
        );
        assert!(read.current_user_can_approve_requests);
        assert_eq!(read.app_portal_url, "");
        assert_eq!(read.current_data_access, None);
        assert_eq!(
            read.created.as_ref().and_then(|c| c.utc),
            Some(utc(2023, 2, 23, 8, 46, 57, 956_000_000))
        );
        assert!(read.warnings.is_empty(), "{:?}", read.warnings);
        assert_eq!(
            read.to_value(),
            json!({
                "appConnectionId": "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
                "currentUserCanApproveRequests": true,
                "appPortalUrl": "",
                "created": "2023-02-23T08:46:57.956Z"
            })
        );
    }

    #[test]
    fn app_connection_pascal_case_with_nested_access_and_extras() {
        let read = conn(json!({
            "AppConnectionId": "id-1",
            "CurrentUserCanApproveRequests": false,
            "AppPortalUrl": null,
            "CurrentDataAccess": {
                "UserAccountAccessLevels": [
                    {"Field": "Basic", "Access": "Granted"},
                    {"Field": "Advanced", "Access": "Denied"},
                    {"Field": "Limited", "Access": "PendingApproval"},
                    {"Access": "Granted"}
                ],
                "Created": "2023-04-04T19:17:22"
            },
            "TenantName": "Clinic",
            "Created": "not a date"
        }));
        assert_eq!(read.app_connection_id, "id-1");
        assert_eq!(read.app_portal_url, "");
        assert!(read.warnings.is_empty(), "{:?}", read.warnings);
        let nested = read.current_data_access.as_ref().unwrap();
        assert_eq!(nested.user_account_access_levels, seed_levels());
        assert_eq!(
            nested.warnings,
            vec!["userAccountAccessLevels[3]: no level; entry skipped"]
        );
        assert_eq!(nested.created.as_ref().unwrap().zone, Zone::Unspecified);
        let created = read.created.as_ref().unwrap();
        assert_eq!((created.raw.as_str(), created.utc), ("not a date", None));
        assert_eq!(read.extra.get("TenantName"), Some(&json!("Clinic")));

        let written = read.to_value();
        assert_eq!(written["TenantName"], json!("Clinic"));
        assert_eq!(written["created"], json!("not a date"));
        assert_eq!(written["appPortalUrl"], json!(""));
        assert_eq!(
            written["currentDataAccess"],
            json!({
                "userAccountAccessLevels": [
                    {"accessLevel": "Basic", "access": "Granted"},
                    {"accessLevel": "Advanced", "access": "Denied"},
                    {"accessLevel": "Limited", "access": "PendingApproval"}
                ],
                "created": "2023-04-04T19:17:22"
            })
        );
        let again = conn(written);
        assert_eq!(
            again
                .current_data_access
                .unwrap()
                .user_account_access_levels,
            seed_levels()
        );
    }

    #[test]
    fn app_connection_mistyped_members() {
        let read = conn(json!({
            "appConnectionId": null,
            "currentUserCanApproveRequests": "yes",
            "appPortalUrl": 42,
            "currentDataAccess": ["Basic"],
            "created": false
        }));
        assert_eq!(read.app_connection_id, "");
        assert!(!read.current_user_can_approve_requests);
        assert_eq!(read.app_portal_url, "");
        assert_eq!(read.current_data_access, None);
        assert_eq!(read.created, None);
        assert_eq!(
            read.warnings,
            vec![
                "appConnectionId: expected a string, found null",
                "currentUserCanApproveRequests: expected a boolean, found a string",
                "appPortalUrl: expected a string, found a number",
                "currentDataAccess: expected a JSON object for CurrentDataAccess, \
                 found an array",
                "created: expected a string, found a boolean",
            ]
        );
    }

    #[test]
    fn extra_never_overrides_typed_members() {
        let mut access = CurrentDataAccess::default();
        access.extra.insert("Created".into(), json!("extra"));
        access.extra.insert("kept".into(), json!(1));
        access.created = Some(Timestamp::parse("2023-04-04T19:17:22Z"));
        let written = access.to_value();
        assert_eq!(written["created"], json!("2023-04-04T19:17:22Z"));
        assert_eq!(written.get("Created"), None);
        assert_eq!(written["kept"], json!(1));
        assert_eq!(written.get("warnings"), None);
    }

    #[test]
    fn request_writer() {
        let sso = AppConnectionRequest {
            user_account_access_level: AccessLevel::Basic,
            patient_fields: Vec::new(),
            data_types: Vec::new(),
        };
        assert_eq!(sso.to_value(), json!({"userAccountAccessLevel": "Basic"}));
        let noah = AppConnectionRequest {
            user_account_access_level: AccessLevel::Advanced,
            patient_fields: vec!["FirstName".into(), "LastName".into()],
            data_types: vec![1, -2, i64::MAX],
        };
        assert_eq!(
            noah.to_value(),
            json!({
                "userAccountAccessLevel": "Advanced",
                "patientFields": ["FirstName", "LastName"],
                "dataTypes": [1, -2, i64::MAX]
            })
        );
        for request in [sso, noah] {
            assert_eq!(
                AppConnectionRequest::from_value(&request.to_value()),
                Ok(request)
            );
        }
    }

    #[test]
    fn request_reader() {
        let read = AppConnectionRequest::from_value(&json!({
            "UserAccountAccessLevel": "limited",
            "PatientFields": ["EmailAddress"],
            "DataTypes": [3, "4"],
            "unknown": true
        }))
        .unwrap();
        assert_eq!(
            read,
            AppConnectionRequest {
                user_account_access_level: AccessLevel::Limited,
                patient_fields: vec!["EmailAddress".into()],
                data_types: vec![3, 4],
            }
        );
        let read = AppConnectionRequest::from_value(&json!({
            "userAccountAccessLevel": "Premium", "patientFields": null
        }))
        .unwrap();
        assert_eq!(
            read.user_account_access_level,
            AccessLevel::Unknown("Premium".into())
        );
        assert!(read.patient_fields.is_empty());

        let refused = [
            (
                json!({}),
                "AppConnectionRequest: userAccountAccessLevel missing",
            ),
            (
                json!({"userAccountAccessLevel": null}),
                "AppConnectionRequest: userAccountAccessLevel missing",
            ),
            (
                json!({"userAccountAccessLevel": 2}),
                "AppConnectionRequest: userAccountAccessLevel is a number, expected a string",
            ),
            (
                json!({"userAccountAccessLevel": "Basic", "patientFields": "FirstName"}),
                "AppConnectionRequest: patientFields is a string, expected an array",
            ),
            (
                json!({"userAccountAccessLevel": "Basic", "patientFields": ["A", 1]}),
                "AppConnectionRequest: patientFields[1] cannot be read (a number)",
            ),
            (
                json!({"userAccountAccessLevel": "Basic", "dataTypes": [1.5]}),
                "AppConnectionRequest: dataTypes[0] cannot be read (a number)",
            ),
            (
                json!({"userAccountAccessLevel": "Basic", "dataTypes": [18446744073709551615u64]}),
                "AppConnectionRequest: dataTypes[0] cannot be read (a number)",
            ),
            (
                json!({"userAccountAccessLevel": "Basic", "dataTypes": [{"n": 1}]}),
                "AppConnectionRequest: dataTypes[0] cannot be read (an object)",
            ),
        ];
        for (value, message) in refused {
            assert_eq!(
                AppConnectionRequest::from_value(&value),
                Err(ShapeError(message.to_string())),
                "{value}"
            );
        }
    }

    #[test]
    fn highest_granted_level_ignores_unknown_and_ungranted() {
        let mut access = CurrentDataAccess::default();
        assert_eq!(access.highest_granted_level(), None);
        access.user_account_access_levels = vec![
            level(AccessLevel::Unknown("Premium".into()), AccessState::Granted),
            level(AccessLevel::Advanced, AccessState::PendingApproval),
            level(AccessLevel::Limited, AccessState::Granted),
            level(AccessLevel::Basic, AccessState::Granted),
            level(
                AccessLevel::Advanced,
                AccessState::Unknown("Granted ".into()),
            ),
        ];
        assert_eq!(access.highest_granted_level(), Some(AccessLevel::Basic));
        assert_eq!(
            access.level_state(&AccessLevel::Unknown("Premium".into())),
            Some(&AccessState::Granted)
        );
    }
}
