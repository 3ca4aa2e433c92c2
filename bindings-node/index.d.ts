// Types of the jwtgate package (the CommonJS and ESM entry points).

/** A policy document (DESIGN.md schema); see the README for every field. */
export interface Policy {
  issuers: IssuerPolicy[]
  token_sources?: TokenSource[]
  max_token_bytes?: number
  cache?: { max_entries?: number }
}

export interface IssuerPolicy {
  issuer?: string
  audiences?: string[]
  algorithms: Algorithm[]
  keys: KeysPolicy
  leeway_s?: number
  require?: string[]
  iat_as_nbf?: boolean
  max_age_s?: number
  typ?: string
  claims?: Record<string, ClaimRule>
  forward?: { claims_to_headers?: Record<string, string>; payload_header?: string }
  [field: string]: unknown
}

export type KeysPolicy =
  | { jwks: { keys: Jwk[] } }
  | { jwks_file: string }
  | { jwks_uri: string; [field: string]: unknown }
  | { discovery: string; [field: string]: unknown }
  | { pem: string; backup_pem?: string }
  | { pem_file: string; backup_pem?: string }
  | { hmac_secret: string }

/** A claim rule: typed equality, a set, a regex, array containment. */
export interface ClaimRule {
  equals?: unknown
  one_of?: unknown[]
  regex?: string
  contains_all?: unknown[]
  contains_any?: unknown[]
  required?: boolean
}

export type TokenSource = { header: string; scheme?: string } | { cookie: string } | { query: string }

export type Algorithm =
  | 'HS256' | 'HS384' | 'HS512'
  | 'RS256' | 'RS384' | 'RS512'
  | 'PS256' | 'PS384' | 'PS512'
  | 'ES256' | 'ES384' | 'ES512'
  | 'EdDSA'

export type Jwk = Record<string, unknown>

/** Every stable error code. */
export type ErrorCode =
  | 'malformed' | 'too_large' | 'header' | 'algorithm' | 'key_not_found' | 'signature'
  | 'expired' | 'not_yet_valid' | 'issuer' | 'audience' | 'claim' | 'jwks_unavailable' | 'policy'

/** A rejected token or an invalid policy or key. */
export class JwtError extends Error {
  readonly name: 'JwtError'
  /** The stable code; the middleware also uses `missing_token` when a request carries none. */
  readonly code: ErrorCode | 'missing_token'
  /** 401, 403 or 503; null for `policy`. */
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
  readonly claims: Record<string, unknown>
  /** The protected header (parsed on first access). */
  readonly header: Record<string, unknown>
  /** The policy issuer that vouched for the token, or null. */
  readonly issuer: string | null
  /** Headers to forward to the backend (policy `forward`). */
  readonly headers: Record<string, string>
  toJSON(): { claims: Record<string, unknown>; header: Record<string, unknown>; issuer: string | null; headers: Record<string, string> }
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
  /** The same policy with extra claim rules on every issuer. */
  withClaims(rules: Record<string, ClaimRule>): Verifier
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
