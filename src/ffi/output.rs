//! The C structs the library hands out, and their free functions.
//!
//! Each struct is the first member of a private box that also owns everything its pointers
//! point to, so one free call releases the whole tree and no pointer moves while it lives.

use std::ffi::{c_char, CString};
use std::ptr;

use crate::error::Error;
use crate::model::{
    AccessLevel, AccessState, AppConnection, AppConnectionRequest, CurrentDataAccess, Timestamp,
};
use crate::planner::{Decision, HimsaOutcome};

use super::to_c_string;

/// A user account access level. `HIMSA_LEVEL_UNKNOWN` stands for a level this version does
/// not know; its text is then in the struct's `level_text`.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HimsaLevel {
    /// A level this library version does not know.
    Unknown = 0,
    /// `Limited`.
    Limited = 1,
    /// `Basic`.
    Basic = 2,
    /// `Advanced`.
    Advanced = 3,
}

impl HimsaLevel {
    pub(crate) fn of(level: &AccessLevel) -> HimsaLevel {
        match level {
            AccessLevel::Limited => HimsaLevel::Limited,
            AccessLevel::Basic => HimsaLevel::Basic,
            AccessLevel::Advanced => HimsaLevel::Advanced,
            AccessLevel::Unknown(_) => HimsaLevel::Unknown,
        }
    }

    /// The level for a number coming from C; `None` for anything but 1, 2 or 3.
    pub(crate) fn known_from_u32(n: u32) -> Option<AccessLevel> {
        match n {
            1 => Some(AccessLevel::Limited),
            2 => Some(AccessLevel::Basic),
            3 => Some(AccessLevel::Advanced),
            _ => None,
        }
    }
}

/// The state of one item. `HIMSA_ACCESS_UNKNOWN` stands for a state this version does not
/// know; its text is then in the struct's `access_text`.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HimsaAccess {
    /// A state this library version does not know.
    Unknown = 0,
    /// `Granted`.
    Granted = 1,
    /// `Denied`.
    Denied = 2,
    /// `PendingApproval`.
    PendingApproval = 3,
}

impl HimsaAccess {
    fn of(state: &AccessState) -> HimsaAccess {
        match state {
            AccessState::Granted => HimsaAccess::Granted,
            AccessState::Denied => HimsaAccess::Denied,
            AccessState::PendingApproval => HimsaAccess::PendingApproval,
            AccessState::Unknown(_) => HimsaAccess::Unknown,
        }
    }
}

/// One level and its state.
#[repr(C)]
pub struct HimsaLevelAccess {
    /// The level.
    pub level: HimsaLevel,
    /// Its state.
    pub access: HimsaAccess,
    /// The level as the service wrote it. Owned by the enclosing struct; never NULL.
    pub level_text: *const c_char,
    /// The state as the service wrote it. Owned by the enclosing struct; never NULL.
    pub access_text: *const c_char,
}

/// One patient field and its state (Noah ES apps).
#[repr(C)]
pub struct HimsaFieldAccess {
    /// The field name, for example `FirstName`. Owned by the enclosing struct; never NULL.
    pub field: *const c_char,
    /// Its state.
    pub access: HimsaAccess,
    /// The state as the service wrote it. Owned by the enclosing struct; never NULL.
    pub access_text: *const c_char,
}

/// One data type and its state (Noah ES apps).
#[repr(C)]
pub struct HimsaDataTypeAccess {
    /// The data type number.
    pub data_type: i64,
    /// Its state.
    pub access: HimsaAccess,
    /// The state as the service wrote it. Owned by the enclosing struct; never NULL.
    pub access_text: *const c_char,
}

/// A timestamp as sent, and its instant when it could be read.
#[repr(C)]
pub struct HimsaTimestamp {
    /// The text as the service sent it, or NULL when the answer had none. Owned by the
    /// enclosing struct.
    pub text: *const c_char,
    /// Milliseconds since 1970-01-01T00:00:00Z; meaningful only when `valid` is 1.
    pub unix_ms: i64,
    /// 1 when `text` was read as a date and time (a text without zone is read as UTC),
    /// else 0.
    pub valid: u8,
}

/// The app's current data access in the tenant.
///
/// Freed with `himsa_data_access_free` when handed out directly; when it is a member of
/// another struct, that struct's free function releases it.
#[repr(C)]
pub struct HimsaDataAccess {
    /// Levels and their states; `levels_len` entries (the pointer is NULL when 0).
    pub levels: *const HimsaLevelAccess,
    /// Number of entries in `levels`.
    pub levels_len: u32,
    /// Patient fields and their states; `patient_fields_len` entries.
    pub patient_fields: *const HimsaFieldAccess,
    /// Number of entries in `patient_fields`.
    pub patient_fields_len: u32,
    /// Data types and their states; `data_types_len` entries.
    pub data_types: *const HimsaDataTypeAccess,
    /// Number of entries in `data_types`.
    pub data_types_len: u32,
    /// When the access was created.
    pub created: HimsaTimestamp,
    /// Notes on parts of the answer that could not be read (a null or mistyped value);
    /// `warnings_len` strings.
    pub warnings: *const *const c_char,
    /// Number of entries in `warnings`.
    pub warnings_len: u32,
    /// The access as JSON in camelCase, including members this version does not model.
    /// Owned by this struct; never NULL.
    pub json: *const c_char,
}

/// An app connection: the answer to a request for access.
///
/// Freed with `himsa_app_connection_free` when handed out directly; when it is a member of
/// another struct, that struct's free function releases it.
#[repr(C)]
pub struct HimsaAppConnection {
    /// `appConnectionId`; empty when absent. Owned by this struct; never NULL.
    pub app_connection_id: *const c_char,
    /// Where to send a web browser so that a user can approve; may be empty. Owned by this
    /// struct; never NULL.
    pub app_portal_url: *const c_char,
    /// 1 when the signed-in user may approve the request right away, else 0.
    pub current_user_can_approve: u8,
    /// The current access, or NULL when the service sent `null` (right after the first
    /// request). Owned by this struct.
    pub current_data_access: *const HimsaDataAccess,
    /// When the connection was created.
    pub created: HimsaTimestamp,
    /// Notes on parts of the answer that could not be read; `warnings_len` strings.
    pub warnings: *const *const c_char,
    /// Number of entries in `warnings`.
    pub warnings_len: u32,
    /// The connection as JSON in camelCase. Owned by this struct; never NULL.
    pub json: *const c_char,
}

/// The planner's answer. Freed with `himsa_decision_free`.
#[repr(C)]
pub struct HimsaDecision {
    /// What the app can do now.
    pub outcome: HimsaOutcome,
    /// 1 when this call posted a request for access, else 0.
    pub requested: u8,
    /// 1 when the signed-in user may approve the pending request right away, else 0.
    pub user_can_approve: u8,
    /// Where to send a browser for approval; empty when not pending or unknown. Owned by
    /// this struct; never NULL.
    pub portal_url: *const c_char,
    /// The access as last read, or NULL when never connected. Owned by this struct.
    pub current_data_access: *const HimsaDataAccess,
    /// The app connection read or created, or NULL. Owned by this struct.
    pub connection: *const HimsaAppConnection,
    /// The decision as JSON. Owned by this struct; never NULL.
    pub json: *const c_char,
}

/// Owns C strings for one output tree.
///
/// The strings are kept as the raw pointers `CString::into_raw` gives, never as `CString`
/// values: moving a `CString` (a `Box`) re-borrows its buffer uniquely, which invalidates
/// the pointers already handed out under Rust's aliasing rules (Miri reports it).
#[derive(Default)]
struct Strings(Vec<*mut c_char>);

impl Strings {
    fn add(&mut self, text: &str) -> *const c_char {
        self.keep(to_c_string(text))
    }

    fn keep(&mut self, text: CString) -> *const c_char {
        let ptr = text.into_raw();
        self.0.push(ptr);
        ptr
    }

    /// Adds the JSON text of `value`, printed straight from the model.
    fn add_json(&mut self, value: &impl serde::Serialize) -> *const c_char {
        // JSON text escapes every control character, so it never holds a NUL byte.
        let text = serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned());
        self.keep(CString::new(text).unwrap_or_default())
    }

    fn add_timestamp(&mut self, stamp: Option<&Timestamp>) -> HimsaTimestamp {
        match stamp {
            None => HimsaTimestamp {
                text: ptr::null(),
                unix_ms: 0,
                valid: 0,
            },
            Some(stamp) => HimsaTimestamp {
                text: self.add(&stamp.raw),
                unix_ms: stamp.utc.map(|t| t.timestamp_millis()).unwrap_or(0),
                valid: u8::from(stamp.utc.is_some()),
            },
        }
    }
}

impl Drop for Strings {
    fn drop(&mut self) {
        for ptr in self.0.drain(..) {
            // SAFETY: each pointer came from `CString::into_raw` in `add` and is freed once.
            drop(unsafe { CString::from_raw(ptr) });
        }
    }
}

/// A nested output struct owned through a raw pointer, for the same reason as
/// [`Strings`]: moving its owner must not re-borrow the struct C points into.
struct Nested<T>(*mut T);

impl<T> Nested<T> {
    fn new(owned: Box<T>) -> Nested<T> {
        Nested(Box::into_raw(owned))
    }
}

impl<T> Drop for Nested<T> {
    fn drop(&mut self) {
        // SAFETY: the pointer came from `Box::into_raw` in `new` and is freed once.
        drop(unsafe { Box::from_raw(self.0) });
    }
}

fn slice_ptr<T>(items: &[T]) -> *const T {
    if items.is_empty() {
        ptr::null()
    } else {
        items.as_ptr()
    }
}

fn len_u32(len: usize) -> Result<u32, Error> {
    u32::try_from(len).map_err(|_| Error::invalid("the answer holds too many entries"))
}

#[repr(C)]
pub(crate) struct DataAccessBox {
    c: HimsaDataAccess,
    levels: Vec<HimsaLevelAccess>,
    fields: Vec<HimsaFieldAccess>,
    types: Vec<HimsaDataTypeAccess>,
    warnings: Vec<*const c_char>,
    strings: Strings,
}

impl DataAccessBox {
    pub(crate) fn build(access: &CurrentDataAccess) -> Result<Box<DataAccessBox>, Error> {
        let mut strings = Strings::default();
        let levels: Vec<HimsaLevelAccess> = access
            .user_account_access_levels
            .iter()
            .map(|entry| HimsaLevelAccess {
                level: HimsaLevel::of(&entry.level),
                access: HimsaAccess::of(&entry.access),
                level_text: strings.add(entry.level.as_str()),
                access_text: strings.add(entry.access.as_str()),
            })
            .collect();
        let fields: Vec<HimsaFieldAccess> = access
            .patient_fields
            .iter()
            .map(|entry| HimsaFieldAccess {
                field: strings.add(&entry.field),
                access: HimsaAccess::of(&entry.access),
                access_text: strings.add(entry.access.as_str()),
            })
            .collect();
        let types: Vec<HimsaDataTypeAccess> = access
            .data_types
            .iter()
            .map(|entry| HimsaDataTypeAccess {
                data_type: entry.data_type,
                access: HimsaAccess::of(&entry.access),
                access_text: strings.add(entry.access.as_str()),
            })
            .collect();
        let warnings: Vec<*const c_char> = access.warnings.iter().map(|w| strings.add(w)).collect();
        let created = strings.add_timestamp(access.created.as_ref());
        let json = strings.add_json(access);

        // The vectors' heap buffers do not move when the vectors move into the box.
        let c = HimsaDataAccess {
            levels: slice_ptr(&levels),
            levels_len: len_u32(levels.len())?,
            patient_fields: slice_ptr(&fields),
            patient_fields_len: len_u32(fields.len())?,
            data_types: slice_ptr(&types),
            data_types_len: len_u32(types.len())?,
            created,
            warnings: slice_ptr(&warnings),
            warnings_len: len_u32(warnings.len())?,
            json,
        };
        Ok(Box::new(DataAccessBox {
            c,
            levels,
            fields,
            types,
            warnings,
            strings,
        }))
    }

    pub(crate) fn into_raw(self: Box<Self>) -> *mut HimsaDataAccess {
        Box::into_raw(self).cast()
    }
}

#[repr(C)]
pub(crate) struct AppConnectionBox {
    c: HimsaAppConnection,
    access: Option<Nested<DataAccessBox>>,
    warnings: Vec<*const c_char>,
    strings: Strings,
}

impl AppConnectionBox {
    pub(crate) fn build(connection: &AppConnection) -> Result<Box<AppConnectionBox>, Error> {
        let mut strings = Strings::default();
        let access = connection
            .current_data_access
            .as_ref()
            .map(DataAccessBox::build);
        let access = access.transpose()?.map(Nested::new);
        let warnings: Vec<*const c_char> =
            connection.warnings.iter().map(|w| strings.add(w)).collect();
        let c = HimsaAppConnection {
            app_connection_id: strings.add(&connection.app_connection_id),
            app_portal_url: strings.add(&connection.app_portal_url),
            current_user_can_approve: u8::from(connection.current_user_can_approve_requests),
            // SAFETY: the nested box is alive and owned by the struct being built.
            current_data_access: access
                .as_ref()
                .map_or(ptr::null(), |a| unsafe { ptr::addr_of!((*a.0).c) }),
            created: strings.add_timestamp(connection.created.as_ref()),
            warnings: slice_ptr(&warnings),
            warnings_len: len_u32(warnings.len())?,
            json: strings.add_json(connection),
        };
        Ok(Box::new(AppConnectionBox {
            c,
            access,
            warnings,
            strings,
        }))
    }

    pub(crate) fn into_raw(self: Box<Self>) -> *mut HimsaAppConnection {
        Box::into_raw(self).cast()
    }
}

#[repr(C)]
pub(crate) struct DecisionBox {
    c: HimsaDecision,
    access: Option<Nested<DataAccessBox>>,
    connection: Option<Nested<AppConnectionBox>>,
    strings: Strings,
}

impl DecisionBox {
    pub(crate) fn build(decision: &Decision) -> Result<Box<DecisionBox>, Error> {
        let mut strings = Strings::default();
        let access = decision
            .access
            .as_ref()
            .map(DataAccessBox::build)
            .transpose()?
            .map(Nested::new);
        let connection = decision
            .connection
            .as_ref()
            .map(AppConnectionBox::build)
            .transpose()?
            .map(Nested::new);
        let c = HimsaDecision {
            outcome: decision.outcome,
            requested: u8::from(decision.sent.is_some()),
            user_can_approve: u8::from(decision.user_can_approve()),
            portal_url: strings.add(decision.portal_url()),
            // SAFETY: the nested boxes are alive and owned by the struct being built.
            current_data_access: access
                .as_ref()
                .map_or(ptr::null(), |a| unsafe { ptr::addr_of!((*a.0).c) }),
            connection: connection
                .as_ref()
                .map_or(ptr::null(), |c| unsafe { ptr::addr_of!((*c.0).c) }),
            json: strings.add_json(&decision.to_value()),
        };
        Ok(Box::new(DecisionBox {
            c,
            access,
            connection,
            strings,
        }))
    }

    pub(crate) fn into_raw(self: Box<Self>) -> *mut HimsaDecision {
        Box::into_raw(self).cast()
    }
}

/// What to ask for, or what is needed: a level and, for Noah ES apps, patient fields and
/// data types. Owned by the caller; the library only reads it during the call.
#[repr(C)]
pub struct HimsaAccessRequest {
    /// A `HimsaLevel` value: 1 (Limited), 2 (Basic) or 3 (Advanced).
    pub level: u32,
    /// `patient_fields_len` UTF-8 strings such as `"FirstName"`; may be NULL when the
    /// length is 0.
    pub patient_fields: *const *const c_char,
    /// Number of entries in `patient_fields`.
    pub patient_fields_len: u32,
    /// `data_types_len` data type numbers; may be NULL when the length is 0.
    pub data_types: *const i64,
    /// Number of entries in `data_types`.
    pub data_types_len: u32,
}

impl HimsaAccessRequest {
    /// Reads the caller's struct into the model.
    ///
    /// # Safety
    /// The pointers of `self` are valid for their lengths, as documented on the struct.
    pub(crate) unsafe fn read(&self) -> Result<AppConnectionRequest, Error> {
        let level = HimsaLevel::known_from_u32(self.level).ok_or_else(|| {
            Error::invalid(format!(
                "level {} is not a HimsaLevel (1 Limited, 2 Basic, 3 Advanced)",
                self.level
            ))
        })?;
        let names = array(
            self.patient_fields,
            self.patient_fields_len,
            "patient_fields",
        )?;
        let mut patient_fields = Vec::with_capacity(names.len());
        for (index, name) in names.iter().enumerate() {
            let field = super::arg_str(*name, &format!("patient_fields[{index}]"))?;
            if field.trim().is_empty() {
                return Err(Error::invalid(format!("patient_fields[{index}] is empty")));
            }
            patient_fields.push(field.to_owned());
        }
        let data_types = array(self.data_types, self.data_types_len, "data_types")?.to_vec();
        Ok(AppConnectionRequest {
            user_account_access_level: level,
            patient_fields,
            data_types,
        })
    }
}

/// # Safety
/// `ptr` points to `len` readable items when `len > 0`.
unsafe fn array<'a, T>(ptr: *const T, len: u32, name: &str) -> Result<&'a [T], Error> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Error::invalid(format!(
            "{name} is NULL but its length is {len}"
        )));
    }
    Ok(std::slice::from_raw_parts(ptr, len as usize))
}

/// Frees a string the library handed out (JSON text, a sunset date).
///
/// # Safety
/// `text` is NULL (then nothing happens) or a string returned by this library that was not
/// freed yet. After the call it must not be used.
#[no_mangle]
pub unsafe extern "C" fn himsa_string_free(text: *mut c_char) {
    if !text.is_null() {
        drop(CString::from_raw(text));
    }
}

/// Frees a `HimsaDataAccess` handed out by `himsa_conn_current_access`, with everything it
/// points to.
///
/// # Safety
/// `access` is NULL (then nothing happens) or was returned by `himsa_conn_current_access`
/// and not freed yet; never a `current_data_access` member of another struct.
#[no_mangle]
pub unsafe extern "C" fn himsa_data_access_free(access: *mut HimsaDataAccess) {
    if !access.is_null() {
        drop(Box::from_raw(access.cast::<DataAccessBox>()));
    }
}

/// Frees a `HimsaAppConnection` handed out by `himsa_conn_request` or
/// `himsa_conn_app_connection`, with everything it points to.
///
/// # Safety
/// `connection` is NULL (then nothing happens) or was returned by one of those calls and
/// not freed yet; never a `connection` member of a `HimsaDecision`.
#[no_mangle]
pub unsafe extern "C" fn himsa_app_connection_free(connection: *mut HimsaAppConnection) {
    if !connection.is_null() {
        drop(Box::from_raw(connection.cast::<AppConnectionBox>()));
    }
}

/// Frees a `HimsaDecision` with everything it points to.
///
/// # Safety
/// `decision` is NULL (then nothing happens) or was returned by `himsa_conn_ensure_access`
/// or `himsa_conn_wait_for_approval` and not freed yet.
#[no_mangle]
pub unsafe extern "C" fn himsa_decision_free(decision: *mut HimsaDecision) {
    if !decision.is_null() {
        drop(Box::from_raw(decision.cast::<DecisionBox>()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DataTypeAccess, FieldAccess, LevelAccess};
    use std::ffi::CStr;

    fn text(ptr: *const c_char) -> String {
        unsafe { CStr::from_ptr(ptr) }.to_str().unwrap().to_owned()
    }

    fn sample() -> CurrentDataAccess {
        CurrentDataAccess {
            user_account_access_levels: vec![
                LevelAccess {
                    level: AccessLevel::Basic,
                    access: AccessState::Granted,
                },
                LevelAccess {
                    level: AccessLevel::Unknown("Platinum".into()),
                    access: AccessState::Unknown("Frozen".into()),
                },
            ],
            patient_fields: vec![FieldAccess {
                field: "J\u{fc}rgen\0Name".into(),
                access: AccessState::PendingApproval,
            }],
            data_types: vec![DataTypeAccess {
                data_type: -7,
                access: AccessState::Denied,
            }],
            created: Some(Timestamp::parse("2023-02-23T08:46:57.956Z")),
            warnings: vec!["dataTypes[1]: not an integer".into()],
            ..CurrentDataAccess::default()
        }
    }

    #[test]
    fn data_access_tree_reads_back() {
        let raw = DataAccessBox::build(&sample()).unwrap().into_raw();
        let access = unsafe { &*raw };
        assert_eq!(access.levels_len, 2);
        let levels = unsafe { std::slice::from_raw_parts(access.levels, 2) };
        assert_eq!(levels[0].level, HimsaLevel::Basic);
        assert_eq!(levels[0].access, HimsaAccess::Granted);
        assert_eq!(levels[1].level, HimsaLevel::Unknown);
        assert_eq!(text(levels[1].level_text), "Platinum");
        assert_eq!(text(levels[1].access_text), "Frozen");
        let field = unsafe { &*access.patient_fields };
        assert_eq!(text(field.field), "J\u{fc}rgen\u{fffd}Name");
        assert_eq!(field.access, HimsaAccess::PendingApproval);
        let data_type = unsafe { &*access.data_types };
        assert_eq!(
            (data_type.data_type, data_type.access),
            (-7, HimsaAccess::Denied)
        );
        assert_eq!(access.created.valid, 1);
        assert_eq!(access.created.unix_ms, 1_677_142_017_956);
        assert_eq!(access.warnings_len, 1);
        assert!(text(unsafe { *access.warnings }).contains("dataTypes"));
        assert!(text(access.json).contains("\"Platinum\""));
        unsafe { himsa_data_access_free(raw) };
    }

    #[test]
    fn empty_lists_are_null_and_free_accepts_null() {
        let raw = DataAccessBox::build(&CurrentDataAccess::default())
            .unwrap()
            .into_raw();
        let access = unsafe { &*raw };
        assert!(access.levels.is_null() && access.levels_len == 0);
        assert!(access.created.text.is_null());
        unsafe {
            himsa_data_access_free(raw);
            himsa_data_access_free(ptr::null_mut());
            himsa_app_connection_free(ptr::null_mut());
            himsa_decision_free(ptr::null_mut());
            himsa_string_free(ptr::null_mut());
        }
    }

    #[test]
    fn app_connection_owns_its_access() {
        let connection = AppConnection {
            app_connection_id: "id-1".into(),
            app_portal_url: "https://portal.example/approve".into(),
            current_user_can_approve_requests: true,
            current_data_access: Some(sample()),
            ..AppConnection::default()
        };
        let raw = AppConnectionBox::build(&connection).unwrap().into_raw();
        let c = unsafe { &*raw };
        assert_eq!(text(c.app_connection_id), "id-1");
        assert_eq!(c.current_user_can_approve, 1);
        assert_eq!(unsafe { &*c.current_data_access }.levels_len, 2);
        unsafe { himsa_app_connection_free(raw) };
    }

    #[test]
    fn request_struct_is_checked() {
        let first = c"FirstName";
        let names = [first.as_ptr()];
        let types = [3i64, 9];
        let mut request = HimsaAccessRequest {
            level: 2,
            patient_fields: names.as_ptr(),
            patient_fields_len: 1,
            data_types: types.as_ptr(),
            data_types_len: 2,
        };
        let read = unsafe { request.read() }.unwrap();
        assert_eq!(read.user_account_access_level, AccessLevel::Basic);
        assert_eq!(read.patient_fields, vec!["FirstName".to_owned()]);
        assert_eq!(read.data_types, vec![3, 9]);

        request.level = 4;
        assert!(unsafe { request.read() }
            .unwrap_err()
            .message()
            .contains("level 4"));
        request.level = 1;
        request.data_types = ptr::null();
        assert!(unsafe { request.read() }
            .unwrap_err()
            .message()
            .contains("data_types is NULL"));
        let null_name = [ptr::null::<c_char>()];
        request.data_types_len = 0;
        request.patient_fields = null_name.as_ptr();
        let err = unsafe { request.read() }.unwrap_err();
        assert_eq!(err.message(), "patient_fields[0] is NULL");
    }
}
