//! jwtgate: JSON Web Token verification for API gateways.
//!
//! A [`Verifier`] is built from a policy document (see `docs/policy.md` for the
//! schema) and verifies compact JWS tokens: signature (HMAC, RSA, RSA-PSS,
//! ECDSA, Ed25519 on aws-lc-rs), issuer, audience, time and custom claim
//! rules, returning the claims and the headers to forward, or an [`Error`]
//! with a stable code. A [`Signer`] issues tokens and publishes the public
//! JWKS.
//!
//! ```
//! use jwtgate::{Signer, Verifier, Algorithm};
//! let secret = [7u8; 32];
//! let signer = Signer::from_secret(Algorithm::HS256, &secret, None).unwrap();
//! let token = signer.sign(&serde_json::json!({"sub": "ada"}), Some(60), None).unwrap();
//! let policy = serde_json::json!({"issuers": [{
//!     "algorithms": ["HS256"],
//!     "keys": {"hmac_secret": jwtgate::base64url_encode(&secret)}
//! }]});
//! let verifier = Verifier::from_value(policy).unwrap();
//! let verified = verifier.verify(&token, None).unwrap();
//! assert_eq!(verified.claims()["sub"], "ada");
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod alg;
mod base64url;
mod cache;
mod claims;
mod clock;
mod compiled;
mod dpop;
mod error;
mod forward;
mod gateway;
mod header;
pub mod json;
mod jwks;
mod keys;
mod mtls;
mod names;
mod policy;
pub mod replay;
mod signer;
mod sources;
mod stats;
pub mod unverified;
mod verified;
mod verifier;

pub use alg::{Algorithm, AlgorithmSet, KeyType, UnknownAlgorithm};
pub use claims::{ClaimPath, json_eq};
pub use clock::unix_now;
pub use compiled::{Policy, PolicyOverlay};
pub use error::{Error, ErrorKind, Result};
pub use gateway::{
    Decision, HeaderFilter, Request, Route, ascii_json, claim_header_value, exclusion_path, is_header_safe,
    is_plain_path,
};
pub use jwks::RemoteStats;
pub use keys::{MAX_JWKS_KEYS, MIN_RSA_BITS};
pub use policy::{
    BindingMode, CacheDoc, ClaimRuleDoc, ClaimRulesDoc, DEFAULT_CACHE_ENTRIES, DEFAULT_MAX_TOKEN_BYTES,
    DpopDoc, DpopSettingsDoc, ForwardDoc, IssuerDoc, KeysDoc, MAX_LEEWAY_S, Mode, NonceDoc, NonceSettingsDoc,
    OnStoreError, PolicyDoc, ReplayStoreDoc, ResourceDoc, RouteDoc, TokenSourceDoc, document_from_json,
};
pub use replay::{MemoryStore, RedisStore, ReplayStore, StoreError};
pub use signer::{GeneratedKey, Signer, generate_key, jwks, thumbprint};
pub use sources::{TokenSource, cookie_value};
pub use stats::{KeySetStats, Stats};
pub use verified::Verified;
pub use verifier::Verifier;

/// Encodes bytes as unpadded base64url (the encoding of `hmac_secret`).
pub fn base64url_encode(bytes: impl AsRef<[u8]>) -> String {
    base64url::encode(bytes)
}

/// Decodes strict unpadded base64url.
pub fn base64url_decode(text: impl AsRef<[u8]>) -> Option<Vec<u8>> {
    base64url::decode(text.as_ref())
}

/// The library version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
