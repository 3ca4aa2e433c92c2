'use strict'
// What the Express and Fastify integrations share: options, the rejection
// answer, forwarded-header handling. Token extraction and verification stay
// in the core (Verifier.findToken, Verifier.verify).

const { Verifier, JwtError } = require('./index.js')

/** Raised by the middleware when a request carries no token at all. */
function missingToken() {
  return new JwtError('missing_token', 'no token in the request', { status: 401, wwwAuthenticate: 'Bearer' })
}

function asVerifier(policy) {
  return policy instanceof Verifier ? policy : new Verifier(policy)
}

/** Whether a verification may wait on the network (remote key sets). */
function hasRemoteKeys(verifier) {
  for (const issuer of verifier.policy.issuers ?? []) {
    const keys = issuer.keys ?? {}
    if (keys.jwks_uri || keys.discovery || (issuer.allowed_jku ?? []).length > 0) return true
  }
  return false
}

/** Lower-case names of every header the policy may forward. */
function forwardHeaderNames(verifier) {
  const names = new Set()
  for (const issuer of verifier.policy.issuers ?? []) {
    const forward = issuer.forward ?? {}
    for (const name of Object.values(forward.claims_to_headers ?? {})) names.add(String(name).toLowerCase())
    if (forward.payload_header) names.add(String(forward.payload_header).toLowerCase())
  }
  return [...names]
}

/** Path prefixes (segment-wise: "/health" covers "/health/live", not "/healthz") and RegExps. */
function excluder(exclude) {
  if (exclude === undefined || exclude === null) return () => false
  const list = Array.isArray(exclude) ? exclude : [exclude]
  const prefixes = []
  const patterns = []
  for (const item of list) {
    if (typeof item === 'string') prefixes.push(item.length > 1 ? item.replace(/\/+$/, '') : item)
    else if (item instanceof RegExp) patterns.push(item)
    else throw new TypeError('exclude must list path prefixes (strings) or RegExps')
  }
  return (path) => {
    for (const p of prefixes) {
      if (path === p || path.startsWith(p.endsWith('/') ? p : `${p}/`)) return true
    }
    for (const re of patterns) if (re.test(path)) return true
    return false
  }
}

/** The middleware options, checked once at setup. */
function settings(policy, options = {}) {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
  let verifier = asVerifier(policy)
  if (options.claims !== undefined) verifier = verifier.withClaims(options.claims)
  if (options.skip !== undefined && typeof options.skip !== 'function') {
    throw new TypeError('options.skip must be a function (req) => boolean')
  }
  if (options.onError !== undefined && typeof options.onError !== 'function') {
    throw new TypeError('options.onError must be a function')
  }
  const property = options.requestProperty ?? 'auth'
  if (typeof property !== 'string' || property === '') throw new TypeError('options.requestProperty must be a string')
  return {
    verifier,
    isExcluded: excluder(options.exclude),
    skip: options.skip,
    onError: options.onError,
    property,
    forwardHeaders: options.forwardHeaders !== false,
    forwardNames: forwardHeaderNames(verifier),
    offload: options.async ?? hasRemoteKeys(verifier),
  }
}

/** The raw query string of a URL (without `?`), or undefined. */
function queryOf(url) {
  if (typeof url !== 'string') return undefined
  const q = url.indexOf('?')
  return q < 0 ? undefined : url.slice(q + 1)
}

function pathOf(url) {
  if (typeof url !== 'string') return '/'
  const q = url.indexOf('?')
  return q < 0 ? url : url.slice(0, q)
}

/** Replaces the forwarded headers a client sent with the token's. */
function setForwardHeaders(headers, names, verified) {
  for (const name of names) delete headers[name]
  for (const [name, value] of Object.entries(verified.headers)) headers[name.toLowerCase()] = value
}

/** Status, headers and JSON body of a rejection. */
function rejection(err) {
  const body = { error: err.code, message: err.message }
  if (err.claim) body.claim = err.claim
  return { status: err.status || 500, challenge: err.wwwAuthenticate || 'Bearer', body: JSON.stringify(body) }
}

module.exports = {
  missingToken,
  settings,
  queryOf,
  pathOf,
  setForwardHeaders,
  rejection,
}
