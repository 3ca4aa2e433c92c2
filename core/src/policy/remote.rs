//! Remote key sources of an issuer: `jwks_uri`, `discovery` and the `jku`
//! allow-list, turned into JWKS caches at load time.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::doc::KeysDoc;
use crate::alg::AlgorithmSet;
use crate::error::{Error, ErrorKind};
use crate::jwks::{RemoteKeys, RemoteSettings, RemoteSource};

/// Most distinct `jku` URLs cached per issuer.
const MAX_JKU_SETS: usize = 16;

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
    };
    if s.min_ttl_s > s.max_ttl_s {
        return Err(Error::policy("keys: min_ttl_s is above max_ttl_s"));
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

/// The `jku` allow-list of an issuer and the sets fetched through it.
pub(crate) struct JkuSets {
    prefixes: Vec<String>,
    settings: RemoteSettings,
    allowed: AlgorithmSet,
    sets: Mutex<Vec<(String, Arc<RemoteKeys>)>>,
}

impl std::fmt::Debug for JkuSets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JkuSets").field("prefixes", &self.prefixes).finish()
    }
}

impl JkuSets {
    pub(crate) fn new(
        prefixes: &[String],
        doc: &KeysDoc,
        allowed: AlgorithmSet,
        base: Option<&Path>,
    ) -> Result<JkuSets, Error> {
        let settings = settings(doc, base)?;
        for prefix in prefixes {
            check_url(prefix, settings.allow_http, "allowed_jku")?;
            let path_start = prefix.find("://").map_or(0, |i| i + 3);
            if !prefix[path_start..].contains('/') || !prefix.ends_with('/') {
                return Err(Error::policy(format!(
                    "allowed_jku: {prefix:?} must name a host and end with '/', so it cannot match another host"
                )));
            }
        }
        Ok(JkuSets { prefixes: prefixes.to_vec(), settings, allowed, sets: Mutex::new(Vec::new()) })
    }

    /// The cached set for an allowed `jku`, or a `header` error.
    pub(crate) fn set_for(&self, jku: &str) -> Result<Arc<RemoteKeys>, Error> {
        let refused = || Error::new(ErrorKind::Header, "header jku is not in the allow-list");
        let tricky = jku.contains("..") || jku.contains('\\') || jku.contains('@') || jku.contains('#');
        if tricky || !self.prefixes.iter().any(|p| jku.starts_with(p.as_str())) {
            return Err(refused());
        }
        let mut sets = self.sets.lock();
        if let Some((_, set)) = sets.iter().find(|(url, _)| url == jku) {
            return Ok(Arc::clone(set));
        }
        if sets.len() >= MAX_JKU_SETS {
            return Err(Error::new(ErrorKind::Header, "too many distinct jku URLs"));
        }
        let set = Arc::new(RemoteKeys::new(
            RemoteSource::Jwks(jku.to_owned()),
            self.settings.clone(),
            self.allowed,
        ));
        sets.push((jku.to_owned(), Arc::clone(&set)));
        Ok(set)
    }

    pub(crate) fn sets(&self) -> Vec<Arc<RemoteKeys>> {
        self.sets.lock().iter().map(|(_, s)| Arc::clone(s)).collect()
    }
}
