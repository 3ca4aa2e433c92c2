'use strict'
// What the Express and Fastify integrations share: the options, turned
// into a route document once, and the call to the core's decision. The
// decision (token source, rejection, headers to remove and set, upstream
// URL) is the core's; the frameworks only apply it.

const {
  Verifier,
  Route,
  JwtError,
  _decideWith: decideWith,
  _none: NONE,
  _exclusionPath: exclusionPath,
} = require('./api.js')

const OPTIONS = new Set([
  'exclude', 'skip', 'claims', 'mode', 'route', 'requestProperty', 'async', 'onError', 'onDecision', 'now',
])

function asVerifier(policy) {
  return policy instanceof Verifier ? policy : new Verifier(policy)
}

/**
 * `exclude` split into path prefixes (the route's `exclude`, matched by the
 * core) and RegExps (matched here; a match is decided in mode `off`).
 */
function excludes(exclude) {
  if (exclude === undefined || exclude === null) return { prefixes: [], patterns: [] }
  const list = Array.isArray(exclude) ? exclude : [exclude]
  const prefixes = []
  const patterns = []
  for (const item of list) {
    if (typeof item === 'string') prefixes.push(item)
    else if (item instanceof RegExp) patterns.push(item)
    else throw new TypeError('exclude must list path prefixes (strings) or RegExps')
  }
  return { prefixes, patterns }
}

/** A `skip(req)` that combines a user's `skip` with RegExp excludes. */
function skipper(skip, patterns, urlOf) {
  if (skip !== undefined && typeof skip !== 'function') {
    throw new TypeError('options.skip must be a function (req) => boolean')
  }
  if (patterns.length === 0) return skip
  // The path as the core sees it (query and fragment cut); a path an
  // upstream could normalise elsewhere (`/x/../admin`) is never excluded.
  const matches = (req) => {
    const path = exclusionPath(urlOf(req))
    return path !== null && patterns.some((re) => re.test(path))
  }
  return skip ? (req) => matches(req) || skip(req) : matches
}

/**
 * `options.now`: undefined (the system clock), unix seconds, a Date, or a
 * function returning either per request. A fixed instant is for tests that
 * replay requests made at a known time (DPoP proofs carry their `iat`);
 * the core checks the value it is given on every decision.
 */
function clockOf(now) {
  if (now === undefined || now === null) return undefined
  if (typeof now === 'function') return now
  if ((typeof now === 'number' && Number.isFinite(now)) || (now instanceof Date && Number.isFinite(now.getTime()))) {
    return () => now
  }
  throw new TypeError('options.now must be unix seconds, a Date or a function returning either')
}

/**
 * The options, checked once at setup: the verifier, the route they make
 * (`exclude` prefixes, `claims`, `mode`, and any other route document
 * field under `route`), the same route in mode `off` (for `skip` and
 * RegExp excludes) and the hooks.
 */
function settings(policy, options, urlOf) {
  if (options === undefined || options === null) options = {}
  if (typeof options !== 'object') throw new TypeError('options must be an object')
  for (const key of Object.keys(options)) {
    if (!OPTIONS.has(key)) throw new TypeError(`jwtgate: unknown option ${JSON.stringify(key)}`)
  }
  const verifier = asVerifier(policy)
  for (const name of ['onError', 'onDecision']) {
    if (options[name] !== undefined && typeof options[name] !== 'function') {
      throw new TypeError(`options.${name} must be a function`)
    }
  }
  const property = options.requestProperty ?? 'auth'
  if (typeof property !== 'string' || property === '') throw new TypeError('options.requestProperty must be a string')
  const { prefixes, patterns } = excludes(options.exclude)
  const doc = {}
  if (prefixes.length > 0) doc.exclude = prefixes
  if (options.claims !== undefined) doc.claims = options.claims
  if (options.mode !== undefined) doc.mode = options.mode
  let route = verifier.route(doc)
  if (options.route !== undefined) route = route.merge(verifier.route(options.route))
  return {
    verifier,
    // Set once a require() layer exists: only then are decisions kept
    // for decideAfter.
    family: { layered: false },
    route,
    off: route.merge(verifier.route({ mode: 'off' })),
    skip: skipper(options.skip, patterns, urlOf),
    onError: options.onError,
    onDecision: options.onDecision,
    property,
    offload: options.async ?? verifier.hasRemoteKeys,
    readsCert: verifier.readsClientCert,
    clock: clockOf(options.now),
  }
}

/**
 * The request as `decide` takes it, from a Node `IncomingMessage`: the
 * peer address (what `trusted_proxies` is matched against) and, where an
 * issuer binds tokens to certificates and the connection is TLS, the
 * client's certificate (DER) from the handshake, which proved possession
 * of its key (RFC 8705 section 3). With the `now` option, the instant to
 * decide at.
 */
function requestOf(s, raw, url) {
  const socket = raw.socket
  const request = { method: raw.method, url, headers: raw.rawHeaders, peer: socket?.remoteAddress }
  if (s.clock !== undefined) request.now = s.clock()
  if (s.readsCert && socket?.encrypted && typeof socket.getPeerCertificate === 'function') {
    const cert = socket.getPeerCertificate(false)
    if (cert && cert.raw) request.clientCert = cert.raw
  }
  return request
}

/**
 * The settings of a nested level: `doc` (a route document or a Route) on
 * top of `s.route`. `layered`: the level runs after `s`'s on the same
 * request (Express `require`), so decisions are kept for `decideAfter`;
 * false where the merged route replaces `s`'s (a Fastify route's config).
 */
function nested(s, doc, layered = true) {
  if (layered) s.family.layered = true
  const route = s.route.merge(doc instanceof Route ? doc : s.verifier.route(doc))
  return { ...s, route, off: route.merge(s.verifier.route({ mode: 'off' })), skip: undefined }
}

/** The same settings with more exclusions (`unless`). */
function unless(s, options, urlOf) {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
  const { prefixes, patterns } = excludes(options.exclude)
  let route = s.route
  if (prefixes.length > 0) route = route.merge(s.verifier.route({ exclude: prefixes }))
  const more = skipper(options.skip, patterns, urlOf)
  const skip = s.skip && more ? (req) => s.skip(req) || more(req) : s.skip ?? more
  return { ...s, route, off: route.merge(s.verifier.route({ mode: 'off' })), skip }
}

const kState = Symbol('jwtgate.request')

/**
 * Decides one layer of a request and calls `then(decision)` (or
 * `fail(error)` for an error that is not a decision). The first layer
 * decides; a later one (a route's `require` after `app.use`) reuses the
 * first layer's verification through `decideAfter` on the same request.
 */
function decideLayer(s, holder, request, route, then, fail) {
  const state = holder[kState]
  const v = s.verifier
  const layered = state !== undefined && state.verifier === v
  if (layered) request = state.request
  const previous = layered ? state.decision : NONE
  const keep = s.family.layered
  const decided = (d) => {
    if (keep) holder[kState] = { verifier: v, decision: d, request }
    then(d)
  }
  if (s.offload) {
    decideWith(v, previous, request, route, keep, true).then(decided, fail)
    return
  }
  let d
  try {
    d = decideWith(v, previous, request, route, keep, false)
  } catch (e) {
    return fail(e)
  }
  decided(d)
}

/**
 * Applies a decision's headers to a Node request: every `removeHeaders`
 * name leaves `req.headers` and `req.rawHeaders` (which `headersDistinct`
 * is built from) whatever the outcome, then, when allowed, `setHeaders`
 * are set in both.
 */
function applyHeaders(req, decision) {
  const remove = new Set(decision.removeHeaders)
  for (const name of remove) delete req.headers[name]
  const raw = req.rawHeaders
  const kept = []
  if (Array.isArray(raw)) {
    for (let i = 0; i + 1 < raw.length; i += 2) {
      if (!remove.has(String(raw[i]).toLowerCase())) kept.push(raw[i], raw[i + 1])
    }
  }
  if (decision.allow) {
    for (const [name, value] of decision.setHeaders) {
      req.headers[name.toLowerCase()] = value
      kept.push(name, value)
    }
  }
  if (Array.isArray(raw)) {
    req.rawHeaders = kept
    // Node builds headersDistinct from rawHeaders with the original count:
    // give this request one built from the headers it now has.
    Object.defineProperty(req, 'headersDistinct', {
      configurable: true,
      get() {
        const distinct = {}
        for (let i = 0; i + 1 < kept.length; i += 2) {
          const name = String(kept[i]).toLowerCase()
          ;(distinct[name] ??= []).push(kept[i + 1])
        }
        Object.defineProperty(req, 'headersDistinct', { configurable: true, value: distinct })
        return distinct
      },
    })
  }
}

/** The rejection of a decision as a JwtError (for `onError`). */
function errorOf(decision) {
  const e = new JwtError(decision.code, decision.message, {
    status: decision.status,
    claim: decision.claim,
    wwwAuthenticate: decision.wwwAuthenticate,
  })
  e.decision = decision
  return e
}

module.exports = { settings, nested, unless, requestOf, decideLayer, applyHeaders, errorOf, kState }
