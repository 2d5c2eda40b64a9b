//! The blocking client: one per tenant and token, safe to share between threads.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError, RwLock};
use std::time::Instant;

use serde_json::Value;
use zeroize::Zeroizing;

use crate::cancel::{deadline_after, CallScope, Canceller};
use crate::config::{validate_token, Config, HimsaLogLevel};
use crate::error::{Error, HimsaStatus};
use crate::http::{Deprecation, Http, Method, Outgoing, Reply};
use crate::model::{AccessLevel, AppConnection, AppConnectionRequest, CurrentDataAccess};

const ROUTE_CURRENT_ACCESS: &str = "AppConnection/GetCurrentDataAccess";
const ROUTE_APP_CONNECTION: &str = "AppConnection";

/// A typed answer with what came with it.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer<T> {
    /// The answer, read into the model.
    pub value: T,
    /// The body exactly as received (UTF-8 JSON text).
    pub raw: String,
    /// The HTTP status of the answer.
    pub http_status: u16,
}

/// A client of the App Connection API for one tenant.
///
/// Every method blocks until it has an answer, a failure, or its deadline. One client may be
/// used from many threads at once; calls share one connection pool.
pub struct Client {
    pub(crate) config: Config,
    http: Http,
    token: RwLock<Zeroizing<String>>,
    canceller: Canceller,
    deprecation: Mutex<Option<Deprecation>>,
    deprecation_logged: AtomicBool,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Checks the configuration and builds the client. Nothing is sent yet.
    ///
    /// Fails with [`HimsaStatus::InvalidArgument`] for a base URL that is not `https://`
    /// (plain `http://` is allowed for loopback hosts only), a tenant id that is not a GUID,
    /// an empty token, or an unusable proxy or CA certificate.
    pub fn new(mut config: Config) -> Result<Client, Error> {
        let (base, tenant) = config.validate()?;
        let http = Http::new(&config, base, &tenant)?;
        // The token moves out of the configuration so that exactly one copy lives on.
        let token = std::mem::replace(&mut config.access_token, Zeroizing::new(String::new()));
        let token = RwLock::new(token);
        Ok(Client {
            config,
            http,
            token,
            canceller: Canceller::default(),
            deprecation: Mutex::new(None),
            deprecation_logged: AtomicBool::new(false),
        })
    }

    /// The configuration the client was built with (its token is not kept there).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Replaces the access token for every later request (tokens expire; the host refreshes
    /// them). The old token's memory is zeroed. Calls already sending keep the old token.
    pub fn set_access_token(&self, token: &str) -> Result<(), Error> {
        validate_token(token)?;
        let mut slot = self.token.write().unwrap_or_else(PoisonError::into_inner);
        *slot = Zeroizing::new(token.to_owned());
        Ok(())
    }

    /// Cancels every call in progress on this client, from any thread. The cancelled calls
    /// end with [`HimsaStatus::Cancelled`]; later calls are not affected.
    ///
    /// Limitation: a request already on the wire is not interrupted; its call ends when that
    /// attempt returns (bounded by the request timeout). Waits between attempts and between
    /// polls end at once.
    pub fn cancel(&self) {
        self.canceller.cancel();
    }

    /// The deprecation notice of the latest answer that carried one.
    pub fn deprecation(&self) -> Option<Deprecation> {
        self.deprecation
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Reads the app's current data access. `Ok(None)` means the app was never connected in
    /// this tenant (the service answered 404), a normal state.
    pub fn current_data_access(&self) -> Result<Option<Answer<CurrentDataAccess>>, Error> {
        self.current_data_access_in(self.scope())
    }

    /// Asks for access. The body is sent as given; prefer [`Client::ensure_access`], which
    /// never asks for less than is already granted.
    ///
    /// The request carries a fresh `X-Idempotent-ID`, reused by every retry of it.
    pub fn request_access(
        &self,
        request: &AppConnectionRequest,
    ) -> Result<Answer<AppConnection>, Error> {
        self.request_access_in(request, self.scope())
    }

    /// Reads the app connection, with its portal URL. Fails with
    /// [`HimsaStatus::NotFound`] when the app never asked in this tenant.
    pub fn app_connection(&self) -> Result<Answer<AppConnection>, Error> {
        self.app_connection_in(self.scope())
    }

    /// A scope for one call, ending at the overall timeout.
    pub(crate) fn scope(&self) -> CallScope<'_> {
        self.canceller
            .scope(deadline_after(self.config.overall_timeout))
    }

    /// A scope for a long call (the wait for approval) ending at `deadline`.
    pub(crate) fn scope_until(&self, deadline: Instant) -> CallScope<'_> {
        self.canceller.scope(deadline)
    }

    pub(crate) fn log(&self, level: HimsaLogLevel, message: &str) {
        self.http.log(level, message);
    }

    pub(crate) fn current_data_access_in(
        &self,
        scope: CallScope<'_>,
    ) -> Result<Option<Answer<CurrentDataAccess>>, Error> {
        let request = Outgoing {
            method: Method::Get,
            route: ROUTE_CURRENT_ACCESS,
            body: None,
            idempotency_id: None,
        };
        let reply = self.exchange(&request, scope)?;
        if reply.status == 404 {
            return Ok(None);
        }
        let (value, raw) = parse(&reply, ROUTE_CURRENT_ACCESS, CurrentDataAccess::from_value)?;
        Ok(Some(Answer {
            value,
            raw,
            http_status: reply.status,
        }))
    }

    pub(crate) fn request_access_in(
        &self,
        request: &AppConnectionRequest,
        scope: CallScope<'_>,
    ) -> Result<Answer<AppConnection>, Error> {
        if let AccessLevel::Unknown(text) = &request.user_account_access_level {
            return Err(Error::invalid(format!(
                "access level {text:?} is not one of Limited, Basic, Advanced"
            )));
        }
        let body = serde_json::to_vec(&request.to_value())
            .map_err(|e| Error::new(HimsaStatus::Internal, format!("request not encoded: {e}")))?;
        let idempotency_id = uuid::Uuid::new_v4().to_string();
        let outgoing = Outgoing {
            method: Method::Post,
            route: ROUTE_APP_CONNECTION,
            body: Some(&body),
            idempotency_id: Some(&idempotency_id),
        };
        self.log(
            HimsaLogLevel::Info,
            &format!(
                "asking for {} access (request {idempotency_id})",
                request.user_account_access_level
            ),
        );
        let reply = self.exchange(&outgoing, scope)?;
        if reply.status == 404 {
            return Err(not_found(ROUTE_APP_CONNECTION, Method::Post));
        }
        let (value, raw) = parse(&reply, ROUTE_APP_CONNECTION, AppConnection::from_value)?;
        Ok(Answer {
            value,
            raw,
            http_status: reply.status,
        })
    }

    pub(crate) fn app_connection_in(
        &self,
        scope: CallScope<'_>,
    ) -> Result<Answer<AppConnection>, Error> {
        let request = Outgoing {
            method: Method::Get,
            route: ROUTE_APP_CONNECTION,
            body: None,
            idempotency_id: None,
        };
        let reply = self.exchange(&request, scope)?;
        if reply.status == 404 {
            return Err(not_found(ROUTE_APP_CONNECTION, Method::Get));
        }
        let (value, raw) = parse(&reply, ROUTE_APP_CONNECTION, AppConnection::from_value)?;
        Ok(Answer {
            value,
            raw,
            http_status: reply.status,
        })
    }

    /// Sends with the current token and notes a deprecation notice.
    fn exchange(&self, request: &Outgoing<'_>, scope: CallScope<'_>) -> Result<Reply, Error> {
        // The token is copied out so that a concurrent replacement never waits for the
        // network, and the copy is zeroed when dropped.
        let token = self
            .token
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let reply = self.http.send(request, &token, scope)?;
        if let Some(notice) = &reply.deprecation {
            *self
                .deprecation
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(notice.clone());
            if !self.deprecation_logged.swap(true, Ordering::Relaxed) {
                self.log(
                    HimsaLogLevel::Warn,
                    &format!(
                        "the service will retire this API version (sunset {}); update the \
                         library",
                        notice.sunset_date.as_deref().unwrap_or("not given")
                    ),
                );
            }
        }
        Ok(reply)
    }
}

fn not_found(route: &str, method: Method) -> Error {
    let verb = if method == Method::Post {
        "POST"
    } else {
        "GET"
    };
    Error::new(
        HimsaStatus::NotFound,
        format!("{verb} {route}: the service found no app connection for this app (HTTP 404)"),
    )
    .with_http_status(404)
}

/// Reads a reply body as JSON text and then into the model.
fn parse<T>(
    reply: &Reply,
    route: &str,
    read: impl Fn(&Value) -> Result<T, crate::model::ShapeError>,
) -> Result<(T, String), Error> {
    let unreadable = |why: String| {
        Error::new(HimsaStatus::UnreadableAnswer, format!("{route}: {why}"))
            .with_http_status(reply.status)
    };
    let text = std::str::from_utf8(&reply.body)
        .map_err(|_| unreadable("the answer is not UTF-8 text".to_owned()))?;
    if text.trim().is_empty() {
        return Err(unreadable(format!(
            "the answer to HTTP {} is empty",
            reply.status
        )));
    }
    let value: Value = serde_json::from_str(text).map_err(|e| {
        if text.trim_start().starts_with('<') {
            unreadable("the answer is an HTML page, not JSON (a proxy or gateway?)".to_owned())
        } else {
            unreadable(format!("the answer is not valid JSON ({e})"))
        }
    })?;
    let typed = read(&value).map_err(|e| unreadable(e.to_string()))?;
    Ok((typed, text.to_owned()))
}
