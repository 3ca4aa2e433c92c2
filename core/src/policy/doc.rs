//! The policy document exactly as users write it: docs/policy.md describes
//! it, and docs/policy.schema.json is generated from these types.
//!
//! Every struct denies unknown fields, so a typo such as `"leway_s"` is an
//! error that names the field instead of a silently ignored setting.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};

/// Default for [`PolicyDoc::max_token_bytes`]: 16 KiB.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Default for [`CacheDoc::max_entries`].
pub const DEFAULT_CACHE_ENTRIES: usize = 10_000;
/// Largest `leeway_s` accepted.
pub const MAX_LEEWAY_S: u64 = 300;

/// The whole policy document.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PolicyDoc {
    /// The issuers whose tokens are accepted; the token's `iss` picks one.
    pub issuers: Vec<IssuerDoc>,
    /// Where gateways look for the token, in order. Defaults to the
    /// `Authorization` header with the `Bearer` scheme.
    #[serde(default = "default_sources")]
    pub token_sources: Vec<TokenSourceDoc>,
    /// Longest token accepted, checked before any decoding. Defaults to 16384.
    #[serde(default = "default_max_token_bytes")]
    pub max_token_bytes: usize,
    /// The verified-token cache. Defaults to 10 000 entries.
    #[serde(default)]
    pub cache: CacheDoc,
    /// How requests are checked: `required`, `optional`, `report_only` or
    /// `off`; a route may choose another. Defaults to `required`.
    #[serde(default)]
    pub mode: super::Mode,
    /// Keep a query-string token in the URL passed upstream (RFC 6750
    /// section 5.3 advises against it: URLs end up in logs). Defaults to false.
    #[serde(default)]
    pub keep_query_token: bool,
    /// The protected resource (RFC 9728): its metadata document, the
    /// `resource_metadata` attribute of every challenge, the default DPoP
    /// origin and the default audience (RFC 8707). Defaults to none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceDoc>,
    /// Proxies (IP addresses or CIDRs such as `10.0.0.0/8`) whose
    /// `client_cert_header` is believed; the peer address of the request is
    /// matched. Defaults to none: the header is never read.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// The header in which a trusted proxy forwards the client certificate
    /// (PEM, URL-encoded PEM as nginx's `$ssl_client_escaped_cert`,
    /// tab-indented PEM as nginx's `$ssl_client_cert`, or bare base64 DER).
    /// Always removed from the request passed upstream. Defaults to
    /// `X-Client-Cert`.
    #[serde(default = "default_client_cert_header")]
    pub client_cert_header: String,
    /// Where DPoP proof identifiers are remembered against replay. Defaults
    /// to an in-process store of 100 000 entries, failing closed.
    #[serde(default)]
    pub replay_store: ReplayStoreDoc,
}

/// The protected resource (RFC 9728 section 2).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ResourceDoc {
    /// The resource identifier: an `https` URL without query or fragment,
    /// e.g. `https://api.example.com/orders` (required).
    pub uri: String,
    /// Scopes published in the metadata. Defaults to none (left out).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    /// Authorization servers published in the metadata. Defaults to the
    /// `issuer` of every issuer entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_servers: Option<Vec<String>>,
    /// A human-readable name. Defaults to none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
    /// A URL of human-readable documentation. Defaults to none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_documentation: Option<String>,
    /// `Cache-Control: max-age` of the metadata response. Defaults to 3600.
    #[serde(default = "default_metadata_max_age")]
    pub max_age_s: u64,
}

/// DPoP for one issuer: `"required"`, `"allowed"`, or the full object.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum DpopDoc {
    /// Just the mode.
    Mode(BindingMode),
    /// The mode and its settings.
    Settings(DpopSettingsDoc),
}

/// Whether a sender-constrained token is required or only accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum BindingMode {
    /// Every token of the issuer must be bound (and its binding checked).
    Required,
    /// Bound tokens are checked; unbound ones are accepted as `Bearer`.
    Allowed,
}

/// DPoP settings of an issuer (RFC 9449).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct DpopSettingsDoc {
    /// `required` or `allowed`. Defaults to `allowed`.
    #[serde(default = "default_binding_mode")]
    pub mode: BindingMode,
    /// How far a proof's `iat` may be from now, in seconds, either way;
    /// also how long its `jti` is remembered. Defaults to 60.
    #[serde(default = "default_iat_window")]
    pub iat_window_s: u64,
    /// Server nonces (RFC 9449 section 8): `true` for the runtime's shared
    /// secret (the Nginx module's, a gate's `nonce_secret`) or else a
    /// per-process one, or `{"secret": base64url, "window_s": n}` so that
    /// processes sharing the secret agree. Defaults to none (no nonce asked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<NonceDoc>,
    /// The external origin (`https://api.example.com`) proofs' `htu` must
    /// name. Defaults to the origin of `resource.uri`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// The `alg` values accepted for proofs (asymmetric only). Defaults to
    /// every asymmetric algorithm: ES256, ES384, ES512, PS256, PS384, PS512,
    /// RS256, RS384, RS512, EdDSA, ES256K, Ed25519, ML-DSA-44, ML-DSA-65 and
    /// ML-DSA-87.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithms: Option<Vec<String>>,
}

/// DPoP server nonces.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum NonceDoc {
    /// `true`: nonces from the runtime's shared secret, else a random
    /// per-process one; `false`: none.
    On(bool),
    /// Nonces from a shared secret.
    Settings(NonceSettingsDoc),
}

/// Stateless DPoP nonces: an HMAC of the time window under a secret.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct NonceSettingsDoc {
    /// The HMAC secret, base64url, at least 32 bytes, shared by every
    /// process that must accept the others' nonces; it wins over a secret
    /// the runtime hands in. Defaults to the runtime's shared secret (the
    /// Nginx module's, a gate's `nonce_secret`), else a random per-process
    /// one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Length of one nonce window in seconds; a nonce is accepted in its
    /// window and the next. Defaults to 300.
    #[serde(default = "default_nonce_window")]
    pub window_s: u64,
}

/// The DPoP replay store.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ReplayStoreDoc {
    /// A Redis URL (`redis://127.0.0.1:6379/0`) shared by every process;
    /// plain connections only (no TLS).
    /// Defaults to none: an in-process store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis: Option<String>,
    /// What a proof gets when the store cannot answer: `fail_closed`
    /// (`replay_store_unavailable`, 503) or `fail_open` (accepted without
    /// the replay check). Defaults to `fail_closed`.
    #[serde(default)]
    pub on_error: OnStoreError,
    /// Most proofs the in-process store remembers; when full it refuses new
    /// proofs (`replay_store_unavailable`, whatever `on_error` says) rather
    /// than forget live ones. Defaults to 100 000.
    #[serde(default = "default_replay_entries")]
    pub max_entries: usize,
    /// Connect, read and write timeout of a Redis command. Defaults to 250.
    #[serde(default = "default_store_timeout")]
    pub timeout_ms: u64,
    /// Prefix of every Redis key. Defaults to `jwtgate:dpop:`.
    #[serde(default = "default_key_prefix")]
    pub key_prefix: String,
}

impl Default for ReplayStoreDoc {
    fn default() -> Self {
        ReplayStoreDoc {
            redis: None,
            on_error: OnStoreError::default(),
            max_entries: default_replay_entries(),
            timeout_ms: default_store_timeout(),
            key_prefix: default_key_prefix(),
        }
    }
}

/// What happens to a proof when the replay store fails.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum OnStoreError {
    /// Refuse the request (503).
    #[default]
    FailClosed,
    /// Accept the proof without the replay check.
    FailOpen,
}

fn default_client_cert_header() -> String {
    "X-Client-Cert".into()
}
fn default_metadata_max_age() -> u64 {
    3600
}
fn default_binding_mode() -> BindingMode {
    BindingMode::Allowed
}
fn default_iat_window() -> u64 {
    60
}
fn default_nonce_window() -> u64 {
    300
}
fn default_replay_entries() -> usize {
    100_000
}
fn default_store_timeout() -> u64 {
    250
}
fn default_key_prefix() -> String {
    "jwtgate:dpop:".into()
}

/// One accepted issuer.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct IssuerDoc {
    /// The exact `iss` value. May be left out only when the policy has a
    /// single issuer; `iss` is then not checked.
    #[serde(default)]
    pub issuer: Option<String>,
    /// Accepted audiences; when set, `aud` must be present and share one.
    /// When not set, a token that carries `aud` is rejected (RFC 7519
    /// section 4.1.3) unless `any_audience` is true.
    #[serde(default)]
    pub audiences: Option<Vec<String>>,
    /// Accept any `aud` (a string or an array of strings) when `audiences`
    /// is not set; not allowed together with `audiences`. Defaults to false.
    #[serde(default)]
    pub any_audience: bool,
    /// The allowed `alg` values (required: RFC 8725 section 3.1), matched
    /// exactly: `EdDSA` and `Ed25519` (RFC 9864) are distinct names for
    /// the same Ed25519 signatures, and each is accepted only when listed.
    pub algorithms: Vec<String>,
    /// Refuse ES256K signatures whose `s` is in the upper half of the group
    /// order (the AT Protocol's low-S rule). RFC 8812 accepts both halves,
    /// and so does jwtgate by default. Requires `ES256K` in `algorithms`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub es256k_low_s: bool,
    /// Where the keys come from.
    pub keys: KeysDoc,
    /// Clock skew allowed for `exp`, `nbf` and `iat`, at most 300. Defaults to 0.
    #[serde(default)]
    pub leeway_s: u64,
    /// Claims that must be present (names or JSON Pointers; `null` counts
    /// as absent): a token without one fails with `missing_claim` (401).
    #[serde(default)]
    pub require: Vec<String>,
    /// Treat `iat` as `nbf`. Defaults to false.
    #[serde(default)]
    pub iat_as_nbf: bool,
    /// Oldest `iat` accepted, in seconds before now. Setting it requires
    /// `iat` (`missing_claim` without one) and bounds it from both sides: an
    /// `iat` beyond `now + leeway_s` is `not_yet_valid`, since a token
    /// "issued" in the future would otherwise stay young for as long as its
    /// issuer cared to claim. Defaults to no bound.
    #[serde(default)]
    pub max_age_s: Option<u64>,
    /// Required header `typ` (e.g. `at+jwt`), compared case-insensitively
    /// with or without `application/`. Defaults to no check.
    #[serde(default)]
    pub typ: Option<String>,
    /// Claim rules by claim name or JSON Pointer.
    #[serde(default)]
    pub claims: ClaimRulesDoc,
    /// Alternatives: claim maps in the syntax of `claims`, of which at
    /// least one must hold in full (on top of `claims`); an empty list is an
    /// error. Defaults to none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any_of: Option<Vec<ClaimRulesDoc>>,
    /// Claims to forward to the backend.
    #[serde(default)]
    pub forward: Option<ForwardDoc>,
    /// URL prefixes (each ending in `/`) a token's `jku` header may point
    /// into; such sets are fetched and cached like `jwks_uri`. Empty (the
    /// default): a token with `jku` is rejected.
    #[serde(default)]
    pub allowed_jku: Vec<String>,
    /// DPoP-bound tokens (RFC 9449): `"required"`, `"allowed"` or an
    /// object with `mode` and settings. Defaults to off: a token bound with
    /// `cnf.jkt` is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop: Option<DpopDoc>,
    /// Certificate-bound tokens (RFC 8705): `"required"` or `"allowed"`.
    /// Defaults to off: a token bound with `cnf["x5t#S256"]` is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtls_binding: Option<BindingMode>,
}

/// The key source of an issuer: exactly one of the sources, plus the
/// fetch settings that apply to remote sets.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct KeysDoc {
    /// An inline JWKS object (`{"keys": [...]}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<Value>,
    /// A JWKS file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_file: Option<String>,
    /// A remote JWKS URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// An OpenID configuration URL naming the `jwks_uri`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery: Option<String>,
    /// A PEM public key or certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pem: Option<String>,
    /// A PEM file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pem_file: Option<String>,
    /// A second PEM key accepted during rotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_pem: Option<String>,
    /// A second PEM file accepted during rotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_pem_file: Option<String>,
    /// An HMAC secret, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hmac_secret: Option<String>,
    /// Allow plain `http://` for remote sets (local IdPs, tests). Defaults to false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_http: Option<bool>,
    /// Shortest cache lifetime of a remote set. Defaults to 60.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_ttl_s: Option<u64>,
    /// Longest cache lifetime of a remote set. Defaults to 86400.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ttl_s: Option<u64>,
    /// Least time between two refetches for an unknown `kid`. Defaults to 30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refetch_cooldown_s: Option<u64>,
    /// How long a set stays usable when refreshes fail. Defaults to 86400.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_stale_s: Option<u64>,
    /// How long a request waits for a fetch (the first load, or a refetch
    /// for an unknown `kid`); 0 never waits. Fetches run in the background
    /// either way. Defaults to 3000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_wait_ms: Option<u64>,
    /// Connect and total timeout of one fetch (no request waits for it
    /// longer than `initial_wait_ms`). Defaults to 5000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Largest response accepted. Defaults to 1 MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<u64>,
    /// A PEM file of CA certificates to trust for HTTPS fetches instead of
    /// Mozilla's roots (an IdP behind a private CA). Defaults to Mozilla's roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// Wait after a failed fetch before the next one, doubled (with jitter)
    /// per failure in a row up to `backoff_max_s`. Defaults to 1000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_min_ms: Option<u64>,
    /// Longest wait between failed fetches; also caps a `Retry-After`.
    /// Defaults to 300.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_max_s: Option<u64>,
    /// A file keeping the last good set of `jwks_uri` or `discovery` (not
    /// of `jku` sets), read at load for a warm start when at most
    /// `max_stale_s` old. Used only when owned by the process's user, not
    /// writable by group or others and written for the same URL. Defaults
    /// to none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_file: Option<String>,
}

/// Claim rules by claim name or JSON Pointer: every rule must hold.
pub type ClaimRulesDoc = BTreeMap<String, ClaimRuleDoc>;

/// A claim rule; every condition given must hold.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ClaimRuleDoc {
    /// Equal in JSON type and value (`"4"` is not `4`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<Value>,
    /// Not equal to this value (the whole value, as `equals` compares it);
    /// to refuse a member of an array or a word of `scope`, use `none_of`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_equals: Option<Value>,
    /// Equal to one of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<Value>>,
    /// None of these: neither the value nor, for an array or a
    /// space-delimited string, any of its members is one of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub none_of: Option<Vec<Value>>,
    /// A string this regular expression matches as a whole: the pattern is
    /// compiled as `^(?:pattern)$`, so `admin|root` accepts `admin` and
    /// `root` but not `admin-evil` (use `.*` to allow more).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    /// An array (or space-delimited string) holding all of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains_all: Option<Vec<Value>>,
    /// An array (or space-delimited string) holding at least one of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains_any: Option<Vec<Value>>,
    /// A number greater than this one; any other value fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gt: Option<Number>,
    /// A number greater than or equal to this one; any other value fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ge: Option<Number>,
    /// A number less than this one; any other value fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lt: Option<Number>,
    /// A number less than or equal to this one; any other value fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub le: Option<Number>,
    /// The claim must be present (`null` counts as absent). Defaults to
    /// true for a rule with `not_equals`, `none_of`, `gt`, `ge`, `lt` or
    /// `le` and for every rule inside `any_of` (a token without the claim
    /// must not slip past an exclusion, a bound or an alternative), to
    /// false otherwise (an absent claim passes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    /// The HTTP status of a failure of this rule: 403 (`insufficient_scope`)
    /// or 401 (`invalid_token`). Defaults to 403.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(extend("enum" = [401, 403])))]
    pub status: Option<u16>,
}

/// What to pass on to the backend after a token verifies.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ForwardDoc {
    /// Claim name (or JSON Pointer) to request header name.
    #[serde(default)]
    pub claims_to_headers: BTreeMap<String, String>,
    /// A header that receives the whole payload, base64url.
    #[serde(default)]
    pub payload_header: Option<String>,
}

/// One place a gateway looks for the token: exactly one of `header`,
/// `cookie` or `query`; `scheme` only with `header`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct TokenSourceDoc {
    /// A request header, e.g. `Authorization`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// The auth scheme before the token in that header, e.g. `Bearer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// A cookie name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie: Option<String>,
    /// A query-string parameter name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
}

/// The verified-token cache settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CacheDoc {
    /// Most cached tokens; 0 turns the cache off. Defaults to 10 000.
    #[serde(default = "default_cache_entries")]
    pub max_entries: usize,
}

impl Default for CacheDoc {
    fn default() -> Self {
        CacheDoc { max_entries: DEFAULT_CACHE_ENTRIES }
    }
}

fn default_sources() -> Vec<TokenSourceDoc> {
    vec![TokenSourceDoc {
        header: Some("Authorization".into()),
        scheme: Some("Bearer".into()),
        ..Default::default()
    }]
}

fn default_max_token_bytes() -> usize {
    DEFAULT_MAX_TOKEN_BYTES
}

fn default_cache_entries() -> usize {
    DEFAULT_CACHE_ENTRIES
}
