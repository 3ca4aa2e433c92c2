//! Per-route additions to a policy: the extra claim rules and forwarded
//! headers an Express route, a FastAPI dependency or an Nginx `location`
//! asks for (e.g. "`subscribedAPIs` must contain this API").
//!
//! An overlay only adds: every rule of the policy still holds, and a rule on
//! a claim the policy already checks holds as well as the policy's. The
//! derived policy shares the original's keys (static sets and JWKS caches),
//! so a route with extra rules never fetches keys of its own.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Issuer, Policy};
use crate::claims::{ClaimPath, Rule};
use crate::error::Error;
use crate::forward::is_header_name;
use crate::policy::{ClaimRuleDoc, TokenSourceDoc};
use crate::sources::TokenSource;

/// Additions to every issuer of a policy.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyOverlay {
    /// More claim rules, in the policy's rule syntax.
    #[serde(default)]
    pub claims: BTreeMap<String, ClaimRuleDoc>,
    /// More claims to forward, claim name (or JSON Pointer) to header name.
    #[serde(default)]
    pub claims_to_headers: BTreeMap<String, String>,
    /// A header for the whole payload, if the policy names none.
    #[serde(default)]
    pub payload_header: Option<String>,
    /// Where this route looks for the token, replacing the policy's
    /// `token_sources` (where to look never loosens what is accepted).
    #[serde(default)]
    pub token_sources: Option<Vec<TokenSourceDoc>>,
}

impl PolicyOverlay {
    /// An overlay from JSON (`{"claims": {...}, "claims_to_headers": {...}}`);
    /// unknown fields are errors that name the field.
    pub fn from_value(value: Value) -> Result<PolicyOverlay, Error> {
        serde_path_to_error::deserialize(value).map_err(crate::policy::path_error)
    }

    /// An overlay of claim rules only (`{"claim": {rule}, ...}`).
    pub fn from_claims(rules: Value) -> Result<PolicyOverlay, Error> {
        let claims = serde_path_to_error::deserialize(rules)
            .map_err(|e| Error::policy(format!("claims.{}", crate::policy::path_error(e).message())))?;
        Ok(PolicyOverlay { claims, ..PolicyOverlay::default() })
    }
}

/// The doc name for an added rule: the claim's own name, or, when the policy
/// already has a rule under it, the same claim as a JSON Pointer, so both
/// rules stay in the document and both hold.
fn doc_name(existing: &BTreeMap<String, ClaimRuleDoc>, name: &str) -> Result<String, Error> {
    if !existing.contains_key(name) {
        return Ok(name.to_owned());
    }
    if !name.starts_with('/') {
        let pointer = format!("/{}", name.replace('~', "~0").replace('/', "~1"));
        if !existing.contains_key(&pointer) {
            return Ok(pointer);
        }
    }
    Err(Error::policy(format!("claims.{name}: the policy already has two rules for this claim")))
}

fn extend_issuer(issuer: &mut Issuer, overlay: &PolicyOverlay) -> Result<(), Error> {
    for (name, rule) in &overlay.claims {
        issuer.rules.push(Rule::compile(name, rule)?);
    }
    for (claim, header) in &overlay.claims_to_headers {
        if !is_header_name(header) {
            return Err(Error::policy(format!("claims_to_headers: {header:?} is not a header name")));
        }
        if issuer.forward.iter().any(|(_, h)| h.eq_ignore_ascii_case(header)) {
            return Err(Error::policy(format!("claims_to_headers: the policy already forwards {header}")));
        }
        let path = ClaimPath::parse(claim).map_err(|e| Error::policy(format!("claims_to_headers: {e}")))?;
        issuer.forward.push((path, header.clone()));
    }
    if let Some(header) = &overlay.payload_header {
        if !is_header_name(header) {
            return Err(Error::policy(format!("payload_header: {header:?} is not a header name")));
        }
        match &issuer.payload_header {
            Some(own) if !own.eq_ignore_ascii_case(header) => {
                return Err(Error::policy(format!("payload_header: the policy already uses {own}")));
            }
            _ => issuer.payload_header = Some(header.clone()),
        }
    }
    Ok(())
}

impl Policy {
    /// This policy with `overlay` added to every issuer, sharing its keys.
    pub fn with_overlay(&self, overlay: &PolicyOverlay) -> Result<Policy, Error> {
        let mut derived = self.clone();
        for issuer in &mut derived.issuers {
            extend_issuer(issuer, overlay)?;
        }
        for entry in &mut derived.doc.issuers {
            for (name, rule) in &overlay.claims {
                let key = doc_name(&entry.claims, name)?;
                entry.claims.insert(key, rule.clone());
            }
            if !overlay.claims_to_headers.is_empty() || overlay.payload_header.is_some() {
                let forward = entry.forward.get_or_insert_with(Default::default);
                forward.claims_to_headers.extend(overlay.claims_to_headers.clone());
                if overlay.payload_header.is_some() {
                    forward.payload_header = overlay.payload_header.clone();
                }
            }
        }
        if let Some(sources) = &overlay.token_sources {
            derived.token_sources =
                sources.iter().map(TokenSource::compile).collect::<Result<Vec<_>, _>>()?;
            if derived.token_sources.is_empty() {
                return Err(Error::policy("token_sources: list at least one source"));
            }
            derived.doc.token_sources = sources.clone();
        }
        derived.refresh_wanted();
        Ok(derived)
    }
}
