// Types of the jwtgate package (the CommonJS and ESM entry points).

/** A policy document (docs/policy.md; docs/policy.schema.json); exact: an unknown field is a type error, as it is a load error. */
export interface Policy {
  issuers: IssuerPolicy[]
  token_sources?: TokenSource[]
  max_token_bytes?: number
  cache?: { max_entries?: number }
  /** How requests are checked; a route may override it. Defaults to `required`. */
  mode?: Mode
  /** Keep a query-string token in the URL passed upstream. Defaults to false. */
  keep_query_token?: boolean
  /** The protected resource (RFC 9728): its metadata is answered at `/.well-known/oauth-protected-resource{path}` and named in 401 challenges. */
  resource?: ResourcePolicy
  /** Proxies (IP addresses or CIDR ranges) whose `client_cert_header` is believed. Defaults to none. */
  trusted_proxies?: string[]
  /** The header a trusted proxy puts the client certificate in. Defaults to `X-Client-Cert`. */
  client_cert_header?: string
  /** Where DPoP proofs' `jti` values are remembered. Defaults to an in-process store. */
  replay_store?: ReplayStorePolicy
}

/** The protected resource (RFC 9728 section 2). */
export interface ResourcePolicy {
  /** The resource identifier: an `https` URL without query or fragment. */
  uri: string
  scopes_supported?: string[]
  /** Defaults to the `issuer` of every issuer entry. */
  authorization_servers?: string[]
  resource_name?: string
  resource_documentation?: string
  /** `Cache-Control: max-age` of the metadata response. Defaults to 3600. */
  max_age_s?: number
}

/** Whether a sender-constrained token is required or only accepted. */
export type BindingMode = 'required' | 'allowed'

/** DPoP settings of an issuer (RFC 9449). */
export interface DpopPolicy {
  /** Defaults to `allowed`. */
  mode?: BindingMode
  /** How far a proof's `iat` may be from now, in seconds. Defaults to 60. */
  iat_window_s?: number
  /** Server nonces: `true` for a per-process secret, or a shared secret (base64url, 32+ bytes) and window. Defaults to none. */
  nonce?: boolean | { secret?: string; window_s?: number }
  /** The external origin proofs' `htu` must name. Defaults to the origin of `resource.uri`. */
  origin?: string
  /** Proof algorithms accepted (asymmetric only). */
  algorithms?: Algorithm[]
}

/** The DPoP replay store. */
export interface ReplayStorePolicy {
  /** A Redis URL shared by every process (`redis://127.0.0.1:6379/0`). Defaults to none: in-process. */
  redis?: string
  /** Defaults to `fail_closed` (503 `replay_store_unavailable`). */
  on_error?: 'fail_closed' | 'fail_open'
  /** Defaults to 100000. */
  max_entries?: number
  /** Defaults to 250. */
  timeout_ms?: number
  /** Defaults to `jwtgate:dpop:`. */
  key_prefix?: string
}

export interface IssuerPolicy {
  issuer?: string
  audiences?: string[]
  any_audience?: boolean
  algorithms: Algorithm[]
  /** Refuse high-S ES256K signatures (AT Protocol); needs ES256K in `algorithms`. */
  es256k_low_s?: boolean
  keys: KeysPolicy
  leeway_s?: number
  require?: Array<'exp' | 'nbf' | 'iat' | 'iss' | 'sub' | 'aud' | 'jti' | (string & {})>
  iat_as_nbf?: boolean
  max_age_s?: number
  typ?: string
  claims?: Record<string, ClaimRule>
  /** Alternatives in the syntax of `claims`: at least one must hold in full. */
  any_of?: Array<Record<string, ClaimRule>>
  forward?: ForwardPolicy
  allowed_jku?: string[]
  /** DPoP-bound tokens (RFC 9449): `required`, `allowed`, or the settings. Defaults to off. */
  dpop?: BindingMode | DpopPolicy
  /** Certificate-bound tokens (RFC 8705): `required` or `allowed`. Defaults to off. */
  mtls_binding?: BindingMode
}

export interface ForwardPolicy {
  /** Claim name (or JSON Pointer) to request header name. */
  claims_to_headers?: Record<string, string>
  /** A header that receives the whole payload, base64url. */
  payload_header?: string
}

/** Fetch settings of a remote key set (`jwks_uri`, `discovery`). */
export interface RemoteKeyOptions {
  allow_http?: boolean
  min_ttl_s?: number
  max_ttl_s?: number
  refetch_cooldown_s?: number
  max_stale_s?: number
  initial_wait_ms?: number
  timeout_ms?: number
  max_bytes?: number
  ca_file?: string
  backoff_min_ms?: number
  backoff_max_s?: number
  cache_file?: string
}

export type KeysPolicy =
  | { jwks: { keys: Jwk[] } }
  | { jwks_file: string }
  | ({ jwks_uri: string } & RemoteKeyOptions)
  | ({ discovery: string } & RemoteKeyOptions)
  | { pem: string; backup_pem?: string; backup_pem_file?: string }
  | { pem_file: string; backup_pem?: string; backup_pem_file?: string }
  | { hmac_secret: string }

/** A claim rule: typed equality, sets, a regex, array containment, numeric bounds, negations. */
export interface ClaimRule {
  equals?: unknown
  /** Not this whole value (use `none_of` for array members and scope words). */
  not_equals?: unknown
  one_of?: unknown[]
  /** Neither the value nor any of its members (array items, space-delimited words). */
  none_of?: unknown[]
  regex?: string
  contains_all?: unknown[]
  contains_any?: unknown[]
  /** Numeric bounds: the claim must be a JSON number. */
  gt?: number
  ge?: number
  lt?: number
  le?: number
  /** Defaults to true with a bound or a negation, or inside `any_of`; false otherwise. */
  required?: boolean
  /** The status of a failure. Defaults to 403. */
  status?: 401 | 403
}

export type TokenSource = { header: string; scheme?: string } | { cookie: string } | { query: string }

export type Algorithm =
  | 'HS256' | 'HS384' | 'HS512'
  | 'RS256' | 'RS384' | 'RS512'
  | 'PS256' | 'PS384' | 'PS512'
  | 'ES256' | 'ES384' | 'ES512'
  | 'EdDSA' | 'Ed25519'
  | 'ES256K'
  | 'ML-DSA-44' | 'ML-DSA-65' | 'ML-DSA-87'

export type Jwk = Record<string, unknown>

/** How a request is checked. */
export type Mode = 'required' | 'optional' | 'report_only' | 'off'

/** What a route adds to the policy; every field only adds. */
export interface RouteDoc {
  /** More claim rules, in the policy's rule syntax. */
  claims?: Record<string, ClaimRule>
  /** Alternatives in the syntax of `claims`: at least one must hold in full. */
  any_of?: Array<Record<string, ClaimRule>>
  /** OAuth scopes the token must hold (in `scope` or `scp`). */
  scopes?: string[]
  /** More claims to forward: claim name (or JSON Pointer) to header name. */
  claims_to_headers?: Record<string, string>
  /** A header for the whole payload, if the policy names none. */
  payload_header?: string
  /** Where this route looks for the token, instead of the policy's sources. */
  token_sources?: TokenSource[]
  mode?: Mode
  keep_query_token?: boolean
  /** Path prefixes decided in mode `off` (segment-wise: `/health` covers `/health/live`, not `/healthz`). */
  exclude?: string[]
}

/** The registered claims (RFC 7519, plus `scope`), and any other. */
export interface Claims {
  iss?: string
  sub?: string
  aud?: string | string[]
  exp?: number
  nbf?: number
  iat?: number
  jti?: string
  scope?: string
  [claim: string]: unknown
}

/** Every stable error code. */
export type ErrorCode =
  | 'malformed' | 'too_large' | 'header' | 'algorithm' | 'key_not_found' | 'signature'
  | 'expired' | 'not_yet_valid' | 'issuer' | 'audience' | 'claim' | 'jwks_unavailable' | 'policy'
  | 'missing_token' | 'missing_claim' | 'invalid_request'
  | 'invalid_dpop_proof' | 'use_dpop_nonce' | 'dpop_binding' | 'mtls_binding' | 'replay_store_unavailable'
  | 'key' | 'invalid_argument' | 'serialization'

/** A rejected token or an invalid policy or key. */
export class JwtError extends Error {
  readonly name: 'JwtError'
  /** The stable code. */
  readonly code: ErrorCode
  /** 400, 401, 403 or 503; null for `policy`, `key`, `invalid_argument` and `serialization`. */
  readonly status: number | null
  /** The claim to blame, or null. */
  readonly claim: string | null
  /** A ready RFC 6750 `WWW-Authenticate` value. */
  readonly wwwAuthenticate: string
  static readonly CODES: readonly ErrorCode[]
}

export declare const CODES: readonly ErrorCode[]
export declare const version: string

/** The clock: unix seconds (or a Date); absent means the system clock. */
export interface VerifyOptions {
  now?: number | Date | null
}

/** A verified token. */
export class Verified {
  readonly claims: Claims
  /** The protected header (parsed on first access). */
  readonly header: Record<string, unknown>
  /** The policy issuer that vouched for the token, or null. */
  readonly issuer: string | null
  /** Headers to forward to the backend (policy `forward`). */
  readonly headers: Record<string, string>
  toJSON(): { claims: Claims; header: Record<string, unknown>; issuer: string | null; headers: Record<string, string> }
}

/**
 * A request as `decide` takes it. `headers`: an object (`req.headers`,
 * values strings or string arrays for repeated headers), `[name, value]`
 * pairs, or a flat `[name, value, ...]` array (`req.rawHeaders`).
 */
export interface GatewayRequest {
  method?: string
  url: string
  headers?: Record<string, string | string[] | undefined> | Array<[string, string]> | string[]
  /** The peer's IP address. */
  peer?: string | null
  /** The client's TLS certificate, DER. */
  clientCert?: Uint8Array | null
  /** Unix seconds (or a Date) to decide at; absent means the system clock. */
  now?: number | Date | null
}

/** Compiled route requirements (`verifier.route(doc)`). */
export class Route {
  private constructor(handle: unknown)
  /** `child` on top of this route; a header both forward is a `policy` JwtError. */
  merge(child: Route): Route
}

/**
 * What to do with a request. When `allow`: delete `removeHeaders` from the
 * request, set `setHeaders`, pass `upstreamUrl` on when not null; otherwise
 * answer `status` with `responseHeaders` and `body`.
 */
export class Decision {
  private constructor(handle: unknown)
  readonly allow: boolean
  /** 200 when allowed, else 400, 401, 403 or 503. */
  readonly status: number
  /** The rejection's code (in report_only, the code it would have had); null when nothing failed. */
  readonly code: ErrorCode | null
  readonly message: string | null
  readonly claim: string | null
  readonly mode: Mode
  /** The policy issuer that accepted the token. */
  readonly issuer: string | null
  /** The verified claims; null without identity. */
  readonly claims: Claims | null
  readonly setHeaders: Array<[string, string]>
  /** Lower-case header names to delete from the request first. */
  readonly removeHeaders: string[]
  readonly responseHeaders: Array<[string, string]>
  readonly wwwAuthenticate: string | null
  /** The JSON body of a rejection. */
  readonly body: string | null
  readonly tokenInQuery: boolean
  /** The request target to pass upstream (a query token cut); null keeps the original. */
  readonly upstreamUrl: string | null
  /** A key fetch is still in flight (`jwks_unavailable`). */
  readonly pending: boolean
  toJSON(): Record<string, unknown>
}

export interface Stats {
  verifications: Record<ErrorCode | 'valid', number>
  cache_hits: number
  cache_misses: number
  cached_tokens: number
  key_sets: Array<Record<string, unknown>>
}

export class Verifier {
  /** A policy object, its JSON text, or the path of a JSON file. Throws a `policy` JwtError. */
  constructor(policy: Policy | string)
  /** Throws a JwtError when the token is rejected. */
  verify(token: string | Uint8Array, options?: VerifyOptions): Verified
  /** Verifies on the libuv thread pool; rejects with a JwtError. */
  verifyAsync(token: string | Uint8Array, options?: VerifyOptions): Promise<Verified>
  /** One call for a batch; results in order, a JwtError in place of each rejected token. */
  verifyMany(tokens: Array<string | Uint8Array>, options?: VerifyOptions): Array<Verified | JwtError>
  /** The token of a request per the policy's token_sources, or null. */
  findToken(headers: Record<string, string | string[] | undefined>, query?: string | null): string | null
  /** Compiles a route document; throws a `policy` JwtError naming a bad field. */
  route(doc: RouteDoc | Route): Route
  /** The decision for one request; throws a TypeError for bad arguments, an `invalid_request` JwtError over 1 MiB. */
  decide(request: GatewayRequest, route?: RouteDoc | Route | null): Decision
  /** `decide` on the libuv thread pool. */
  decideAsync(request: GatewayRequest, route?: RouteDoc | Route | null): Promise<Decision>
  /** A later layer of the same request: `previous`'s verification is reused. */
  decideAfter(previous: Decision, request: GatewayRequest, route?: RouteDoc | Route | null): Decision
  decideAfterAsync(previous: Decision, request: GatewayRequest, route?: RouteDoc | Route | null): Promise<Decision>
  /** The same policy with extra claim rules on every issuer. */
  withClaims(rules: Record<string, ClaimRule>): Verifier
  /** Whether a verification may wait on the network (`jwks_uri`, `discovery`, `allowed_jku`). */
  readonly hasRemoteKeys: boolean
  /** The policy document, defaults filled in. */
  readonly policy: Policy
  stats(options?: VerifyOptions): Stats
  clearCache(): void
}

export interface SignOptions extends VerifyOptions {
  /** Sets iat to now and exp to now + lifetimeS. */
  lifetimeS?: number | null
}

export interface GeneratedKey {
  algorithm: Algorithm
  kid: string
  /** PKCS#8 PEM, or for HMAC the secret as base64url. */
  privateKey: string
  /** null for HMAC. */
  publicJwk: Jwk | null
}

export class Signer {
  private constructor(handle: unknown)
  static fromPem(alg: Algorithm, pem: string | Uint8Array, options?: { kid?: string | null; typ?: string | null }): Signer
  static fromSecret(alg: Algorithm, secret: string | Uint8Array, options?: { kid?: string | null; typ?: string | null }): Signer
  static fromJwk(jwk: Jwk | string, options?: { alg?: Algorithm | null; typ?: string | null }): Signer
  static fromKey(key: GeneratedKey, options?: { typ?: string | null }): Signer
  readonly algorithm: Algorithm
  readonly kid: string | null
  sign(claims: Record<string, unknown>, options?: SignOptions): string
  signBytes(message: string | Uint8Array): Buffer
  publicJwk(): Jwk | null
}

export function generateKey(alg: Algorithm, options?: { kid?: string | null }): GeneratedKey
export function jwks(signers: Signer[]): { keys: Jwk[] }

export declare const express: typeof import('./express')
export declare const fastify: typeof import('./fastify')

declare const jwtgate: {
  Verifier: typeof Verifier
  Verified: typeof Verified
  Route: typeof Route
  Decision: typeof Decision
  Signer: typeof Signer
  JwtError: typeof JwtError
  CODES: typeof CODES
  generateKey: typeof generateKey
  jwks: typeof jwks
  version: string
  express: typeof import('./express')
  fastify: typeof import('./fastify')
}
export default jwtgate
