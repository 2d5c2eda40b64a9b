//! The access model: what an app has asked for in a tenant, what users decided, and how a new
//! request or a decision changes it.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Instant, SystemTime};

use crate::config::Grant;

/// A user account access level; the order is `Limited < Basic < Advanced`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// The lowest level.
    Limited,
    /// The middle level.
    Basic,
    /// The highest level.
    Advanced,
}

impl Level {
    /// The three levels in ascending order.
    pub const ALL: [Level; 3] = [Level::Limited, Level::Basic, Level::Advanced];

    /// The name used on the wire (`Limited`, `Basic`, `Advanced`).
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Limited => "Limited",
            Level::Basic => "Basic",
            Level::Advanced => "Advanced",
        }
    }

    /// Parses a level name case-insensitively.
    pub fn parse(name: &str) -> Option<Level> {
        Level::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(name.trim()))
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The state of one level, patient field or data type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AccessState {
    /// A user approved it.
    Granted,
    /// A user denied it.
    Denied,
    /// Asked for and not decided yet.
    PendingApproval,
}

impl AccessState {
    /// The name used on the wire (`Granted`, `Denied`, `PendingApproval`).
    pub fn as_str(self) -> &'static str {
        match self {
            AccessState::Granted => "Granted",
            AccessState::Denied => "Denied",
            AccessState::PendingApproval => "PendingApproval",
        }
    }
}

/// One answer of a user about one item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Choice {
    /// Grant the item.
    Grant,
    /// Deny the item.
    Deny,
}

impl Choice {
    fn state(self) -> AccessState {
        match self {
            Choice::Grant => AccessState::Granted,
            Choice::Deny => AccessState::Denied,
        }
    }
}

/// What a user decides about the latest pending connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Grant everything still pending.
    ApproveAll,
    /// Deny everything still pending.
    DenyAll,
    /// Decide item by item; items not named stay pending.
    Choose {
        /// The asked level, if decided.
        level: Option<Choice>,
        /// Patient fields by name.
        fields: BTreeMap<String, Choice>,
        /// Data types by number.
        data_types: BTreeMap<i64, Choice>,
    },
}

impl Decision {
    fn choice_for(&self, item: Item<'_>) -> Option<Choice> {
        match self {
            Decision::ApproveAll => Some(Choice::Grant),
            Decision::DenyAll => Some(Choice::Deny),
            Decision::Choose {
                level,
                fields,
                data_types,
            } => match item {
                Item::Level(_) => *level,
                Item::Field(name) => fields.get(name).copied(),
                Item::DataType(n) => data_types.get(&n).copied(),
            },
        }
    }
}

/// Why a decision could not be applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecideError {
    /// The app never asked in this tenant, or the connection id is unknown.
    NoConnection,
    /// A newer request replaced this connection.
    Replaced,
    /// Nothing of this connection is pending any more.
    NothingPending,
}

impl fmt::Display for DecideError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DecideError::NoConnection => "no such app connection",
            DecideError::Replaced => "this app connection was replaced by a newer request",
            DecideError::NothingPending => "nothing of this app connection is pending",
        })
    }
}

impl std::error::Error for DecideError {}

/// A copy of the access of one app in one tenant.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccessSnapshot {
    /// State of each level present.
    pub levels: BTreeMap<Level, AccessState>,
    /// State of each patient field present.
    pub patient_fields: BTreeMap<String, AccessState>,
    /// State of each data type present.
    pub data_types: BTreeMap<i64, AccessState>,
}

/// One item that can be asked for and decided.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Item<'a> {
    Level(Level),
    Field(&'a str),
    DataType(i64),
}

impl Item<'_> {
    fn name(&self) -> String {
        match self {
            Item::Level(l) => l.as_str().to_owned(),
            Item::Field(f) => (*f).to_owned(),
            Item::DataType(n) => n.to_string(),
        }
    }
}

/// What one AppConnectionRequest asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Asked {
    pub(crate) level: Level,
    pub(crate) fields: Vec<String>,
    pub(crate) data_types: Vec<i64>,
}

impl Asked {
    pub(crate) fn items(&self) -> Vec<Item<'_>> {
        let mut items = vec![Item::Level(self.level)];
        items.extend(self.fields.iter().map(|f| Item::Field(f)));
        items.extend(self.data_types.iter().map(|n| Item::DataType(*n)));
        items
    }
}

/// One request for access, as created by a POST.
#[derive(Clone, Debug)]
pub(crate) struct Connection {
    pub(crate) id: String,
    pub(crate) created: SystemTime,
    pub(crate) created_at: Instant,
    pub(crate) asked: Asked,
    pub(crate) user_name: String,
    pub(crate) can_approve: bool,
    pub(crate) auto_decided: bool,
}

/// Everything the sandbox knows about one app in one tenant.
#[derive(Debug)]
pub(crate) struct AppRecord {
    pub(crate) access: AccessSnapshot,
    /// Set once the app asked for patient fields or data types: only then do answers carry
    /// the Noah ES extras.
    pub(crate) noah_es: bool,
    pub(crate) changed: SystemTime,
    /// Every connection in creation order; only the last one can be decided.
    pub(crate) connections: Vec<Connection>,
    /// Answers to POSTs by their `X-Idempotent-ID`.
    pub(crate) answered: BTreeMap<String, Vec<u8>>,
}

impl AppRecord {
    pub(crate) fn new() -> AppRecord {
        AppRecord {
            access: AccessSnapshot::default(),
            noah_es: false,
            changed: SystemTime::now(),
            connections: Vec::new(),
            answered: BTreeMap::new(),
        }
    }

    fn state_of(&self, item: Item<'_>) -> Option<AccessState> {
        match item {
            Item::Level(l) => self.access.levels.get(&l).copied(),
            Item::Field(f) => self.access.patient_fields.get(f).copied(),
            Item::DataType(n) => self.access.data_types.get(&n).copied(),
        }
    }

    fn set_state(&mut self, item: Item<'_>, state: AccessState) {
        match item {
            Item::Level(l) => {
                self.access.levels.insert(l, state);
            }
            Item::Field(f) => {
                self.access.patient_fields.insert(f.to_owned(), state);
            }
            Item::DataType(n) => {
                self.access.data_types.insert(n, state);
            }
        }
    }

    /// Applies a new request. Pending items not asked again belonged to the replaced request
    /// and go away; granted levels above the asked one and granted fields or data types not
    /// asked again are removed, as the real service does when an app asks for less.
    pub(crate) fn apply_request(&mut self, asked: &Asked) {
        let access = &mut self.access;
        access.levels.retain(|level, state| match state {
            AccessState::Granted => *level <= asked.level,
            AccessState::PendingApproval => *level == asked.level,
            AccessState::Denied => true,
        });
        access.patient_fields.retain(|name, state| {
            *state == AccessState::Denied || asked.fields.iter().any(|f| f == name)
        });
        access
            .data_types
            .retain(|n, state| *state == AccessState::Denied || asked.data_types.contains(n));
        for item in asked.items() {
            if self.state_of(item) != Some(AccessState::Granted) {
                self.set_state(item, AccessState::PendingApproval);
            }
        }
        if !asked.fields.is_empty() || !asked.data_types.is_empty() {
            self.noah_es = true;
        }
        self.changed = SystemTime::now();
    }

    /// Applies a decision to the pending items of connection `index`.
    fn decide_with(
        &mut self,
        index: usize,
        choose: &dyn Fn(Item<'_>) -> Option<Choice>,
    ) -> Result<(), DecideError> {
        if index + 1 != self.connections.len() {
            return Err(DecideError::Replaced);
        }
        let asked = self.connections[index].asked.clone();
        let pending: Vec<Item<'_>> = asked
            .items()
            .into_iter()
            .filter(|i| self.state_of(*i) == Some(AccessState::PendingApproval))
            .collect();
        if pending.is_empty() {
            return Err(DecideError::NothingPending);
        }
        for item in pending {
            if let Some(choice) = choose(item) {
                self.set_state(item, choice.state());
            }
        }
        self.changed = SystemTime::now();
        Ok(())
    }

    /// Applies a user's decision to the connection with this id.
    pub(crate) fn decide(
        &mut self,
        connection_id: &str,
        decision: &Decision,
    ) -> Result<(), DecideError> {
        let index = self
            .index_of(connection_id)
            .ok_or(DecideError::NoConnection)?;
        self.decide_with(index, &|item| decision.choice_for(item))
    }

    /// Applies a user's decision to the latest connection.
    pub(crate) fn decide_latest(&mut self, decision: &Decision) -> Result<(), DecideError> {
        let index = self
            .connections
            .len()
            .checked_sub(1)
            .ok_or(DecideError::NoConnection)?;
        self.decide_with(index, &|item| decision.choice_for(item))
    }

    pub(crate) fn index_of(&self, connection_id: &str) -> Option<usize> {
        self.connections
            .iter()
            .position(|c| c.id.eq_ignore_ascii_case(connection_id))
    }

    /// Takes the automatic decision on the latest connection once its delay has passed.
    pub(crate) fn settle(&mut self, auto: Option<&crate::config::AutoDecide>) {
        let Some(auto) = auto else { return };
        let Some(last) = self.connections.last_mut() else {
            return;
        };
        if last.auto_decided || last.created_at.elapsed() < auto.after {
            return;
        }
        last.auto_decided = true;
        let index = self.connections.len() - 1;
        let grant: &Grant = &auto.grant;
        // A user may have decided everything before the delay ran out; that is no error.
        let _ = self.decide_with(index, &|item| {
            Some(if grant.grants(&item.name()) {
                Choice::Grant
            } else {
                Choice::Deny
            })
        });
    }
}
