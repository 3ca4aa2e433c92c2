'use strict'
// The token verifier for MCP servers built with the official TypeScript SDK
// (@modelcontextprotocol/sdk), over the SDK's error classes: mcp.js binds it
// to the SDK's CommonJS build, mcp.mjs to its ES module build, so the
// errors thrown here are the ones the SDK's requireBearerAuth checks with
// `instanceof` however the application loads the SDK.
//
// The core decides: the token goes to `decideAsync` (the libuv pool, never
// the event loop) as an `Authorization: Bearer` request, so the policy's
// signature, claim, audience (RFC 8707) and route rules hold, and so does
// the binding: a token bound to a DPoP key or a client certificate is
// refused, since the SDK's hook sees only the token. This file converts the
// decision into the SDK's AuthInfo or error.

const { Verifier, JwtError } = require('./api.js')

/** What the adapter decides on top of a caller's route: the token as a Bearer header, always required. */
const BEARER = { token_sources: [{ header: 'Authorization', scheme: 'Bearer' }], mode: 'required' }

/** A message as the SDK writes it into `error_description="..."`: printable ASCII, no quote or backslash. */
function description(message) {
  return String(message).replace(/[^\x20-\x7e]|["\\]/g, "'")
}

/** RFC 9068 `scope` (space-delimited), else `scp` (an array or a string). */
function scopesOf(claims) {
  const value = claims.scope ?? claims.scp
  if (typeof value === 'string') return value.split(' ').filter(Boolean)
  if (Array.isArray(value)) return value.filter((s) => typeof s === 'string')
  return []
}

/** The token's audience as a URL: `aud`, or the entry of an `aud` array equal to the policy's resource. */
function resourceOf(claims, resource) {
  let aud = claims.aud
  if (Array.isArray(aud)) {
    const wanted = resource?.replace(/\/$/, '')
    aud = aud.find((a) => typeof a === 'string' && a.replace(/\/$/, '') === wanted)
  }
  if (typeof aud !== 'string') return undefined
  try {
    return new URL(aud)
  } catch {
    return undefined
  }
}

/**
 * The SDK's AuthInfo for verified claims: `clientId` from `client_id`,
 * else `azp`, else `sub`; `scopes` from `scope` or `scp`; `expiresAt` from
 * `exp`; `resource` from `aud`; `extra.subject` the `sub` and
 * `extra.claims` every claim.
 */
function authInfo(token, claims, resource) {
  const clientId = [claims.client_id, claims.azp, claims.sub].find((v) => typeof v === 'string') ?? ''
  const info = {
    token,
    clientId,
    scopes: scopesOf(claims),
    extra: { subject: typeof claims.sub === 'string' ? claims.sub : null, claims },
  }
  if (typeof claims.exp === 'number' && Number.isFinite(claims.exp)) info.expiresAt = claims.exp
  const url = resourceOf(claims, resource)
  if (url !== undefined) info.resource = url
  return info
}

/** The verifier and helpers over one copy of the SDK's errors (`server/auth/errors.js`). */
function adapter(errors) {
  const { InvalidTokenError, InsufficientScopeError, ServerError } = errors

  /** A rejection as the SDK's error: 403 insufficient_scope, 5xx server_error, else 401 invalid_token. */
  function sdkError(status, message) {
    const text = description(message)
    if (status === 403) return new InsufficientScopeError(text)
    if (status >= 500) return new ServerError(text)
    return new InvalidTokenError(text)
  }

  /**
   * The SDK's OAuthTokenVerifier over a jwtgate policy (a Verifier, a
   * policy object, JSON text or a file path). `options.route` (a route
   * document or a Route) adds requirements (`claims`, `scopes`, ...).
   */
  class JwtTokenVerifier {
    constructor(policy, options = {}) {
      if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
      for (const key of Object.keys(options)) {
        if (key !== 'route') throw new TypeError(`jwtgate: unknown option ${JSON.stringify(key)}`)
      }
      this.verifier = policy instanceof Verifier ? policy : new Verifier(policy)
      const own = this.verifier.route(BEARER)
      this.route = options.route === undefined ? own : this.verifier.route(options.route).merge(own)
      /** The policy's `resource.uri`, or null. */
      this.resource = this.verifier.policy.resource?.uri ?? null
    }

    /** Resolves with the AuthInfo of a token the policy accepts; rejects with the SDK's error otherwise. */
    async verifyAccessToken(token) {
      if (typeof token !== 'string') throw new InvalidTokenError('the token must be a string')
      let d
      try {
        d = await this.verifier.decideAsync(
          { method: 'POST', url: '/', headers: ['Authorization', `Bearer ${token}`] },
          this.route,
        )
      } catch (e) {
        // A request the addon refuses before deciding (over 1 MiB): invalid_request.
        if (e instanceof JwtError && e.status !== null) throw sdkError(e.status, e.message)
        throw e
      }
      if (d.allow && d.claims !== null) return authInfo(token, d.claims, this.resource)
      throw sdkError(d.status, d.message ?? d.code)
    }
  }

  return {
    JwtTokenVerifier,
    /** `new JwtTokenVerifier(policy, options)`. */
    tokenVerifier: (policy, options) => new JwtTokenVerifier(policy, options),
    authInfo,
  }
}

module.exports = { adapter }
