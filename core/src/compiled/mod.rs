//! The compiled policy ([`Policy`]): a [`PolicyDoc`] with keys parsed,
//! regexes compiled and claim names resolved once at load, so the verify
//! path only looks things up.

mod keys;
mod overlay;
mod remote;
mod sender;

use std::path::Path;
use std::sync::Arc;

pub(crate) use sender::{ResourceConfig, SenderConfig};
use serde_json::Value;

use crate::alg::{Algorithm, AlgorithmSet};
use crate::claims::{ClaimPath, RuleSet};
use crate::error::Error;
use crate::forward::is_header_name;
use crate::header::normalize_typ;
use crate::jwks::RemoteKeys;
use crate::keys::KeySet;
use crate::names::NameSet;
use crate::policy::{BindingMode, IssuerDoc, MAX_LEEWAY_S, Mode, PolicyDoc, document_from_json, path_error};
use crate::sources::TokenSource;
pub use overlay::PolicyOverlay;
pub(crate) use remote::JkuSets;

/// Claims the verifier always reads when present.
/// `cnf` carries the key a sender-constrained token is bound to (RFC 7800).
pub(crate) const REGISTERED: [&str; 6] = ["iss", "aud", "exp", "nbf", "iat", "cnf"];

/// A compiled, ready policy.
#[derive(Debug, Clone)]
pub struct Policy {
    pub(crate) issuers: Vec<Issuer>,
    pub(crate) max_token_bytes: usize,
    pub(crate) cache_entries: usize,
    pub(crate) token_sources: Vec<TokenSource>,
    /// Top-level claim names the verifier reads: the registered ones plus
    /// every name a rule, `require` or `forward` starts at.
    pub(crate) wanted: NameSet,
    /// Every header name any issuer forwards, lower case: removed from
    /// every request before verified values are set.
    pub(crate) forwarded_names: Vec<String>,
    /// What every decision removes from a request: the forwarded names and
    /// the forwarded certificate header where it counts (lower case),
    /// shared by the decisions of routes that add none of their own.
    pub(crate) removed_names: Arc<[String]>,
    /// Sender-constrained tokens, the protected resource and the replay
    /// store; shared by every policy derived from this one (overlays), so
    /// a proof accepted on one route is a replay on every other.
    pub(crate) sender: Arc<SenderConfig>,
    doc: PolicyDoc,
}

/// One compiled issuer entry.
#[derive(Debug, Clone)]
pub(crate) struct Issuer {
    pub iss: Option<Arc<str>>,
    pub audiences: Vec<String>,
    pub any_audience: bool,
    pub algorithms: AlgorithmSet,
    /// Refuse high-S ES256K signatures (`es256k_low_s`).
    pub es256k_low_s: bool,
    pub keys: IssuerKeys,
    pub jku: Option<Arc<JkuSets>>,
    pub leeway: f64,
    pub require: Vec<ClaimPath>,
    pub iat_as_nbf: bool,
    pub max_age: Option<f64>,
    /// Normalised (lower case, no `application/`) required `typ`.
    pub typ: Option<String>,
    /// `claims` and `any_of`.
    pub rules: RuleSet,
    pub forward: Vec<(ClaimPath, String)>,
    pub payload_header: Option<String>,
    /// DPoP settings; `None`: off.
    pub dpop: Option<Arc<crate::dpop::DpopConfig>>,
    /// Certificate binding; `None`: off.
    pub mtls: Option<BindingMode>,
}

/// Where an issuer's keys live.
#[derive(Debug, Clone)]
pub(crate) enum IssuerKeys {
    /// Parsed at load: PEM, inline JWKS, JWKS file, HMAC secret.
    Static(Arc<KeySet>),
    /// A JWKS cache over `jwks_uri` or `discovery`.
    Remote(Arc<RemoteKeys>),
}

impl std::fmt::Debug for RemoteKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RemoteKeys")
    }
}

impl Policy {
    /// Loads a policy from JSON text.
    pub fn from_json(text: &str) -> Result<Policy, Error> {
        Policy::from_json_in(text, None, |_| {})
    }

    /// Loads a policy file; relative key file names are read from the
    /// policy file's folder.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Policy, Error> {
        Policy::from_file_with(path, |_| {})
    }

    /// [`Policy::from_file`], with `adjust` changing the document before it
    /// is compiled: a tool that knows better than the file for one setting
    /// (`jwtgate verify` turns the verified-token cache off for a stream of
    /// distinct tokens) compiles the policy once, with its own errors.
    pub fn from_file_with(
        path: impl AsRef<Path>,
        adjust: impl FnOnce(&mut PolicyDoc),
    ) -> Result<Policy, Error> {
        let path = path.as_ref();
        let text =
            std::fs::read_to_string(path).map_err(|e| Error::policy(format!("{}: {e}", path.display())))?;
        Policy::from_json_in(&text, path.parent(), adjust)
    }

    /// Loads a policy from a JSON value.
    pub fn from_value(value: Value) -> Result<Policy, Error> {
        let doc: PolicyDoc = serde_path_to_error::deserialize(value).map_err(path_error)?;
        Policy::from_doc(doc, None)
    }

    fn from_json_in(
        text: &str,
        base: Option<&Path>,
        adjust: impl FnOnce(&mut PolicyDoc),
    ) -> Result<Policy, Error> {
        let value = document_from_json(text, "policy")?;
        let mut doc: PolicyDoc = serde_path_to_error::deserialize(value).map_err(path_error)?;
        adjust(&mut doc);
        Policy::from_doc(doc, base)
    }

    /// Compiles a policy document. `base` resolves relative file names.
    pub fn from_doc(doc: PolicyDoc, base: Option<&Path>) -> Result<Policy, Error> {
        Policy::compile(doc, base, None)
    }

    /// Compiles `doc`. With `shared`, a policy whose document `doc` extends
    /// (the same issuers, in the same order, with more rules or forwarded
    /// headers), the issuers' keys, JWKS caches, allowed `jku` sets and DPoP
    /// settings and the sender configuration (replay store, nonces) are
    /// `shared`'s own: a derived policy fetches nothing, and a DPoP proof
    /// accepted through one is a replay through the other.
    pub(crate) fn compile(
        doc: PolicyDoc,
        base: Option<&Path>,
        shared: Option<&Policy>,
    ) -> Result<Policy, Error> {
        if doc.issuers.is_empty() {
            return Err(Error::policy("issuers: list at least one issuer"));
        }
        if doc.max_token_bytes == 0 {
            return Err(Error::policy("max_token_bytes: must be positive"));
        }
        let several = doc.issuers.len() > 1;
        let resource = doc.resource.as_ref().map(ResourceConfig::compile).transpose()?;
        let mut issuers = Vec::with_capacity(doc.issuers.len());
        for (i, entry) in doc.issuers.iter().enumerate() {
            let same = shared.and_then(|p| p.issuers.get(i));
            let issuer = compile_issuer(entry, base, resource.as_ref(), same)
                .map_err(|e| Error::policy(format!("issuers[{i}].{}", e.message())))?;
            if several && issuer.iss.is_none() {
                return Err(Error::policy(format!(
                    "issuers[{i}]: with several issuers each needs \"issuer\""
                )));
            }
            if issuers.iter().any(|o: &Issuer| o.iss == issuer.iss) {
                return Err(Error::policy(format!("issuers[{i}]: issuer listed twice")));
            }
            issuers.push(issuer);
        }
        let token_sources =
            doc.token_sources.iter().map(TokenSource::compile).collect::<Result<Vec<_>, _>>()?;
        if token_sources.is_empty() {
            return Err(Error::policy("token_sources: list at least one source"));
        }

        let sender = match shared {
            Some(shared) => Arc::clone(&shared.sender),
            None => Arc::new(SenderConfig::compile(&doc, resource, &issuers, &token_sources)?),
        };
        let mut policy = Policy {
            sender,
            issuers,
            max_token_bytes: doc.max_token_bytes,
            cache_entries: doc.cache.max_entries,
            token_sources,
            wanted: NameSet::new(Vec::new()),
            forwarded_names: Vec::new(),
            removed_names: Arc::from([]),
            doc,
        };
        policy.refresh_wanted();
        Ok(policy)
    }

    /// Recomputes the top-level claim names the verifier reads.
    fn refresh_wanted(&mut self) {
        let mut wanted: Vec<String> = REGISTERED.iter().map(|s| s.to_string()).collect();
        for issuer in &self.issuers {
            let roots = issuer
                .require
                .iter()
                .chain(issuer.rules.paths())
                .chain(issuer.forward.iter().map(|(p, _)| p));
            for path in roots {
                if !wanted.iter().any(|w| w == path.root()) {
                    wanted.push(path.root().to_owned());
                }
            }
        }
        self.wanted = NameSet::new(wanted);
        let mut names = Vec::new();
        for issuer in &self.issuers {
            let forwarded = issuer.forward.iter().map(|(_, h)| h).chain(issuer.payload_header.as_ref());
            for name in forwarded {
                let lower = name.to_ascii_lowercase();
                if !names.contains(&lower) {
                    names.push(lower);
                }
            }
        }
        let mut removed = names.clone();
        if self.sender.uses_cert_header {
            let lower = self.sender.cert_header.to_ascii_lowercase();
            if !removed.contains(&lower) {
                removed.push(lower);
            }
        }
        self.removed_names = removed.into();
        self.forwarded_names = names;
    }

    /// The request mode the policy sets.
    pub fn mode(&self) -> Mode {
        self.doc.mode
    }

    /// Whether a query-string token stays in the URL passed upstream.
    pub fn keep_query_token(&self) -> bool {
        self.doc.keep_query_token
    }

    /// Whether a verification may wait on the network: an issuer with
    /// `jwks_uri`, `discovery` or `allowed_jku`. Async integrations verify
    /// off their event loop then.
    pub fn has_remote_keys(&self) -> bool {
        self.issuers.iter().any(|i| matches!(i.keys, IssuerKeys::Remote(_)) || i.jku.is_some())
    }

    /// Every header name the policy forwards, lower case.
    pub fn forwarded_names(&self) -> &[String] {
        &self.forwarded_names
    }

    /// The document the policy was compiled from.
    pub fn doc(&self) -> &PolicyDoc {
        &self.doc
    }

    /// Where gateways look for the token, in order.
    pub fn token_sources(&self) -> &[TokenSource] {
        &self.token_sources
    }

    /// Longest token accepted.
    pub fn max_token_bytes(&self) -> usize {
        self.max_token_bytes
    }

    pub(crate) fn wants(&self, name: &str) -> bool {
        self.wanted.contains(name)
    }

    /// The issuer entry for a token's `iss`.
    pub(crate) fn issuer_for(&self, iss: Option<&str>) -> Option<&Issuer> {
        match (self.issuers.as_slice(), iss) {
            ([only], _) if only.iss.is_none() => Some(only),
            (all, Some(iss)) => all.iter().find(|i| i.iss.as_deref() == Some(iss)),
            (_, None) => None,
        }
    }
}

/// Compiles one issuer entry; with `shared`, the same entry of the policy
/// this one extends, whose keys and DPoP settings are reused as they are.
fn compile_issuer(
    doc: &IssuerDoc,
    base: Option<&Path>,
    resource: Option<&ResourceConfig>,
    shared: Option<&Issuer>,
) -> Result<Issuer, Error> {
    if doc.leeway_s > MAX_LEEWAY_S {
        return Err(Error::policy(format!("leeway_s: at most {MAX_LEEWAY_S}")));
    }
    let mut algorithms = AlgorithmSet::default();
    for name in &doc.algorithms {
        let alg = Algorithm::from_name(name)
            .ok_or_else(|| Error::policy(format!("algorithms: unsupported algorithm {name:?}")))?;
        algorithms.insert(alg);
    }
    if algorithms.is_empty() {
        return Err(Error::policy("algorithms: list the allowed algorithms"));
    }
    if doc.es256k_low_s && !algorithms.contains(Algorithm::ES256K) {
        return Err(Error::policy("es256k_low_s: the issuer's algorithms do not include ES256K"));
    }
    let (keys, jku) = match shared {
        Some(shared) => (shared.keys.clone(), shared.jku.clone()),
        None => issuer_keys(doc, algorithms, base)?,
    };
    // RFC 8707: without audiences of its own, an issuer's tokens must be
    // meant for the protected resource.
    let audiences = match (&doc.audiences, resource) {
        (None, Some(resource)) if !doc.any_audience => vec![resource.uri.clone()],
        (audiences, _) => audiences.clone().unwrap_or_default(),
    };
    if doc.audiences.is_some() && audiences.is_empty() {
        return Err(Error::policy(
            "audiences: an empty list accepts nothing; leave it out, with any_audience to accept any aud",
        ));
    }
    if doc.any_audience && doc.audiences.is_some() {
        return Err(Error::policy("any_audience: not allowed together with audiences"));
    }
    let require = doc
        .require
        .iter()
        .map(|n| ClaimPath::parse(n).map_err(|e| Error::policy(format!("require: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let rules = RuleSet::compile(&doc.claims, doc.any_of.as_deref())?;
    let (forward, payload_header) = match &doc.forward {
        None => (Vec::new(), None),
        Some(f) => {
            let mut forward = Vec::with_capacity(f.claims_to_headers.len());
            for (claim, header) in &f.claims_to_headers {
                if !is_header_name(header) {
                    return Err(Error::policy(format!(
                        "forward.claims_to_headers: {header:?} is not a header name"
                    )));
                }
                let path = ClaimPath::parse(claim).map_err(|e| Error::policy(format!("forward: {e}")))?;
                forward.push((path, header.clone()));
            }
            if let Some(h) = &f.payload_header
                && !is_header_name(h)
            {
                return Err(Error::policy(format!("forward.payload_header: {h:?} is not a header name")));
            }
            (forward, f.payload_header.clone())
        }
    };
    Ok(Issuer {
        iss: doc.issuer.as_deref().map(Arc::from),
        audiences,
        any_audience: doc.any_audience,
        algorithms,
        es256k_low_s: doc.es256k_low_s,
        keys,
        jku,
        leeway: doc.leeway_s as f64,
        require,
        iat_as_nbf: doc.iat_as_nbf,
        max_age: doc.max_age_s.map(|s| s as f64),
        typ: doc.typ.as_deref().map(normalize_typ),
        rules,
        forward,
        payload_header,
        dpop: match shared {
            Some(shared) => shared.dpop.clone(),
            None => sender::compile_dpop(doc.dpop.as_ref(), resource)?.map(Arc::new),
        },
        mtls: doc.mtls_binding,
    })
}

/// The keys of an issuer entry: a remote set or static keys, and the
/// allowed `jku` sets.
fn issuer_keys(
    doc: &IssuerDoc,
    algorithms: AlgorithmSet,
    base: Option<&Path>,
) -> Result<(IssuerKeys, Option<Arc<JkuSets>>), Error> {
    let remote = remote::remote_keys(&doc.keys, doc.issuer.as_deref(), algorithms, base)?;
    if remote.is_none() && doc.allowed_jku.is_empty() && remote::has_remote_settings(&doc.keys) {
        return Err(Error::policy("keys: fetch settings apply only to jwks_uri, discovery or allowed_jku"));
    }
    let keys = match remote {
        Some(remote) => {
            keys::check_single_source(&doc.keys)?;
            IssuerKeys::Remote(remote)
        }
        None => IssuerKeys::Static(Arc::new(keys::load_static_keys(&doc.keys, algorithms, base)?)),
    };
    let jku = match doc.allowed_jku.as_slice() {
        [] => None,
        prefixes => Some(Arc::new(JkuSets::new(prefixes, &doc.keys, algorithms, base)?)),
    };
    Ok((keys, jku))
}
