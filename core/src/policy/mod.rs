//! The documents users write: the policy ([`PolicyDoc`]) and per-route
//! additions ([`RouteDoc`]), exactly as serde reads them. Nothing here
//! depends on the rest of the crate but errors: claim rules, token sources,
//! keys and the compiled `Policy` are built from these
//! documents one layer up.

mod doc;
mod route_doc;

pub use doc::{
    BindingMode, CacheDoc, ClaimRuleDoc, DEFAULT_CACHE_ENTRIES, DEFAULT_MAX_TOKEN_BYTES, DpopDoc,
    DpopSettingsDoc, ForwardDoc, IssuerDoc, KeysDoc, MAX_LEEWAY_S, NonceDoc, NonceSettingsDoc, OnStoreError,
    PolicyDoc, ReplayStoreDoc, ResourceDoc, TokenSourceDoc,
};
pub use route_doc::{Mode, RouteDoc};

use crate::error::Error;

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
