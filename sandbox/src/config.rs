//! Settings of a sandbox: where it listens, which tokens it knows, how it spells its answers,
//! automatic decisions and faults armed from the start.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use crate::faults::ArmedFault;

/// Tenant GUID printed by the binary and used by examples; any GUID-shaped tenant works.
pub const DEFAULT_TENANT: &str = "3f6b2a1c-7d4e-4c8a-9b1f-5e2d7c9a0b14";

/// App id of the default tokens.
pub const DEFAULT_APP: &str = "sandbox-app";

/// Token of a user of [`DEFAULT_APP`] who may approve requests ("Sandbox User").
pub const SANDBOX_TOKEN: &str = "sandbox-token";

/// Token of a user of [`DEFAULT_APP`] who may not approve requests ("Viewer").
pub const VIEWER_TOKEN: &str = "viewer-token";

/// A token of [`DEFAULT_APP`] that has expired.
pub const EXPIRED_TOKEN: &str = "expired-token";

/// What a bearer token stands for: the app, the signed-in user and the token's validity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenGrant {
    /// The opaque token text sent after `Bearer `.
    pub token: String,
    /// The app the token was issued to; access is tracked per tenant and app.
    pub app_id: String,
    /// Display name of the signed-in user, shown on the approval page.
    pub user_name: String,
    /// Whether the user may approve requests (`currentUserCanApproveRequests`).
    pub can_approve: bool,
    /// An expired token is answered with 401 and an `error_description`.
    pub expired: bool,
}

impl TokenGrant {
    /// A valid (not expired) token.
    pub fn new(token: &str, app_id: &str, user_name: &str, can_approve: bool) -> TokenGrant {
        TokenGrant {
            token: token.to_owned(),
            app_id: app_id.to_owned(),
            user_name: user_name.to_owned(),
            can_approve,
            expired: false,
        }
    }

    /// The three default tokens: [`SANDBOX_TOKEN`], [`VIEWER_TOKEN`] and [`EXPIRED_TOKEN`].
    pub fn defaults() -> Vec<TokenGrant> {
        vec![
            TokenGrant::new(SANDBOX_TOKEN, DEFAULT_APP, "Sandbox User", true),
            TokenGrant::new(VIEWER_TOKEN, DEFAULT_APP, "Viewer", false),
            TokenGrant {
                expired: true,
                ..TokenGrant::new(EXPIRED_TOKEN, DEFAULT_APP, "Expired User", true)
            },
        ]
    }
}

/// Which asked items an automatic decision grants; everything else asked is denied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grant {
    /// Grant every pending item.
    All,
    /// Deny every pending item.
    None,
    /// Grant only the named items: level names (`Basic`), patient field names (`FirstName`)
    /// or data type numbers as text (`3`); names match case-insensitively.
    Only(Vec<String>),
}

impl Grant {
    pub(crate) fn grants(&self, item_name: &str) -> bool {
        match self {
            Grant::All => true,
            Grant::None => false,
            Grant::Only(names) => names.iter().any(|n| n.eq_ignore_ascii_case(item_name)),
        }
    }
}

impl FromStr for Grant {
    type Err = String;

    /// Parses `all`, `none` or a comma-separated list such as `Limited,FirstName,3`.
    fn from_str(text: &str) -> Result<Grant, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("all") {
            return Ok(Grant::All);
        }
        if text.eq_ignore_ascii_case("none") {
            return Ok(Grant::None);
        }
        let names: Vec<String> = text
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .collect();
        if names.is_empty() {
            return Err("expected all, none or a comma-separated list of items".into());
        }
        Ok(Grant::Only(names))
    }
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Grant::All => f.write_str("all"),
            Grant::None => f.write_str("none"),
            Grant::Only(names) => f.write_str(&names.join(",")),
        }
    }
}

/// A decision the sandbox takes by itself, standing in for a user with a browser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AutoDecide {
    /// How long after a POST its pending items are decided.
    pub after: Duration,
    /// What is granted; the rest of what was asked is denied.
    pub grant: Grant,
}

/// Everything [`crate::Sandbox::start`] needs.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// Listening address; the default is `127.0.0.1:0` (a free loopback port).
    pub bind: SocketAddr,
    /// Known tokens; the default is [`TokenGrant::defaults`].
    pub tokens: Vec<TokenGrant>,
    /// Answer in PascalCase (`AppConnectionId`, level entries `{"Field", "Access"}`) instead
    /// of camelCase.
    pub pascal_case: bool,
    /// Decide pending connections automatically after a delay.
    pub auto_decide: Option<AutoDecide>,
    /// Announce deprecation on every answer: `Noah-Deprecated: true` and
    /// `Noah-Sunset-Date: <this text>`.
    pub deprecated_sunset: Option<String>,
    /// Faults armed at start, as if passed to [`crate::Sandbox::arm`] in order.
    pub faults: Vec<ArmedFault>,
}

impl Default for SandboxConfig {
    fn default() -> SandboxConfig {
        SandboxConfig {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            tokens: TokenGrant::defaults(),
            pascal_case: false,
            auto_decide: None,
            deprecated_sunset: None,
            faults: Vec::new(),
        }
    }
}
