//! The gateway parts of the policy document: the mode a request is checked
//! in, and the requirements a route (an Express route, a FastAPI
//! dependency, an Nginx `location`) adds to the policy.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{ClaimRulesDoc, TokenSourceDoc};

/// How a request is checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// A valid token is required (the default).
    #[default]
    Required,
    /// A request without a token passes without identity; a bad token is
    /// still rejected.
    Optional,
    /// Decide, report the decision, never block: a rejection becomes an
    /// allow that carries the code it would have had and forwards no
    /// identity. For rolling out in front of live traffic.
    ReportOnly,
    /// No token check (an excluded path, an Nginx `jwtgate off` location).
    /// Forwarded header names are still removed from the request.
    Off,
}

impl Mode {
    /// The mode's name in the policy document.
    pub const fn name(self) -> &'static str {
        match self {
            Mode::Required => "required",
            Mode::Optional => "optional",
            Mode::ReportOnly => "report_only",
            Mode::Off => "off",
        }
    }

    /// The mode for a name in the policy document.
    pub fn from_name(name: &str) -> Option<Mode> {
        [Mode::Required, Mode::Optional, Mode::ReportOnly, Mode::Off].into_iter().find(|m| m.name() == name)
    }
}

/// What one route requires on top of the policy. Every field only adds:
/// the policy's rules and forwarded headers keep holding.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RouteDoc {
    /// More claim rules, in the policy's rule syntax.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub claims: ClaimRulesDoc,
    /// Alternatives, in the syntax of `claims`: at least one must hold in
    /// full; an empty list is an error. Defaults to none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any_of: Option<Vec<ClaimRulesDoc>>,
    /// OAuth scopes the token must hold, all of them, in `scope` (a
    /// space-delimited string) or `scp` (an array or a string). Defaults to none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// More claims to forward: claim name (or JSON Pointer) to header name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub claims_to_headers: BTreeMap<String, String>,
    /// A header for the whole payload (base64url), if the policy names none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_header: Option<String>,
    /// Where this route looks for the token, replacing the policy's
    /// `token_sources`. Defaults to the policy's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_sources: Option<Vec<TokenSourceDoc>>,
    /// The route's mode. Defaults to the policy's `mode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// Keep a query-string token in the URL sent upstream. Defaults to the
    /// policy's `keep_query_token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_query_token: Option<bool>,
    /// Path prefixes checked in mode `off`, segment-wise: `/health` covers
    /// `/health` and `/health/live`, not `/healthz`. Defaults to none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
}
