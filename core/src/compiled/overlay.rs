//! Per-route additions to a policy: the extra claim rules and forwarded
//! headers an Express route, a FastAPI dependency or an Nginx `location`
//! asks for (e.g. "`subscribedAPIs` must contain this API").
//!
//! An overlay only adds: every rule of the policy still holds, and a rule on
//! a claim the policy already checks holds as well as the policy's. It is
//! merged into the policy's document, which is then compiled once, as any
//! document is (rules, claim names and header names are checked there);
//! the derived policy shares the original's keys (static sets and JWKS
//! caches), so a route with extra rules never fetches keys of its own.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Policy;
use crate::error::Error;
use crate::policy::{ClaimRuleDoc, ClaimRulesDoc, IssuerDoc, PolicyDoc, TokenSourceDoc};

/// Additions to every issuer of a policy.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyOverlay {
    /// More claim rules, in the policy's rule syntax.
    #[serde(default)]
    pub claims: BTreeMap<String, ClaimRuleDoc>,
    /// Alternatives in the policy's `any_of` syntax, for issuers that have
    /// none of their own (a policy's document holds one group per issuer;
    /// a route holds any number: see `Verifier::route`).
    #[serde(default)]
    pub any_of: Option<Vec<ClaimRulesDoc>>,
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

/// A free key for `name` in a map the policy already uses: the name itself,
/// or, when the policy already has an entry under it, the same claim as a
/// JSON Pointer, so both entries stay in the document and both hold.
fn doc_name<V>(existing: &BTreeMap<String, V>, name: &str, what: &str) -> Result<String, Error> {
    if !existing.contains_key(name) {
        return Ok(name.to_owned());
    }
    if !name.starts_with('/') {
        let pointer = format!("/{}", name.replace('~', "~0").replace('/', "~1"));
        if !existing.contains_key(&pointer) {
            return Ok(pointer);
        }
    }
    Err(Error::policy(format!("{what}.{name}: the policy already has two entries for this claim")))
}

impl PolicyOverlay {
    /// `doc` with this overlay added to every issuer: the one place the two
    /// documents are merged. Conflicts only a merge can have are refused
    /// here (a header the policy already forwards, a second payload
    /// header); everything else is checked when the result is compiled.
    pub fn merge_into(&self, doc: &PolicyDoc) -> Result<PolicyDoc, Error> {
        let mut merged = doc.clone();
        for entry in &mut merged.issuers {
            self.merge_issuer(entry)?;
        }
        if let Some(sources) = &self.token_sources {
            merged.token_sources = sources.clone();
        }
        Ok(merged)
    }

    fn merge_issuer(&self, entry: &mut IssuerDoc) -> Result<(), Error> {
        for (name, rule) in &self.claims {
            let key = doc_name(&entry.claims, name, "claims")?;
            entry.claims.insert(key, rule.clone());
        }
        if let Some(any_of) = &self.any_of {
            if entry.any_of.is_some() {
                return Err(Error::policy(
                    "any_of: the policy already has any_of alternatives; add these with a route instead",
                ));
            }
            entry.any_of = Some(any_of.clone());
        }
        if self.claims_to_headers.is_empty() && self.payload_header.is_none() {
            return Ok(());
        }
        let forward = entry.forward.get_or_insert_with(Default::default);
        for (claim, header) in &self.claims_to_headers {
            if forward.claims_to_headers.values().any(|h| h.eq_ignore_ascii_case(header)) {
                return Err(Error::policy(format!(
                    "claims_to_headers: the policy already forwards {header}"
                )));
            }
            let key = doc_name(&forward.claims_to_headers, claim, "claims_to_headers")?;
            forward.claims_to_headers.insert(key, header.clone());
        }
        if let Some(header) = &self.payload_header {
            match &forward.payload_header {
                Some(own) if !own.eq_ignore_ascii_case(header) => {
                    return Err(Error::policy(format!("payload_header: the policy already uses {own}")));
                }
                Some(_) => {}
                None => forward.payload_header = Some(header.clone()),
            }
        }
        Ok(())
    }
}

impl Policy {
    /// This policy with `overlay` added to every issuer: the merged
    /// document compiled once, sharing this policy's keys.
    pub fn with_overlay(&self, overlay: &PolicyOverlay) -> Result<Policy, Error> {
        Policy::compile(overlay.merge_into(self.doc())?, None, Some(self))
    }
}
