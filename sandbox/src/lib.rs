//! An offline emulator of the HIMSA SSO App Connection API, for tests and local development.
//!
//! [`Sandbox::start`] serves the API on a loopback port from background threads until the
//! [`Sandbox`] is stopped or dropped. The `himsa-sandbox` binary does the same from the command
//! line (`himsa-sandbox --help`).
//!
//! ```no_run
//! use himsa_sandbox::{Sandbox, SandboxConfig, DEFAULT_TENANT, SANDBOX_TOKEN};
//!
//! let sandbox = Sandbox::start(SandboxConfig::default()).unwrap();
//! let url = format!("{}/{DEFAULT_TENANT}/api/AppConnection", sandbox.base_url());
//! // POST to `url` with `Authorization: Bearer sandbox-token`, `X-Api-Version: 1.0`,
//! // `Content-Type: application/json`, `X-Idempotent-ID: <uuid>` and a body such as
//! // {"userAccountAccessLevel": "Basic"}.
//! # let _ = (url, SANDBOX_TOKEN);
//! ```
//!
//! # Routes
//!
//! | route | answer |
//! |---|---|
//! | `GET {base}/{tenant}/api/AppConnection/GetCurrentDataAccess` | 200 CurrentDataAccess; 404 until the app asked in the tenant |
//! | `POST {base}/{tenant}/api/AppConnection` | 200 AppConnection (a new pending connection) |
//! | `GET {base}/{tenant}/api/AppConnection` | 200 the latest AppConnection, or 404 |
//! | `GET {base}/portal/{tenant}/{appConnectionId}` | the approval page (HTML) |
//! | `POST {base}/portal/{tenant}/{appConnectionId}` | records a decision (HTML) |
//!
//! The tenant is any hyphenated GUID; a tenant comes into being on first use. The API routes
//! need `Authorization: Bearer <token>` (401 with `WWW-Authenticate: Bearer
//! error="invalid_token"` when missing or unknown, plus `error_description="The access token
//! expired"` when expired) and `X-Api-Version: 1.0` (400 otherwise). A POST needs
//! `Content-Type: application/json` (400 when missing, 415 when another type) and
//! `X-Idempotent-ID` (400 when missing); the same id again, for the same tenant and app,
//! gets the first answer again and changes nothing. Body keys match case-insensitively.
//! Errors carry a JSON problem body (`application/problem+json`, keys `title`, `status`,
//! `detail`). Anything else is a 404 problem.
//!
//! Answers are camelCase, or PascalCase with [`SandboxConfig::pascal_case`]; in PascalCase a
//! level entry is `{"Field": "Basic", "Access": "Granted"}`, in camelCase
//! `{"accessLevel": "Basic", "access": "Granted"}`. Timestamps look like .NET's: UTC with
//! exactly seven fractional digits and `Z`. `patientFields`, `dataTypes` and the other Noah ES
//! members only appear once the app has asked for patient fields or data types.
//! `appPortalUrl` points at the sandbox's own approval page.
//!
//! # Access model
//!
//! Per tenant and app the sandbox keeps a map of level to state, patient field to state and
//! data type to state, each state `Granted`, `Denied` or `PendingApproval`. Levels are ordered
//! `Limited < Basic < Advanced`. A POST asking level L with fields F and data types T:
//!
//! - sets every asked item to `PendingApproval` unless it is `Granted` (it stays `Granted`);
//!   an asked item that was `Denied` becomes `PendingApproval` again;
//! - removes granted levels above L, and granted fields and data types not asked again, so an
//!   app that asks for less loses access, as with the real service;
//! - removes pending items not asked again (their request was replaced); denied items not
//!   asked again stay;
//! - creates a connection that replaces the previous one: only the latest connection can be
//!   decided. `currentDataAccess` in its answer is `null` for the first request of the app
//!   in the tenant and the access after the request otherwise.
//!
//! A decision only changes items of the latest connection that are `PendingApproval`.
//! Deciding a replaced connection, or one with nothing pending, fails (409 on the page).
//! `created` of a CurrentDataAccess is the time the access last changed.
//!
//! # Approval page
//!
//! `GET {base}/portal/{tenant}/{appConnectionId}` needs no token: it stands for the browser of
//! a user. It shows a form listing the asked level, patient fields and data types with their
//! states and grant/deny choices for the pending ones. Posting the same URL as
//! `application/x-www-form-urlencoded` applies a decision and answers a small HTML page
//! (200; 409 for a replaced or already decided connection; 400 for a bad form). Fields:
//!
//! | field | values | meaning |
//! |---|---|---|
//! | `decision` | `approve_all`, `deny_all`, `choose` | what to do |
//! | `level` | `grant`, `deny` | with `choose`: the asked level |
//! | `field.<Name>` | `grant`, `deny` | with `choose`: the patient field `<Name>` |
//! | `datatype.<N>` | `grant`, `deny` | with `choose`: the data type number `<N>` |
//!
//! With `choose`, items not named stay pending. [`Sandbox::portal_form_body`] writes such a
//! body; [`Sandbox::decide`] takes a decision without HTTP. [`SandboxConfig::auto_decide`]
//! takes one by itself a while after each POST (applied when the state is next read).
//!
//! # Faults
//!
//! [`Sandbox::arm`] makes the next requests of a route answer badly; see [`Fault`] and, for
//! the text form used by the binary, [`ArmedFault`]. Every request is recorded in
//! [`Sandbox::requests`].

#![warn(missing_docs)]

mod access;
mod answer;
mod api;
mod clock;
mod config;
mod faults;
mod portal;
mod request_log;
mod server;
mod wire;

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

pub use access::{AccessSnapshot, AccessState, Choice, DecideError, Decision, Level};
pub use config::{
    AutoDecide, Grant, SandboxConfig, TokenGrant, DEFAULT_APP, DEFAULT_TENANT, EXPIRED_TOKEN,
    SANDBOX_TOKEN, VIEWER_TOKEN,
};
pub use faults::{ArmedFault, Fault, Route};
pub use request_log::LoggedRequest;

use server::{Settings, Shared, State};

/// A running emulator; it stops when dropped.
#[derive(Debug)]
pub struct Sandbox {
    shared: Arc<Shared>,
    addr: SocketAddr,
    accept: Option<JoinHandle<()>>,
}

impl Sandbox {
    /// Binds `config.bind` and starts serving from background threads.
    pub fn start(config: SandboxConfig) -> io::Result<Sandbox> {
        let listener = TcpListener::bind(config.bind)?;
        let addr = listener.local_addr()?;
        let settings = Settings {
            pascal_case: config.pascal_case,
            auto_decide: config.auto_decide,
            deprecated_sunset: config.deprecated_sunset,
            base_url: format!("http://{}", reachable(addr)),
        };
        let state = State {
            tokens: config.tokens,
            faults: config.faults,
            ..State::default()
        };
        let shared = Arc::new(Shared::new(settings, state));
        let accept_shared = Arc::clone(&shared);
        let accept = thread::Builder::new()
            .name("sandbox-accept".into())
            .spawn(move || server::accept_loop(accept_shared, listener))?;
        Ok(Sandbox {
            shared,
            addr,
            accept: Some(accept),
        })
    }

    /// The base URL, such as `http://127.0.0.1:40123`, without a trailing slash.
    pub fn base_url(&self) -> String {
        self.shared.settings.base_url.clone()
    }

    /// The address the sandbox listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Adds a token, replacing one with the same text.
    pub fn add_token(&self, grant: TokenGrant) {
        let mut state = self.shared.state();
        state.tokens.retain(|t| t.token != grant.token);
        state.tokens.push(grant);
    }

    /// Marks a token expired; false when the token is unknown.
    pub fn expire_token(&self, token: &str) -> bool {
        let mut state = self.shared.state();
        let found = state.tokens.iter_mut().find(|t| t.token == token);
        found.map(|t| t.expired = true).is_some()
    }

    /// Applies `fault` to the next `times` requests of `route`. Armed faults are used in the
    /// order they were armed; a request takes at most one.
    pub fn arm(&self, route: Route, fault: Fault, times: u32) {
        if times > 0 {
            self.shared.state().faults.push(ArmedFault {
                route,
                fault,
                times,
            });
        }
    }

    /// Removes every armed fault.
    pub fn disarm_all(&self) {
        self.shared.state().faults.clear();
    }

    /// Every request answered since start or the last [`Sandbox::clear_log`], oldest first.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.shared.state().log.clone()
    }

    /// Empties the request log.
    pub fn clear_log(&self) {
        self.shared.state().log.clear();
    }

    /// How many TCP connections the sandbox has accepted since start.
    pub fn connections_opened(&self) -> usize {
        self.shared.connections_opened()
    }

    /// Acts as a user of `tenant` on the latest connection of [`DEFAULT_APP`].
    pub fn decide(&self, tenant: &str, decision: &Decision) -> Result<(), DecideError> {
        self.decide_for_app(tenant, DEFAULT_APP, decision)
    }

    /// Acts as a user of `tenant` on the latest connection of `app_id`.
    pub fn decide_for_app(
        &self,
        tenant: &str,
        app_id: &str,
        decision: &Decision,
    ) -> Result<(), DecideError> {
        let tenant = api::guid(tenant).ok_or(DecideError::NoConnection)?;
        let mut state = self.shared.state();
        let record = state
            .record_mut(&tenant, app_id)
            .ok_or(DecideError::NoConnection)?;
        record.settle(self.shared.settings.auto_decide.as_ref());
        record.decide_latest(decision)
    }

    /// The `application/x-www-form-urlencoded` body that submits `decision` when posted to
    /// an `appPortalUrl`.
    pub fn portal_form_body(&self, decision: &Decision) -> String {
        portal::form_body(decision)
    }

    /// The access of `app_id` in `tenant`, or `None` if the app never asked there.
    pub fn access(&self, tenant: &str, app_id: &str) -> Option<AccessSnapshot> {
        let tenant = api::guid(tenant)?;
        let mut state = self.shared.state();
        let record = state.record_mut(&tenant, app_id)?;
        record.settle(self.shared.settings.auto_decide.as_ref());
        Some(record.access.clone())
    }

    /// Stops serving and closes every connection; dropping the sandbox does the same.
    pub fn stop(&mut self) {
        let Some(accept) = self.accept.take() else {
            return;
        };
        self.shared.begin_stop();
        // The accept loop only notices the flag when a connection arrives; without one it
        // would block forever, so it is then left to end with the process.
        if TcpStream::connect_timeout(&reachable(self.addr), Duration::from_secs(1)).is_ok() {
            let _ = accept.join();
        }
        self.shared.close_all();
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The address a client on this machine connects to for a listening address.
fn reachable(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port())
}
