//! Sender-constrained tokens in the gateway: the `DPoP` scheme and proof
//! (RFC 9449), certificate binding (RFC 8705), their challenges, and the
//! protected resource metadata (RFC 9728).
//!
//! Binding checks run on every request after the token is verified, cache
//! hits included: the verified-token cache holds what the token says, never
//! whether this request may use it.

use std::sync::Arc;

use serde_json::Value;

use super::request::Request;
use crate::dpop::{MIN_NONCE_SECRET_BYTES, sha256_b64};
use crate::error::{Error, ErrorKind, challenge_with};
use crate::mtls::cert_from_header;
use crate::policy::{BindingMode, OnStoreError};
use crate::replay::{ReplayStore, StoreError};
use crate::verified::Verified;
use crate::verifier::Verifier;

/// How the request presented its token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// `Bearer`, a cookie or a query parameter: no proof of possession.
    Bearer,
    /// `Authorization: DPoP <token>` (RFC 9449 section 7.1).
    Dpop,
}

/// The token of an `Authorization: DPoP <token>` header. The scheme
/// counts whenever an issuer enables DPoP, whatever `token_sources` says.
/// Two `Authorization` headers are `invalid_request`.
pub(crate) fn dpop_token<'a>(request: &Request<'a>) -> Result<Option<&'a str>, Error> {
    let mut values = request.header_values("authorization");
    let first = values.next();
    if values.next().is_some() {
        return Err(Error::new(
            ErrorKind::InvalidRequest,
            "the request has more than one Authorization header",
        ));
    }
    let Some(value) = first else { return Ok(None) };
    let Some((scheme, rest)) = value.trim_start().split_once(' ') else { return Ok(None) };
    if !scheme.eq_ignore_ascii_case("DPoP") {
        return Ok(None);
    }
    let token = rest.trim();
    if token.is_empty() {
        return Err(Error::new(ErrorKind::InvalidRequest, "the DPoP scheme without a token"));
    }
    Ok(Some(token))
}

impl Verifier {
    /// The RFC 9728 protected resource metadata of the policy's `resource`
    /// (`resource`, `authorization_servers`, `scopes_supported`,
    /// `bearer_methods_supported`, DPoP and mTLS support); `None` without
    /// `resource`. [`Verifier::decide`] serves it at
    /// [`Verifier::resource_metadata_path`].
    pub fn resource_metadata(&self) -> Option<Value> {
        self.policy().sender.metadata.clone()
    }

    /// Where the metadata is served: `/.well-known/oauth-protected-resource`
    /// followed by the path of `resource.uri` (RFC 9728 section 3.1).
    pub fn resource_metadata_path(&self) -> Option<&str> {
        self.policy().sender.resource.as_ref().map(|r| r.metadata_path.as_str())
    }

    /// The absolute metadata URL every challenge names in
    /// `resource_metadata` (RFC 9728 section 5.1).
    pub fn resource_metadata_url(&self) -> Option<&str> {
        self.policy().sender.resource.as_ref().map(|r| r.metadata_url.as_str())
    }

    /// Replaces the DPoP replay store (a binding's shared-memory store, a
    /// store shared with other verifiers). Applies to this verifier and to
    /// every one derived from the same policy (`with_overlay`).
    pub fn set_replay_store(&self, store: Arc<dyn ReplayStore>) {
        self.policy().sender.set_store(store);
    }

    /// Gives DPoP server nonces a secret shared by the processes that serve
    /// this policy: every issuer whose `dpop.nonce` is `true` or names no
    /// `secret` issues and accepts nonces under `secret` from now on,
    /// instead of the random secret its process made (which another process
    /// refuses, so a client sent from one to the other is asked for a new
    /// nonce each time). An issuer whose policy names `nonce.secret` keeps
    /// it: that secret is shared on purpose, possibly with other hosts.
    /// Applies to this verifier and to every one derived from the same
    /// policy (`with_overlay`); nonces issued under the previous secret are
    /// refused from now on (the client retries with the nonce of the
    /// answer).
    ///
    /// An `invalid_argument` error when `secret` is shorter than 32 bytes.
    pub fn set_nonce_secret(&self, secret: &[u8]) -> Result<(), Error> {
        if secret.len() < MIN_NONCE_SECRET_BYTES {
            return Err(Error::invalid_argument(format!(
                "a nonce secret has at least {MIN_NONCE_SECRET_BYTES} bytes, not {}",
                secret.len()
            )));
        }
        for nonce in self.policy().issuers.iter().filter_map(|i| i.dpop.as_ref()?.nonce.as_ref()) {
            nonce.share_secret(secret);
        }
        Ok(())
    }

    /// Whether DPoP proofs are remembered by this process alone: an issuer
    /// accepts DPoP and the policy names no shared store
    /// (`replay_store.redis`). A runtime that serves one policy from several
    /// processes (Nginx workers) plugs a store they share in with
    /// [`Verifier::set_replay_store`] then, or a proof replayed to another
    /// process would be accepted there.
    pub fn replay_store_in_process(&self) -> bool {
        let sender = &self.policy().sender;
        sender.any_dpop && sender.in_process_store
    }

    /// The `WWW-Authenticate` value for `error` on a request presented with
    /// `scheme`: a `DPoP` challenge with `algs` for DPoP requests; for the
    /// others a `Bearer` challenge, followed by a `DPoP` one when an issuer
    /// accepts DPoP; `resource_metadata` in each when the policy has a
    /// `resource`.
    pub(crate) fn challenge(&self, error: &Error, scheme: Scheme) -> String {
        let sender = &self.policy().sender;
        let metadata = sender.resource.as_ref().map(|r| r.metadata_url.as_str());
        let mut dpop_params = vec![("algs", sender.dpop_algs.as_str())];
        dpop_params.extend(metadata.map(|m| ("resource_metadata", m)));
        let dpop_error = matches!(error.kind(), ErrorKind::InvalidDpopProof | ErrorKind::UseDpopNonce);
        if sender.any_dpop && (scheme == Scheme::Dpop || dpop_error) {
            return challenge_with("DPoP", Some(error), &dpop_params);
        }
        let bearer_params: Vec<(&str, &str)> =
            metadata.map(|m| ("resource_metadata", m)).into_iter().collect();
        let mut out = challenge_with("Bearer", Some(error), &bearer_params);
        if sender.any_dpop {
            out.push_str(", ");
            out.push_str(&challenge_with("DPoP", None, &dpop_params));
        }
        out
    }

    /// The binding checks of a verified token on this request.
    pub(crate) fn check_binding(
        &self,
        request: &Request<'_>,
        token: &str,
        verified: &Verified,
        scheme: Scheme,
        now: f64,
    ) -> Result<(), Error> {
        let policy = self.policy();
        let Some(issuer) = policy.issuer_for(verified.issuer()) else {
            return Err(Error::with_claim(ErrorKind::Issuer, "iss", "issuer not accepted"));
        };
        let binding = |m: &str| Error::new(ErrorKind::DpopBinding, m);
        match (scheme, issuer.dpop.as_deref(), verified.cnf_jkt()) {
            (Scheme::Dpop, None, _) => return Err(binding("the issuer's tokens are not accepted with DPoP")),
            (Scheme::Dpop, Some(_), None) => {
                return Err(binding(
                    "the token is not DPoP-bound (no cnf.jkt) but was sent with the DPoP scheme",
                ));
            }
            (Scheme::Dpop, Some(dpop), Some(jkt)) => self.check_proof(request, token, dpop, jkt, now)?,
            (Scheme::Bearer, _, Some(_)) => {
                return Err(binding(
                    "a DPoP-bound token (cnf.jkt) must be sent with the DPoP scheme and a proof",
                ));
            }
            (Scheme::Bearer, Some(dpop), None) if dpop.mode == BindingMode::Required => {
                return Err(binding("the issuer requires DPoP-bound tokens"));
            }
            (Scheme::Bearer, _, None) => {}
        }
        let mtls = |m: &str| Error::new(ErrorKind::MtlsBinding, m);
        match (issuer.mtls, verified.cnf_x5t_s256()) {
            (None, None) | (Some(BindingMode::Allowed), None) => Ok(()),
            (None, Some(_)) => Err(mtls("certificate-bound tokens are not accepted for the issuer")),
            (Some(BindingMode::Required), None) => Err(mtls("the issuer requires certificate-bound tokens")),
            (Some(_), Some(x5t)) => {
                let cert = self.client_cert(request)?;
                if sha256_b64(&cert) == x5t {
                    Ok(())
                } else {
                    Err(mtls("the client certificate is not the one the token is bound to"))
                }
            }
        }
    }

    /// The proof of a DPoP request: exactly one `DPoP` header, every check
    /// of RFC 9449 section 4.3, the token's `cnf.jkt`, then the replay
    /// store (last, so only proofs that pass everything take room).
    fn check_proof(
        &self,
        request: &Request<'_>,
        token: &str,
        dpop: &crate::dpop::DpopConfig,
        jkt: &str,
        now: f64,
    ) -> Result<(), Error> {
        let invalid = |m: &str| Error::new(ErrorKind::InvalidDpopProof, m);
        let mut proofs = request.header_values("dpop");
        // A comma is a second header joined by the server (WSGI): no JWS holds one.
        let (Some(proof), None) = (proofs.next(), proofs.next()) else {
            return Err(invalid("a DPoP request needs exactly one DPoP header"));
        };
        if proof.contains(',') {
            return Err(invalid("a DPoP request needs exactly one DPoP header"));
        }
        if proof.len() > self.policy().max_token_bytes() {
            return Err(invalid("the proof is too long"));
        }
        let checked = dpop.check_proof(proof.trim(), request.method, request.path(), token, now).map_err(
            |e| match (&dpop.nonce, e.kind()) {
                (Some(key), ErrorKind::UseDpopNonce) => e.with_dpop_nonce(key.current(now)),
                _ => e,
            },
        )?;
        if checked.jkt != jkt {
            return Err(invalid("the proof key is not the key the token is bound to (cnf.jkt)"));
        }
        let sender = &self.policy().sender;
        let key = format!("{}{}:{}", sender.key_prefix, checked.jkt, sha256_b64(checked.jti.as_bytes()));
        match sender.store().insert_once(&key, checked.expires_at, now) {
            Ok(true) => Ok(()),
            Ok(false) => Err(invalid("the proof was used before (jti replayed)")),
            // A full store refuses whatever `on_error` says: failing open
            // there would let whoever fills it replay proofs.
            Err(e @ StoreError::Full) => {
                Err(Error::new(ErrorKind::ReplayStoreUnavailable, e.to_string()).with_retry_after(1))
            }
            Err(_) if sender.on_error == OnStoreError::FailOpen => Ok(()),
            Err(e) => Err(Error::new(ErrorKind::ReplayStoreUnavailable, e.to_string()).with_retry_after(1)),
        }
    }

    /// The client certificate (DER): forwarded in `client_cert_header` by a
    /// trusted proxy (the peer matches `trusted_proxies`), else the
    /// connection's own. A header from any other peer is ignored.
    fn client_cert(&self, request: &Request<'_>) -> Result<Vec<u8>, Error> {
        let sender = &self.policy().sender;
        let mtls = |m: &str| Error::new(ErrorKind::MtlsBinding, m);
        let trusted =
            request.peer.is_some_and(|peer| sender.trusted_proxies.iter().any(|net| net.contains(peer)));
        if trusted {
            let mut values = request.header_values(&sender.cert_header);
            match (values.next(), values.next()) {
                (Some(_), Some(_)) => return Err(mtls("more than one forwarded client certificate")),
                (Some(value), None) => {
                    return cert_from_header(value)
                        .ok_or_else(|| mtls("the forwarded client certificate is not a PEM certificate"));
                }
                (None, _) => {}
            }
        }
        request.client_cert.map(<[u8]>::to_vec).ok_or_else(|| mtls("no client certificate"))
    }
}
