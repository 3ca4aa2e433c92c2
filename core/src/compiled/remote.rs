//! Remote key sources of an issuer: `jwks_uri`, `discovery` and the `jku`
//! allow-list, turned into JWKS caches at load time.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::alg::AlgorithmSet;
use crate::error::Error;
use crate::jwks::{JkuCache, RemoteKeys, RemoteSettings, RemoteSource};
use crate::policy::KeysDoc;

pub(crate) fn settings(doc: &KeysDoc, base: Option<&Path>) -> Result<RemoteSettings, Error> {
    let s = RemoteSettings {
        allow_http: doc.allow_http.unwrap_or(false),
        min_ttl_s: doc.min_ttl_s.unwrap_or(60) as f64,
        max_ttl_s: doc.max_ttl_s.unwrap_or(86_400) as f64,
        refetch_cooldown_s: doc.refetch_cooldown_s.unwrap_or(30) as f64,
        max_stale_s: doc.max_stale_s.unwrap_or(86_400) as f64,
        initial_wait: Duration::from_millis(doc.initial_wait_ms.unwrap_or(3_000)),
        timeout: Duration::from_millis(doc.timeout_ms.unwrap_or(5_000).max(1)),
        max_bytes: doc.max_bytes.unwrap_or(1 << 20),
        ca_certs: match &doc.ca_file {
            None => None,
            Some(file) => Some(read_ca_file(file, base)?),
        },
        backoff_min_s: doc.backoff_min_ms.unwrap_or(1_000).max(1) as f64 / 1000.0,
        backoff_max_s: doc.backoff_max_s.unwrap_or(300) as f64,
        cache_file: doc.cache_file.as_ref().map(|f| base.map_or_else(|| f.into(), |dir| dir.join(f))),
    };
    if s.min_ttl_s > s.max_ttl_s {
        return Err(Error::policy("keys: min_ttl_s is above max_ttl_s"));
    }
    if s.backoff_min_s > s.backoff_max_s {
        return Err(Error::policy("keys: backoff_min_ms is above backoff_max_s"));
    }
    Ok(s)
}

/// The certificates of a CA file (PEM), as DER.
fn read_ca_file(file: &str, base: Option<&Path>) -> Result<Vec<Vec<u8>>, Error> {
    let path = base.map_or_else(|| file.into(), |dir| dir.join(file));
    let text =
        std::fs::read(&path).map_err(|e| Error::policy(format!("keys.ca_file: {}: {e}", path.display())))?;
    let certs: Vec<Vec<u8>> = ::pem::parse_many(&text)
        .map_err(|e| Error::policy(format!("keys.ca_file: {}: {e}", path.display())))?
        .into_iter()
        .filter(|block| block.tag() == "CERTIFICATE")
        .map(::pem::Pem::into_contents)
        .collect();
    if certs.is_empty() {
        return Err(Error::policy(format!("keys.ca_file: {}: no CERTIFICATE in it", path.display())));
    }
    // A block that does not parse as a trust anchor would be skipped by the
    // TLS client, and every fetch would fail: refuse it now.
    for (i, der) in certs.iter().enumerate() {
        let mut store = rustls::RootCertStore::empty();
        store.add(rustls::pki_types::CertificateDer::from(der.as_slice())).map_err(|e| {
            Error::policy(format!(
                "keys.ca_file: {}: CERTIFICATE {} is not a certificate: {e}",
                path.display(),
                i + 1
            ))
        })?;
    }
    Ok(certs)
}

/// Whether the doc sets any remote-only setting.
pub(crate) fn has_remote_settings(doc: &KeysDoc) -> bool {
    doc.ca_file.is_some()
        || doc.allow_http.is_some()
        || doc.min_ttl_s.is_some()
        || doc.max_ttl_s.is_some()
        || doc.refetch_cooldown_s.is_some()
        || doc.max_stale_s.is_some()
        || doc.initial_wait_ms.is_some()
        || doc.timeout_ms.is_some()
        || doc.max_bytes.is_some()
        || doc.backoff_min_ms.is_some()
        || doc.backoff_max_s.is_some()
        || doc.cache_file.is_some()
}

pub(crate) fn check_url(url: &str, allow_http: bool, what: &str) -> Result<(), Error> {
    if url.starts_with("https://") || (allow_http && url.starts_with("http://")) {
        Ok(())
    } else if url.starts_with("http://") {
        Err(Error::policy(format!("keys.{what}: plain http needs \"allow_http\": true")))
    } else {
        Err(Error::policy(format!("keys.{what}: not an http(s) URL")))
    }
}

/// The remote set of an issuer with `jwks_uri` or `discovery`, if it has one.
pub(crate) fn remote_keys(
    doc: &KeysDoc,
    issuer: Option<&str>,
    allowed: AlgorithmSet,
    base: Option<&Path>,
) -> Result<Option<Arc<RemoteKeys>>, Error> {
    if doc.jwks_uri.is_none() && doc.discovery.is_none() {
        return Ok(None);
    }
    let settings = settings(doc, base)?;
    let source = match (&doc.jwks_uri, &doc.discovery) {
        (Some(url), _) => {
            check_url(url, settings.allow_http, "jwks_uri")?;
            RemoteSource::Jwks(url.clone())
        }
        (_, Some(url)) => {
            check_url(url, settings.allow_http, "discovery")?;
            RemoteSource::Discovery { url: url.clone(), issuer: issuer.map(str::to_owned) }
        }
        _ => return Ok(None),
    };
    Ok(Some(Arc::new(RemoteKeys::new(source, settings, allowed))))
}

/// The `jku` allow-list of an issuer and the sets fetched through it
/// (`crate::jwks::JkuCache` with the issuer's fetch settings).
pub(crate) struct JkuSets(JkuCache);

impl std::fmt::Debug for JkuSets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JkuSets")
    }
}

impl JkuSets {
    pub(crate) fn new(
        prefixes: &[String],
        doc: &KeysDoc,
        allowed: AlgorithmSet,
        base: Option<&Path>,
    ) -> Result<JkuSets, Error> {
        if doc.cache_file.is_some() && doc.jwks_uri.is_none() && doc.discovery.is_none() {
            return Err(Error::policy(
                "keys.cache_file: applies to jwks_uri or discovery, never to jku sets",
            ));
        }
        let mut settings = settings(doc, base)?;
        settings.cache_file = None;
        JkuCache::new(prefixes, settings, allowed).map(JkuSets)
    }

    /// The cached set for an allowed `jku` at `now`, or a `header` error.
    pub(crate) fn set_for(&self, jku: &str, now: f64) -> Result<Arc<RemoteKeys>, Error> {
        self.0.set_for(jku, now)
    }

    pub(crate) fn sets(&self) -> Vec<Arc<RemoteKeys>> {
        self.0.sets()
    }
}
