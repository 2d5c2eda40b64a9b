//! A client for the HIMSA SSO App Connection API, usable from Rust and, through its C ABI,
//! from C, C++ and C#.
//!
//! An app that holds a user's access token may read the current user and account; to read
//! more it needs an app connection approved by a user of the tenant. This library reads the
//! app's current data access, asks for access without ever asking for less than is already
//! granted, tells the app where to send a browser for approval, and waits for the approval.
//!
//! ```no_run
//! use himsa_conn::{AccessLevel, Client, Config, HimsaOutcome, HimsaRequestPolicy, Need};
//!
//! let config = Config::new(
//!     "https://api.eu.noah-es.com",
//!     "9f1d1b2c-3a4b-4c5d-8e6f-0a1b2c3d4e5f",
//!     "access token",
//! );
//! let client = Client::new(config)?;
//! let need = Need::level(AccessLevel::Basic);
//! let decision = client.ensure_access(&need, HimsaRequestPolicy::IfNeeded)?;
//! if decision.outcome == HimsaOutcome::PendingApproval {
//!     println!("approve at {}", decision.portal_url());
//! }
//! # Ok::<(), himsa_conn::Error>(())
//! ```

mod cancel;
mod client;
mod config;
mod error;
pub mod ffi;
mod http;
pub mod model;
mod planner;

pub use client::{Answer, Client};
pub use config::{Config, HimsaLogLevel, LogSink, ProxySetting, DEFAULT_USER_AGENT};
pub use error::{Error, HimsaStatus};
pub use http::Deprecation;
pub use model::{
    AccessLevel, AccessState, AppConnection, AppConnectionRequest, CurrentDataAccess,
    DataTypeAccess, FieldAccess, LevelAccess, Timestamp,
};
pub use planner::Standing;
pub use planner::{
    merge_hazard, merged_request, standing, Decision, HimsaOutcome, HimsaRequestPolicy, Need,
};
