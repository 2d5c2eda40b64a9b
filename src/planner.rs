//! The planner: from the access an app needs and the access it has, decide whether to ask,
//! what to ask for, and what to tell the app.
//!
//! Levels are ordered `Limited < Basic < Advanced`, and a granted level covers every level
//! below it. A request replaces whatever the app had asked before, so the planner's request
//! always carries everything already granted or still pending (or in a state this library
//! does not know): the level is the highest of the wanted and held levels, and the lists are
//! their union. Denied items are only asked again when the caller forces a request. When the
//! current access cannot be carried over whole (part of it was unreadable, or an unknown
//! level is held), the planner does not post at all.

use std::time::Duration;

use serde_json::{json, Value};

use crate::cancel::deadline_after;
use crate::client::Client;
use crate::config::HimsaLogLevel;
use crate::error::{Error, HimsaStatus};
use crate::model::CurrentDataAccess;
use crate::model::{AccessLevel, AccessState, AppConnection, AppConnectionRequest};

/// What an app needs to do its work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Need {
    /// The user account access level; must be a known level.
    pub level: AccessLevel,
    /// Patient fields (Noah ES apps), matched case-insensitively.
    pub patient_fields: Vec<String>,
    /// Data types (Noah ES apps).
    pub data_types: Vec<i64>,
}

impl Need {
    /// A need for a level alone, as a HIMSA SSO app has.
    pub fn level(level: AccessLevel) -> Need {
        Need {
            level,
            patient_fields: Vec::new(),
            data_types: Vec::new(),
        }
    }
}

/// Whether the planner (`himsa_conn_ensure_access`) may post a request for access.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HimsaRequestPolicy {
    /// Only read and report; never post.
    CheckOnly = 0,
    /// Post when something needed was never asked for (the usual choice).
    IfNeeded = 1,
    /// Post even when what is needed is already pending or was denied.
    Always = 2,
}

/// What the app can do now.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HimsaOutcome {
    /// Everything needed is granted.
    Granted = 0,
    /// Something needed awaits a user's approval; see the portal URL.
    PendingApproval = 1,
    /// A user refused something needed, and nothing needed is pending.
    Denied = 2,
    /// The app was never connected in this tenant (only without a request).
    NeverConnected = 3,
    /// Connected, but something needed was never asked for (only without a request).
    NotRequested = 4,
}

impl HimsaOutcome {
    /// The outcome's name as used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            HimsaOutcome::Granted => "Granted",
            HimsaOutcome::PendingApproval => "PendingApproval",
            HimsaOutcome::Denied => "Denied",
            HimsaOutcome::NeverConnected => "NeverConnected",
            HimsaOutcome::NotRequested => "NotRequested",
        }
    }
}

/// How the current access compares with a need, before any request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// Everything needed is granted.
    Granted,
    /// Something needed was never asked for.
    Missing,
    /// Nothing is missing, something needed is pending (or in a state not known yet).
    Pending,
    /// Nothing is missing or pending, something needed was denied.
    Denied,
}

/// The planner's answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    /// What the app can do now.
    pub outcome: HimsaOutcome,
    /// The request this call posted, if it posted one.
    pub sent: Option<AppConnectionRequest>,
    /// The access as last read (from the read, or from the request's answer); `None` when
    /// never connected or when the service did not include it.
    pub access: Option<CurrentDataAccess>,
    /// The app connection (portal URL, whether this user may approve), when one was read or
    /// created. Filled for [`HimsaOutcome::PendingApproval`] whenever the service has one.
    pub connection: Option<AppConnection>,
}

impl Decision {
    /// Where to send a browser for approval; empty when unknown.
    pub fn portal_url(&self) -> &str {
        self.connection
            .as_ref()
            .map(|c| c.app_portal_url.as_str())
            .unwrap_or("")
    }

    /// Whether the signed-in user may approve the pending request right away.
    pub fn user_can_approve(&self) -> bool {
        self.connection
            .as_ref()
            .is_some_and(|c| c.current_user_can_approve_requests)
    }

    /// The decision as JSON (camelCase), the form the C ABI hands out.
    pub fn to_value(&self) -> Value {
        json!({
            "outcome": self.outcome.as_str(),
            "requested": self.sent.is_some(),
            "sentRequest": self.sent.as_ref().map(AppConnectionRequest::to_value),
            "appPortalUrl": self.portal_url(),
            "currentUserCanApproveRequests": self.user_can_approve(),
            "currentDataAccess": self.access.as_ref().map(CurrentDataAccess::to_value),
            "appConnection": self.connection.as_ref().map(AppConnection::to_value),
        })
    }
}

/// Where `access` stands against `need`.
pub fn standing(need: &Need, access: &CurrentDataAccess) -> Standing {
    let mut states = Vec::with_capacity(1 + need.patient_fields.len() + need.data_types.len());
    states.push(level_standing(&need.level, access));
    for field in &need.patient_fields {
        states.push(item_standing(access.field_state(field)));
    }
    for data_type in &need.data_types {
        states.push(item_standing(access.data_type_state(*data_type)));
    }

    if states.iter().all(|s| *s == Standing::Granted) {
        Standing::Granted
    } else if states.contains(&Standing::Missing) {
        Standing::Missing
    } else if states.contains(&Standing::Pending) {
        Standing::Pending
    } else {
        Standing::Denied
    }
}

/// A granted level covers the levels below it; a pending one at or above what is needed
/// will cover it once approved.
fn level_standing(need: &AccessLevel, access: &CurrentDataAccess) -> Standing {
    let Some(needed) = need.rank() else {
        return Standing::Missing;
    };
    let at_or_above = |state: AccessState| {
        access.user_account_access_levels.iter().any(|entry| {
            entry.access == state && entry.level.rank().is_some_and(|rank| rank >= needed)
        })
    };
    if at_or_above(AccessState::Granted) {
        return Standing::Granted;
    }
    if at_or_above(AccessState::PendingApproval) {
        return Standing::Pending;
    }
    item_standing(access.level_state(need))
}

fn item_standing(state: Option<&AccessState>) -> Standing {
    match state {
        None => Standing::Missing,
        Some(AccessState::Granted) => Standing::Granted,
        Some(AccessState::Denied) => Standing::Denied,
        // A state this library does not know is waited on, not asked again.
        Some(AccessState::PendingApproval | AccessState::Unknown(_)) => Standing::Pending,
    }
}

/// The request that asks for `need` without giving up anything granted or pending.
pub fn merged_request(need: &Need, access: Option<&CurrentDataAccess>) -> AppConnectionRequest {
    let mut level = need.level.clone();
    let mut patient_fields: Vec<String> = Vec::new();
    let mut data_types: Vec<i64> = Vec::new();
    // Everything not refused is held or may be: an unknown state counts as held.
    let keeps = |state: &AccessState| *state != AccessState::Denied;

    if let Some(access) = access {
        for entry in access
            .user_account_access_levels
            .iter()
            .filter(|e| keeps(&e.access))
        {
            if entry.level.rank() > level.rank() {
                level = entry.level.clone();
            }
        }
        for entry in access.patient_fields.iter().filter(|e| keeps(&e.access)) {
            push_field(&mut patient_fields, &entry.field);
        }
        for entry in access.data_types.iter().filter(|e| keeps(&e.access)) {
            if !data_types.contains(&entry.data_type) {
                data_types.push(entry.data_type);
            }
        }
    }
    for field in &need.patient_fields {
        push_field(&mut patient_fields, field);
    }
    for data_type in &need.data_types {
        if !data_types.contains(data_type) {
            data_types.push(*data_type);
        }
    }

    AppConnectionRequest {
        user_account_access_level: level,
        patient_fields,
        data_types,
    }
}

fn push_field(fields: &mut Vec<String>, field: &str) {
    let field = field.trim();
    if !fields.iter().any(|f| f.eq_ignore_ascii_case(field)) {
        fields.push(field.to_owned());
    }
}

/// Why a request built from `access` could drop access the service holds, if it could.
///
/// A request replaces the app's access, so it must carry everything held. It cannot when
/// part of the answer was unreadable (the model noted warnings), or when a level this
/// library does not know is held: a request names one level, and an unknown one cannot be
/// ranked against the others.
pub fn merge_hazard(access: &CurrentDataAccess) -> Option<String> {
    if let Some(warning) = access.warnings.first() {
        return Some(format!(
            "part of the current access could not be read ({warning})"
        ));
    }
    access
        .user_account_access_levels
        .iter()
        .find(|entry| !entry.level.is_known() && entry.access != AccessState::Denied)
        .map(|entry| format!("the unknown level {:?} is held", entry.level.as_str()))
}

fn still_pending(timeout: Duration) -> Error {
    Error::new(
        HimsaStatus::Timeout,
        format!(
            "access is still pending approval after {} ms",
            timeout.as_millis()
        ),
    )
}

/// Checks a need before anything is sent.
fn validate(need: &Need) -> Result<(), Error> {
    if !need.level.is_known() {
        return Err(Error::invalid(format!(
            "needed level {:?} is not one of Limited, Basic, Advanced",
            need.level.as_str()
        )));
    }
    if let Some(field) = need.patient_fields.iter().find(|f| f.trim().is_empty()) {
        return Err(Error::invalid(format!("patient field {field:?} is empty")));
    }
    Ok(())
}

impl Client {
    /// Reads the current access and decides for `need`; posts a merged request when the
    /// policy allows and something is missing (or always, with
    /// [`HimsaRequestPolicy::Always`]).
    ///
    /// A request never asks for less than is already granted or pending. When the answer
    /// is [`HimsaOutcome::PendingApproval`] the decision carries the app connection with
    /// the portal URL and whether the signed-in user may approve.
    pub fn ensure_access(
        &self,
        need: &Need,
        policy: HimsaRequestPolicy,
    ) -> Result<Decision, Error> {
        validate(need)?;
        let scope = self.scope();
        let current = self
            .current_data_access_in(scope)?
            .map(|answer| answer.value);

        let found = current.as_ref().map(|access| standing(need, access));
        let post = match (policy, found) {
            (_, Some(Standing::Granted)) | (HimsaRequestPolicy::CheckOnly, _) => false,
            (HimsaRequestPolicy::Always, _) => true,
            (HimsaRequestPolicy::IfNeeded, None | Some(Standing::Missing)) => true,
            (HimsaRequestPolicy::IfNeeded, Some(_)) => false,
        };

        if post {
            if let Some(hazard) = current.as_ref().and_then(merge_hazard) {
                return Err(Error::new(
                    HimsaStatus::UnreadableAnswer,
                    format!(
                        "not asking for access: {hazard}; a request replaces the current \
                         access and could remove what this library cannot carry over"
                    ),
                ));
            }
            let request = merged_request(need, current.as_ref());
            let answer = self.request_access_in(&request, scope)?.value;
            let access = answer.current_data_access.clone().or(current);
            let outcome = match access.as_ref().map(|a| standing(need, a)) {
                Some(Standing::Granted) => HimsaOutcome::Granted,
                _ => HimsaOutcome::PendingApproval,
            };
            self.log(
                HimsaLogLevel::Info,
                &format!("access request sent: {}", outcome.as_str()),
            );
            return Ok(Decision {
                outcome,
                sent: Some(request),
                access,
                connection: Some(answer),
            });
        }

        let outcome = match found {
            None => HimsaOutcome::NeverConnected,
            Some(Standing::Granted) => HimsaOutcome::Granted,
            Some(Standing::Missing) => HimsaOutcome::NotRequested,
            Some(Standing::Pending) => HimsaOutcome::PendingApproval,
            Some(Standing::Denied) => HimsaOutcome::Denied,
        };
        let connection = if outcome == HimsaOutcome::PendingApproval {
            self.pending_connection(scope)?
        } else {
            None
        };
        Ok(Decision {
            outcome,
            sent: None,
            access: current,
            connection,
        })
    }

    /// Polls the current access until `need` is granted, denied, or no longer asked for,
    /// waiting longer between reads each time (from the poll interval up to the longest
    /// poll interval), until `timeout` has passed or the call is cancelled.
    ///
    /// Returns [`HimsaOutcome::Granted`], [`HimsaOutcome::Denied`],
    /// [`HimsaOutcome::NotRequested`] (the pending request was replaced by one without
    /// the need) or [`HimsaOutcome::NeverConnected`]. Fails with [`HimsaStatus::Timeout`]
    /// while still pending at the deadline, and [`HimsaStatus::Cancelled`] when cancelled.
    pub fn wait_for_approval(&self, need: &Need, timeout: Duration) -> Result<Decision, Error> {
        validate(need)?;
        if timeout.is_zero() {
            return Err(Error::invalid(
                "the wait for approval needs a timeout above zero",
            ));
        }
        let deadline = deadline_after(timeout);
        let outer = self.scope_until(deadline);
        let mut interval = self.config.poll_interval;

        loop {
            let attempt = outer.narrowed(deadline_after(self.config.overall_timeout));
            let current = match self.current_data_access_in(attempt) {
                Ok(answer) => answer.map(|answer| answer.value),
                Err(e) if e.status() == HimsaStatus::Timeout && outer.remaining().is_zero() => {
                    return Err(still_pending(timeout));
                }
                Err(e) => return Err(e),
            };
            let outcome = match current.as_ref().map(|access| standing(need, access)) {
                None => Some(HimsaOutcome::NeverConnected),
                Some(Standing::Granted) => Some(HimsaOutcome::Granted),
                Some(Standing::Denied) => Some(HimsaOutcome::Denied),
                Some(Standing::Missing) => Some(HimsaOutcome::NotRequested),
                Some(Standing::Pending) => None,
            };
            if let Some(outcome) = outcome {
                return Ok(Decision {
                    outcome,
                    sent: None,
                    access: current,
                    connection: None,
                });
            }

            let left = outer.remaining();
            if left.is_zero() {
                return Err(still_pending(timeout));
            }
            outer.sleep(interval.min(left))?;
            interval = (interval * 2).min(self.config.max_poll_interval);
        }
    }

    /// The app connection behind a pending request, or `None` when the service has none.
    fn pending_connection(
        &self,
        scope: crate::cancel::CallScope<'_>,
    ) -> Result<Option<AppConnection>, Error> {
        match self.app_connection_in(scope) {
            Ok(answer) => Ok(Some(answer.value)),
            Err(e) if e.status() == HimsaStatus::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DataTypeAccess, FieldAccess, LevelAccess};

    use AccessLevel::{Advanced, Basic, Limited};
    use AccessState::{Denied, Granted, PendingApproval};

    fn access(
        levels: &[(AccessLevel, AccessState)],
        fields: &[(&str, AccessState)],
        types: &[(i64, AccessState)],
    ) -> CurrentDataAccess {
        CurrentDataAccess {
            user_account_access_levels: levels
                .iter()
                .map(|(level, access)| LevelAccess {
                    level: level.clone(),
                    access: access.clone(),
                })
                .collect(),
            patient_fields: fields
                .iter()
                .map(|(f, a)| FieldAccess {
                    field: (*f).to_owned(),
                    access: a.clone(),
                })
                .collect(),
            data_types: types
                .iter()
                .map(|(t, a)| DataTypeAccess {
                    data_type: *t,
                    access: a.clone(),
                })
                .collect(),
            ..CurrentDataAccess::default()
        }
    }

    fn need(level: AccessLevel, fields: &[&str], types: &[i64]) -> Need {
        Need {
            level,
            patient_fields: fields.iter().map(|f| (*f).to_owned()).collect(),
            data_types: types.to_vec(),
        }
    }

    #[test]
    fn standing_table() {
        // The brief's seed: Basic granted, Advanced denied, Limited pending.
        let seed = access(
            &[
                (Basic, Granted),
                (Advanced, Denied),
                (Limited, PendingApproval),
            ],
            &[],
            &[],
        );
        let unknown_state = access(&[(Basic, AccessState::Unknown("Frozen".into()))], &[], &[]);
        let noah = access(
            &[(Limited, Granted)],
            &[
                ("FirstName", Granted),
                ("LastName", PendingApproval),
                ("Email", Denied),
            ],
            &[(1, Granted), (2, Denied)],
        );
        let empty = CurrentDataAccess::default();
        let table: Vec<(&str, Need, &CurrentDataAccess, Standing)> = vec![
            (
                "granted level",
                need(Basic, &[], &[]),
                &seed,
                Standing::Granted,
            ),
            (
                "lower level covered",
                need(Limited, &[], &[]),
                &seed,
                Standing::Granted,
            ),
            (
                "denied level",
                need(Advanced, &[], &[]),
                &seed,
                Standing::Denied,
            ),
            (
                "unknown state waits",
                need(Basic, &[], &[]),
                &unknown_state,
                Standing::Pending,
            ),
            (
                "empty access",
                need(Limited, &[], &[]),
                &empty,
                Standing::Missing,
            ),
            (
                "all granted",
                need(Limited, &["firstname"], &[1]),
                &noah,
                Standing::Granted,
            ),
            (
                "field pending",
                need(Limited, &["FirstName", "LastName"], &[]),
                &noah,
                Standing::Pending,
            ),
            (
                "field denied",
                need(Limited, &["Email"], &[1]),
                &noah,
                Standing::Denied,
            ),
            (
                "pending beats denied",
                need(Limited, &["Email", "LastName"], &[]),
                &noah,
                Standing::Pending,
            ),
            (
                "field missing",
                need(Limited, &["Phone", "LastName"], &[]),
                &noah,
                Standing::Missing,
            ),
            (
                "type missing",
                need(Limited, &[], &[3]),
                &noah,
                Standing::Missing,
            ),
            (
                "type denied",
                need(Limited, &[], &[2]),
                &noah,
                Standing::Denied,
            ),
            (
                "level missing",
                need(Basic, &["FirstName"], &[]),
                &noah,
                Standing::Missing,
            ),
        ];
        for (name, need, current, expected) in table {
            assert_eq!(standing(&need, current), expected, "{name}");
        }
    }

    #[test]
    fn higher_pending_level_is_waited_on() {
        let current = access(&[(Advanced, PendingApproval)], &[], &[]);
        assert_eq!(
            standing(&need(Basic, &[], &[]), &current),
            Standing::Pending
        );
    }

    #[test]
    fn merged_request_table() {
        let noah = access(
            &[(Basic, Granted), (Limited, Granted)],
            &[
                ("FirstName", Granted),
                ("LastName", PendingApproval),
                ("Email", Denied),
            ],
            &[(1, Granted), (2, Denied), (5, PendingApproval)],
        );
        let table: Vec<(&str, Need, Option<&CurrentDataAccess>, AppConnectionRequest)> = vec![
            (
                "never connected asks exactly the need",
                need(Limited, &["FirstName"], &[3]),
                None,
                AppConnectionRequest {
                    user_account_access_level: Limited,
                    patient_fields: vec!["FirstName".into()],
                    data_types: vec![3],
                },
            ),
            (
                "never lower than granted, keeps granted and pending, drops denied",
                need(Limited, &["firstname", "Phone"], &[1, 7]),
                Some(&noah),
                AppConnectionRequest {
                    user_account_access_level: Basic,
                    patient_fields: vec!["FirstName".into(), "LastName".into(), "Phone".into()],
                    data_types: vec![1, 5, 7],
                },
            ),
            (
                "a higher need raises the level",
                need(Advanced, &[], &[]),
                Some(&noah),
                AppConnectionRequest {
                    user_account_access_level: Advanced,
                    patient_fields: vec!["FirstName".into(), "LastName".into()],
                    data_types: vec![1, 5],
                },
            ),
        ];
        for (name, need, current, expected) in table {
            assert_eq!(merged_request(&need, current), expected, "{name}");
        }
    }

    #[test]
    fn unknown_states_are_carried_over_as_held() {
        let odd = || AccessState::Unknown("PartiallyGranted".into());
        let current = access(
            &[(Advanced, odd()), (Basic, Granted)],
            &[("FirstName", odd())],
            &[],
        );
        let request = merged_request(&need(Basic, &["LastName"], &[]), Some(&current));
        assert_eq!(request.user_account_access_level, Advanced);
        assert_eq!(
            request.patient_fields,
            vec!["FirstName".to_owned(), "LastName".to_owned()]
        );
    }

    #[test]
    fn field_names_match_trimmed() {
        let current = access(&[(Basic, Granted)], &[(" FirstName ", Granted)], &[]);
        assert_eq!(
            standing(&need(Basic, &["firstname"], &[]), &current),
            Standing::Granted
        );
        let request = merged_request(&need(Basic, &["FIRSTNAME"], &[]), Some(&current));
        assert_eq!(request.patient_fields, vec!["FirstName".to_owned()]);
    }

    #[test]
    fn hazards_block_a_request() {
        let clean = access(&[(Basic, Granted)], &[], &[]);
        assert_eq!(merge_hazard(&clean), None);

        let mut unreadable = clean.clone();
        unreadable
            .warnings
            .push("userAccountAccessLevels[1]: no level".into());
        assert!(merge_hazard(&unreadable)
            .unwrap()
            .contains("could not be read"));

        let premium = AccessLevel::Unknown("Premium".into());
        let held = access(&[(premium.clone(), Granted)], &[], &[]);
        assert!(merge_hazard(&held).unwrap().contains("Premium"));
        let refused = access(&[(premium, Denied)], &[], &[]);
        assert_eq!(merge_hazard(&refused), None);
    }

    #[test]
    fn merge_ignores_unknown_levels_and_denied_higher_levels() {
        let current = access(
            &[
                (AccessLevel::Unknown("Platinum".into()), Granted),
                (Advanced, Denied),
            ],
            &[],
            &[],
        );
        let request = merged_request(&need(Limited, &[], &[]), Some(&current));
        assert_eq!(request.user_account_access_level, Limited);
    }

    #[test]
    fn unknown_needed_level_is_refused() {
        let err = validate(&need(AccessLevel::Unknown("Gold".into()), &[], &[])).unwrap_err();
        assert_eq!(err.status(), HimsaStatus::InvalidArgument);
        assert!(validate(&need(Basic, &[" "], &[])).is_err());
        assert!(validate(&need(Basic, &["FirstName"], &[1])).is_ok());
    }
}
