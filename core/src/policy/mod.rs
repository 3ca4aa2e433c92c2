//! The documents users write: the policy ([`PolicyDoc`]) and per-route
//! additions ([`RouteDoc`]), exactly as serde reads them. Nothing here
//! depends on the rest of the crate but errors: claim rules, token sources,
//! keys and the compiled `Policy` are built from these
//! documents one layer up. Their JSON text is read strictly, the same in
//! every runtime ([`document_from_json`]).

mod doc;
mod route_doc;

pub use doc::{
    BindingMode, CacheDoc, ClaimRuleDoc, ClaimRulesDoc, DEFAULT_CACHE_ENTRIES, DEFAULT_MAX_TOKEN_BYTES,
    DpopDoc, DpopSettingsDoc, ForwardDoc, IssuerDoc, KeysDoc, MAX_LEEWAY_S, NonceDoc, NonceSettingsDoc,
    OnStoreError, PolicyDoc, ReplayStoreDoc, ResourceDoc, TokenSourceDoc,
};
pub use route_doc::{Mode, RouteDoc};

use serde_json::Value;

use crate::error::Error;

/// The value of a document's JSON text (a policy, a route, claim rules,
/// an overlay), read by the one rule every runtime shares: strict JSON,
/// where a member name given twice in any object is refused (RFC 8725
/// section 3.10: parsers disagree on which one wins) and nesting is bounded.
/// Anything else is a `policy` error that says which document (`what`).
pub fn document_from_json(text: &str, what: &str) -> Result<Value, Error> {
    crate::json::parse_strict(text).map_err(|e| Error::policy(format!("{what} is not valid JSON: {e}")))
}

/// A document that does not deserialize, as a `policy` error naming the
/// path of the offending field (`issuers[0]: unknown field "leway_s"`).
pub(crate) fn path_error(e: serde_path_to_error::Error<serde_json::Error>) -> Error {
    let path = e.path().to_string();
    if path == "." {
        Error::policy(e.into_inner().to_string())
    } else {
        Error::policy(format!("{path}: {}", e.into_inner()))
    }
}
