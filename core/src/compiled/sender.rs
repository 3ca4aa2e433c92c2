//! The compiled settings of sender-constrained tokens (DPoP, mTLS), the
//! protected resource (RFC 9728) and the replay store.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;
use serde_json::{Value, json};

use super::Issuer;
use crate::alg::{Algorithm, AlgorithmSet, KeyType};
use crate::dpop::{DpopConfig, MIN_NONCE_SECRET_BYTES, NonceKey, default_algorithms, origin_of};
use crate::error::Error;
use crate::forward::is_header_name;
use crate::mtls::Cidr;
use crate::policy::{BindingMode, DpopDoc, NonceDoc, OnStoreError, PolicyDoc, ResourceDoc};
use crate::replay::{MemoryStore, RedisStore, ReplayStore};
use crate::sources::TokenSource;

/// Where RFC 9728 section 3.1 puts the metadata of a resource.
pub(crate) const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// The protected resource.
#[derive(Debug, Clone)]
pub(crate) struct ResourceConfig {
    /// The resource identifier as configured.
    pub uri: String,
    /// Its origin, normalised (`https://api.example.com`).
    pub origin: String,
    /// The metadata path (`/.well-known/oauth-protected-resource/orders`).
    pub metadata_path: String,
    /// The metadata URL for `resource_metadata` attributes.
    pub metadata_url: String,
    doc: ResourceDoc,
}

impl ResourceConfig {
    pub(crate) fn compile(doc: &ResourceDoc) -> Result<ResourceConfig, Error> {
        let bad = |m: &str| Error::policy(format!("resource.uri: {m}"));
        let url = url::Url::parse(&doc.uri).map_err(|e| bad(&format!("{:?} is not a URL: {e}", doc.uri)))?;
        if url.scheme() != "https" {
            return Err(bad("must be an https URL (RFC 9728 section 2)"));
        }
        if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
            return Err(bad("must have no query, fragment or userinfo"));
        }
        let origin = origin_of(&doc.uri).ok_or_else(|| bad("has no host"))?;
        let path = url.path();
        let metadata_path = if path == "/" { WELL_KNOWN.to_owned() } else { format!("{WELL_KNOWN}{path}") };
        for scope in &doc.scopes_supported {
            if scope.is_empty() || scope.contains(' ') {
                return Err(Error::policy(format!("resource.scopes_supported: {scope:?} is not one scope")));
            }
        }
        Ok(ResourceConfig {
            uri: doc.uri.clone(),
            metadata_url: format!("{origin}{metadata_path}"),
            origin,
            metadata_path,
            doc: doc.clone(),
        })
    }
}

/// The policy-wide part: resource, proxies, certificate header, store.
pub(crate) struct SenderConfig {
    pub resource: Option<ResourceConfig>,
    /// The RFC 9728 document, built at load.
    pub metadata: Option<Value>,
    /// The metadata document as JSON text, the response body.
    pub metadata_body: Option<String>,
    pub metadata_max_age: u64,
    pub trusted_proxies: Vec<Cidr>,
    pub cert_header: String,
    /// Whether the certificate header means anything here (trusted proxies
    /// or an issuer with `mtls_binding`): then it is removed upstream.
    pub uses_cert_header: bool,
    /// Whether any issuer accepts DPoP.
    pub any_dpop: bool,
    /// The `algs` of the `DPoP` challenge: every issuer's proof algorithms.
    pub dpop_algs: String,
    store: RwLock<Arc<dyn ReplayStore>>,
    /// Whether the store is the policy's in-process one (no
    /// `replay_store.redis`), which other processes do not see.
    pub in_process_store: bool,
    pub on_error: OnStoreError,
    pub key_prefix: String,
}

impl std::fmt::Debug for SenderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SenderConfig")
            .field("resource", &self.resource)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("any_dpop", &self.any_dpop)
            .finish()
    }
}

impl SenderConfig {
    pub(crate) fn compile(
        doc: &PolicyDoc,
        resource: Option<ResourceConfig>,
        issuers: &[Issuer],
        sources: &[TokenSource],
    ) -> Result<SenderConfig, Error> {
        let trusted_proxies =
            doc.trusted_proxies.iter().map(|t| Cidr::parse(t)).collect::<Result<Vec<_>, _>>()?;
        if !is_header_name(&doc.client_cert_header) {
            return Err(Error::policy(format!(
                "client_cert_header: {:?} is not a header name",
                doc.client_cert_header
            )));
        }
        let store_doc = &doc.replay_store;
        let store: Arc<dyn ReplayStore> = match &store_doc.redis {
            Some(url) => Arc::new(
                RedisStore::new(url, Duration::from_millis(store_doc.timeout_ms.max(1)))
                    .map_err(|e| Error::policy(format!("replay_store.redis: {e}")))?,
            ),
            None => {
                if store_doc.max_entries == 0 {
                    return Err(Error::policy("replay_store.max_entries: must be positive"));
                }
                Arc::new(MemoryStore::new(store_doc.max_entries))
            }
        };
        let dpop_issuers: Vec<&DpopConfig> = issuers.iter().filter_map(|i| i.dpop.as_deref()).collect();
        let algs: AlgorithmSet = dpop_issuers.iter().flat_map(|d| d.algorithms.iter()).collect();
        let metadata = resource.as_ref().map(|r| metadata_document(r, issuers, sources, algs));
        Ok(SenderConfig {
            metadata_body: metadata.as_ref().map(Value::to_string),
            metadata,
            metadata_max_age: resource.as_ref().map_or(0, |r| r.doc.max_age_s),
            resource,
            trusted_proxies,
            cert_header: doc.client_cert_header.clone(),
            uses_cert_header: !doc.trusted_proxies.is_empty() || issuers.iter().any(|i| i.mtls.is_some()),
            any_dpop: !dpop_issuers.is_empty(),
            dpop_algs: algs.iter().map(Algorithm::name).collect::<Vec<_>>().join(" "),
            store: RwLock::new(store),
            in_process_store: store_doc.redis.is_none(),
            on_error: store_doc.on_error,
            key_prefix: store_doc.key_prefix.clone(),
        })
    }

    /// The replay store in use.
    pub(crate) fn store(&self) -> Arc<dyn ReplayStore> {
        Arc::clone(&self.store.read())
    }

    pub(crate) fn set_store(&self, store: Arc<dyn ReplayStore>) {
        *self.store.write() = store;
    }
}

/// RFC 9728 section 2: the protected resource metadata.
fn metadata_document(
    resource: &ResourceConfig,
    issuers: &[Issuer],
    sources: &[TokenSource],
    algs: AlgorithmSet,
) -> Value {
    let doc = &resource.doc;
    let servers: Vec<String> = match &doc.authorization_servers {
        Some(list) => list.clone(),
        None => issuers.iter().filter_map(|i| i.iss.as_deref().map(str::to_owned)).collect(),
    };
    let mut methods: Vec<&str> = Vec::new();
    for source in sources {
        let method = match source {
            TokenSource::Header { name, .. } if name.eq_ignore_ascii_case("authorization") => "header",
            TokenSource::Query(_) => "query",
            _ => continue,
        };
        if !methods.contains(&method) {
            methods.push(method);
        }
    }
    if !algs.is_empty() && !methods.contains(&"header") {
        // DPoP tokens always come in the Authorization header.
        methods.insert(0, "header");
    }
    let mut out = json!({"resource": resource.uri});
    if !servers.is_empty() {
        out["authorization_servers"] = json!(servers);
    }
    if !doc.scopes_supported.is_empty() {
        out["scopes_supported"] = json!(doc.scopes_supported);
    }
    out["bearer_methods_supported"] = json!(methods);
    if let Some(name) = &doc.resource_name {
        out["resource_name"] = json!(name);
    }
    if let Some(url) = &doc.resource_documentation {
        out["resource_documentation"] = json!(url);
    }
    if !algs.is_empty() {
        out["dpop_signing_alg_values_supported"] =
            json!(algs.iter().map(Algorithm::name).collect::<Vec<_>>());
        let all_required =
            issuers.iter().all(|i| i.dpop.as_ref().is_some_and(|d| d.mode == BindingMode::Required));
        out["dpop_bound_access_tokens_required"] = json!(all_required);
    }
    out["tls_client_certificate_bound_access_tokens"] = json!(issuers.iter().any(|i| i.mtls.is_some()));
    out
}

/// An issuer's DPoP settings, compiled.
pub(crate) fn compile_dpop(
    doc: Option<&DpopDoc>,
    resource: Option<&ResourceConfig>,
) -> Result<Option<DpopConfig>, Error> {
    let Some(doc) = doc else { return Ok(None) };
    let bad = |m: String| Error::policy(format!("dpop.{m}"));
    let (mode, window, nonce, origin, algorithms) = match doc {
        DpopDoc::Mode(mode) => (*mode, 60, None, None, None),
        DpopDoc::Settings(s) => {
            (s.mode, s.iat_window_s, s.nonce.as_ref(), s.origin.as_deref(), s.algorithms.as_ref())
        }
    };
    if window == 0 || window > 3600 {
        return Err(bad("iat_window_s: from 1 to 3600".into()));
    }
    let origin = match (origin, resource) {
        (Some(o), _) => {
            let normal =
                origin_of(o).ok_or_else(|| bad(format!("origin: {o:?} is not an http(s) origin")))?;
            if url::Url::parse(o).is_ok_and(|u| u.path() != "/" || u.query().is_some()) {
                return Err(bad(format!("origin: {o:?} must be scheme, host and port only")));
            }
            normal
        }
        (None, Some(r)) => r.origin.clone(),
        (None, None) => {
            return Err(bad("origin: needed when the policy has no resource.uri (the htu check needs the \
                            external scheme and host)"
                .into()));
        }
    };
    let algorithms = match algorithms {
        None => default_algorithms(),
        Some(names) => {
            let mut set = AlgorithmSet::default();
            for name in names {
                let alg = Algorithm::from_name(name)
                    .filter(|a| a.key_type() != KeyType::Oct)
                    .ok_or_else(|| bad(format!("algorithms: {name:?} is not an asymmetric algorithm")))?;
                set.insert(alg);
            }
            if set.is_empty() {
                return Err(bad("algorithms: list at least one".into()));
            }
            set
        }
    };
    let nonce = match nonce {
        None | Some(NonceDoc::On(false)) => None,
        Some(NonceDoc::On(true)) => Some(NonceKey::per_process(300)?),
        Some(NonceDoc::Settings(s)) => {
            if s.window_s == 0 {
                return Err(bad("nonce.window_s: must be positive".into()));
            }
            match &s.secret {
                None => Some(NonceKey::per_process(s.window_s)?),
                Some(text) => {
                    let secret = crate::base64url::decode(text.as_bytes())
                        .ok_or_else(|| bad("nonce.secret: not base64url".into()))?;
                    if secret.len() < MIN_NONCE_SECRET_BYTES {
                        return Err(bad(format!("nonce.secret: at least {MIN_NONCE_SECRET_BYTES} bytes")));
                    }
                    Some(NonceKey::new(&secret, s.window_s))
                }
            }
        }
    };
    Ok(Some(DpopConfig::new(mode, window as f64, nonce, origin, algorithms)))
}
