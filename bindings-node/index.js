'use strict'
// jwtgate for Node.js: JSON Web Token verification for API gateways.
//
// A thin layer over the native addon (binding.js): it checks argument types,
// turns the addon's raw outcomes into result objects and JwtError instances,
// and adds nothing of its own to the verification (policy, parsing, claims
// and caching all live in the Rust core).

const native = require('./binding.js')

const ERROR_PREFIX = '\u0001jwtgate:'

/** Every stable error code of the core, in the order of the C enum. */
const CODES = Object.freeze(native.errorCodes())

/**
 * A rejected token or an invalid policy/key. `code` is one of the stable
 * codes (`expired`, `signature`, `claim`, ..., `policy`); `status` the HTTP
 * status a gateway answers with (401, 403, 503; null for `policy`); `claim`
 * the claim to blame or null; `wwwAuthenticate` a ready RFC 6750 challenge.
 */
class JwtError extends Error {
  constructor(code, message, fields = {}) {
    super(message)
    this.name = 'JwtError'
    this.code = code
    this.status = fields.status ?? null
    this.claim = fields.claim ?? null
    this.wwwAuthenticate = fields.wwwAuthenticate ?? ''
  }
}
JwtError.CODES = CODES

function rawError(raw) {
  return new JwtError(raw.code, raw.message, raw)
}

// napi-rs reports argument conversion failures with these status codes.
const TYPE_STATUSES = new Set([
  'InvalidArg',
  'ObjectExpected',
  'StringExpected',
  'NameExpected',
  'FunctionExpected',
  'NumberExpected',
  'BooleanExpected',
  'ArrayExpected',
  'BigintExpected',
  'DateExpected',
  'ArrayBufferExpected',
])

/** An error thrown by the addon, as the error the API documents. */
function convert(e) {
  if (e instanceof JwtError || e instanceof TypeError) return e
  if (e && typeof e.message === 'string' && e.message.startsWith(ERROR_PREFIX)) {
    const fields = JSON.parse(e.message.slice(ERROR_PREFIX.length))
    return new JwtError(fields.code, fields.message, fields)
  }
  if (e && TYPE_STATUSES.has(e.code)) {
    const t = new TypeError(e.message)
    t.code = 'ERR_INVALID_ARG_TYPE'
    return t
  }
  return e
}

function call(fn) {
  try {
    return fn()
  } catch (e) {
    throw convert(e)
  }
}

function describe(value) {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? `an instance of ${value.constructor?.name ?? 'Object'}` : `type ${typeof value}`
}

function typeError(message) {
  const e = new TypeError(message)
  e.code = 'ERR_INVALID_ARG_TYPE'
  return e
}

function isPlainObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

const standIns = new Map()
function tooLong(limit) {
  let text = standIns.get(limit)
  if (text === undefined) {
    text = Buffer.alloc(limit + 1, 0x2e).toString('latin1')
    if (standIns.size < 16) standIns.set(limit, text)
  }
  return text
}

/**
 * The token as a string (a string, Buffer or Uint8Array). A string goes to
 * the addon as it is (the addon checks its length before copying); a
 * Buffer over `limit` bytes is cut to `limit + 1`, still too large for the
 * core, so a huge one is never converted whole.
 */
function tokenText(token, limit, what = 'token') {
  if (typeof token === 'string') {
    // A string over the limit goes across as a stand-in of limit + 1
    // characters: the core answers too_large with its own message, and a
    // huge string (perhaps held by V8 in pieces) is never read.
    return token.length > limit ? tooLong(limit) : token
  }
  if (token instanceof Uint8Array) {
    const length = Math.min(token.byteLength, limit + 1)
    return Buffer.from(token.buffer, token.byteOffset, length).toString('latin1')
  }
  throw typeError(`${what} must be a string or a Buffer, received ${describe(token)}`)
}

/** `options.now` as unix seconds, or undefined for the system clock. */
function nowOf(options) {
  if (options === undefined || options === null) return undefined
  if (typeof options !== 'object') throw typeError(`options must be an object, received ${describe(options)}`)
  const now = options.now
  if (now === undefined || now === null) return undefined
  if (typeof now === 'number' && Number.isFinite(now)) return now
  if (now instanceof Date && Number.isFinite(now.getTime())) return now.getTime() / 1000
  throw typeError(`options.now must be a finite number of unix seconds or a Date, received ${describe(now)}`)
}

/**
 * A verified token: `claims` (the payload), `header` (the protected header),
 * `issuer` (the policy entry that vouched for it, or null) and `headers`
 * (name -> value to forward to the backend). The verification is complete
 * when a Verified exists; each part is parsed from the token's JSON on first
 * access (and kept), so a caller that needs only the decision, or only the
 * forward headers, does not pay for the rest.
 */
class Verified {
  // `raw` is the addon's `claims NUL header NUL tail` (see src/errors.rs).
  #raw
  #claims
  #header
  #tail
  constructor(raw) {
    this.#raw = raw
  }

  get claims() {
    if (this.#claims === undefined) this.#claims = JSON.parse(this.#raw.slice(0, this.#raw.indexOf('\0')))
    return this.#claims
  }

  get header() {
    if (this.#header === undefined) {
      const a = this.#raw.indexOf('\0') + 1
      this.#header = JSON.parse(this.#raw.slice(a, this.#raw.indexOf('\0', a)))
    }
    return this.#header
  }

  #parts() {
    if (this.#tail === undefined) {
      const b = this.#raw.indexOf('\0', this.#raw.indexOf('\0') + 1) + 1
      const tail = b < this.#raw.length ? JSON.parse(this.#raw.slice(b)) : [null]
      const headers = {}
      for (let i = 1; i < tail.length; i += 2) headers[tail[i]] = tail[i + 1]
      this.#tail = { issuer: tail[0], headers }
    }
    return this.#tail
  }

  get issuer() {
    return this.#parts().issuer
  }

  get headers() {
    return this.#parts().headers
  }

  toJSON() {
    return { claims: this.claims, header: this.header, issuer: this.issuer, headers: this.headers }
  }

  [Symbol.for('nodejs.util.inspect.custom')]() {
    return `Verified ${JSON.stringify(this.toJSON(), null, 2)}`
  }
}

function unwrap(raw) {
  if (typeof raw !== 'string') throw rawError(raw)
  return new Verified(raw)
}

function settle(raw) {
  return typeof raw !== 'string' ? rawError(raw) : new Verified(raw)
}

// verifyAsync gathers the calls of one event-loop turn and hands them to the
// libuv pool in a few batches (one per pool thread, at most BATCH_MAX tokens
// each), so a busy gateway pays one N-API round trip per batch, not per token.
const POOL_SIZE = Math.max(1, Number(process.env.UV_THREADPOOL_SIZE) || 4)
const BATCH_MAX = 64

function flush(verifier) {
  const queue = verifier[kQueue]
  verifier[kQueue] = null
  const n = queue.tokens.length
  const size = Math.min(BATCH_MAX, Math.max(1, Math.ceil(n / POOL_SIZE)))
  for (let start = 0; start < n; start += size) {
    const end = Math.min(n, start + size)
    const settles = queue.settles.slice(start, end)
    let task
    try {
      task = verifier[kNative].verifyBatchAsync(queue.tokens.slice(start, end), queue.nows.slice(start, end))
    } catch (e) {
      const err = convert(e)
      for (const s of settles) s.reject(err)
      continue
    }
    task.then(
      (outcomes) => {
        for (let i = 0; i < settles.length; i++) {
          const raw = outcomes[i]
          if (typeof raw === 'string') settles[i].resolve(new Verified(raw))
          else settles[i].reject(rawError(raw))
        }
      },
      (e) => {
        const err = convert(e)
        for (const s of settles) s.reject(err)
      },
    )
  }
}

const kNative = Symbol('jwtgate.native')
const kQueue = Symbol('jwtgate.queue')
const kMax = Symbol('jwtgate.maxTokenBytes')

/**
 * Verifies tokens against one policy (docs/policy.md): a policy object,
 * its JSON text, or the path of a JSON file. Share one per process; it
 * holds the verified-token cache and the remote key sets.
 */
class Verifier {
  constructor(policy) {
    if (policy && policy[kNative] instanceof native.NativeVerifier) {
      this[kNative] = policy[kNative]
      this[kMax] = this[kNative].maxTokenBytes
      return
    }
    if (typeof policy === 'string') {
      this[kNative] = call(() =>
        policy.trimStart().startsWith('{')
          ? native.NativeVerifier.fromJson(policy)
          : native.NativeVerifier.fromFile(policy),
      )
    } else if (isPlainObject(policy)) {
      const text = JSON.stringify(policy)
      this[kNative] = call(() => native.NativeVerifier.fromJson(text))
    } else {
      throw typeError(`policy must be an object, JSON text or a file path, received ${describe(policy)}`)
    }
    this[kMax] = this[kNative].maxTokenBytes
  }

  /** Verifies a token; returns a `Verified` or throws a `JwtError`. */
  verify(token, options) {
    const text = tokenText(token, this[kMax])
    const now = nowOf(options)
    return unwrap(this[kNative].verify(text, now))
  }

  /**
   * Verifies a token on the libuv thread pool, leaving the event loop free.
   * Resolves with a `Verified`, rejects with a `JwtError` (or a TypeError
   * for bad arguments). Calls made in the same event-loop turn are verified
   * together, spread over the pool threads.
   */
  verifyAsync(token, options) {
    let text, now
    try {
      text = tokenText(token, this[kMax])
      now = nowOf(options)
    } catch (e) {
      return Promise.reject(e)
    }
    let queue = this[kQueue]
    if (!queue) {
      queue = this[kQueue] = { tokens: [], nows: [], settles: [] }
      setImmediate(flush, this)
    }
    return new Promise((resolve, reject) => {
      queue.tokens.push(text)
      queue.nows.push(now === undefined ? NaN : now)
      queue.settles.push({ resolve, reject })
    })
  }

  /**
   * Verifies many tokens in one call. Returns, in order, a `Verified` or the
   * `JwtError` for each token (nothing is thrown for a rejected token).
   */
  verifyMany(tokens, options) {
    if (!Array.isArray(tokens)) throw typeError(`tokens must be an array, received ${describe(tokens)}`)
    const texts = tokens.map((t, i) => tokenText(t, this[kMax], `tokens[${i}]`))
    const now = nowOf(options)
    return call(() => this[kNative].verifyMany(texts, now)).map(settle)
  }

  /**
   * The token of a request, from the policy's `token_sources` in order:
   * `headers` is a Node headers object (`req.headers`, lower-case names),
   * `query` the raw query string without `?`. Returns null when none.
   */
  findToken(headers, query) {
    if (!isPlainObject(headers)) throw typeError(`headers must be an object, received ${describe(headers)}`)
    if (query !== undefined && query !== null && typeof query !== 'string') {
      throw typeError(`query must be a string, received ${describe(query)}`)
    }
    let total = query?.length ?? 0
    for (const name of Object.keys(headers)) {
      const value = headers[name]
      total += name.length + (typeof value === 'string' ? value.length : 0)
    }
    if (total > MAX_REQUEST_BYTES) throw tooLargeRequest()
    return call(() => this[kNative].findToken(headers, query ?? undefined)) ?? null
  }

  /**
   * A new verifier for the same policy with extra claim rules (the policy's
   * `claims` syntax) added to every issuer, e.g.
   * `{subscribedAPIs: {contains_all: ['orders'], required: true}}`.
   * The policy's own rules still hold (a rule on a claim the policy already
   * checks holds as well), and the keys and JWKS caches are shared.
   */
  withClaims(rules) {
    if (!isPlainObject(rules)) throw typeError(`rules must be an object, received ${describe(rules)}`)
    const text = JSON.stringify(rules)
    return new Verifier({ [kNative]: call(() => this[kNative].withClaims(text)) })
  }

  /**
   * Compiles route requirements (a route document: `claims`, `scopes`,
   * `claims_to_headers`, `payload_header`, `token_sources`, `mode`,
   * `keep_query_token`, `exclude`) against this policy. Build routes once,
   * not per request. Throws a `policy` JwtError naming a bad field.
   */
  route(doc) {
    if (doc instanceof Route) return doc
    if (!isPlainObject(doc)) throw typeError(`a route document must be an object, received ${describe(doc)}`)
    const text = JSON.stringify(doc)
    return new Route(call(() => this[kNative].route(text)))
  }

  /**
   * The decision for one request: `{method, url, headers, peer?,
   * clientCert?, now?}` where `headers` is an object (`req.headers`:
   * values strings or arrays of strings), an array of `[name, value]`
   * pairs, or a flat `[name, value, ...]` array (`req.rawHeaders`, which
   * keeps repeated headers visible). `route` (a Route or a route document)
   * adds to the policy. Returns a `Decision`; throws a TypeError for bad
   * arguments and an `invalid_request` JwtError for a request over 1 MiB.
   */
  decide(request, route) {
    return decideWith(this, NONE, request, route, true, false)
  }

  /** `decide` on the libuv thread pool; every error is a rejection. */
  decideAsync(request, route) {
    return decideWith(this, NONE, request, route, true, true)
  }

  /**
   * The decision of a later layer of the same request (a route after
   * `app.use`): the token `previous` verified is not verified again; only
   * `route`'s requirements are checked. Pass the request `previous` was
   * decided on, and a route that includes the earlier layers' (`merge`).
   */
  decideAfter(previous, request, route) {
    return decideWith(this, previous, request, route, true, false)
  }

  /** `decideAfter` on the libuv thread pool; every error is a rejection. */
  decideAfterAsync(previous, request, route) {
    return decideWith(this, previous, request, route, true, true)
  }

  /** Whether a verification may wait on the network (`jwks_uri`, `discovery`, `allowed_jku`). */
  get hasRemoteKeys() {
    return this[kNative].hasRemoteKeys
  }

  /** The policy document with defaults filled in. */
  get policy() {
    return JSON.parse(call(() => this[kNative].policyJson()))
  }

  /**
   * The core's counters: `verifications` by outcome, `cache_hits`,
   * `cache_misses`, `cached_tokens` and the state of remote `key_sets`.
   */
  stats(options) {
    const now = nowOf(options)
    return JSON.parse(call(() => this[kNative].statsJson(now)))
  }

  /** Empties the verified-token cache (for instance after a key rotation). */
  clearCache() {
    this[kNative].clearCache()
  }
}

/**
 * Compiled route requirements (`verifier.route(doc)`). `merge(child)` puts
 * a nested level on top: rules, scopes, forwarded headers and excluded
 * paths add up; the child's mode, token sources and `keep_query_token`
 * replace this route's where it sets them.
 */
class Route {
  constructor(handle) {
    if (!(handle instanceof native.NativeRoute)) throw typeError('use verifier.route(doc) to make a Route')
    this[kNative] = handle
  }

  merge(child) {
    if (!(child instanceof Route)) throw typeError(`child must be a Route, received ${describe(child)}`)
    return new Route(call(() => this[kNative].merge(child[kNative])))
  }
}

const DECISION_FIELDS = [
  'allow', 'status', 'code', 'message', 'claim', 'mode', 'issuer', 'claims', 'setHeaders', 'removeHeaders',
  'responseHeaders', 'wwwAuthenticate', 'body', 'tokenInQuery', 'upstreamUrl', 'pending',
]

/**
 * What to do with a request (`verifier.decide`). Apply it verbatim: when
 * `allow`, delete every `removeHeaders` name from the request, set
 * `setHeaders`, and pass `upstreamUrl` on instead of the URL when it is not
 * null; otherwise answer `status` with `responseHeaders` and `body`.
 * `code` is the rejection's (or, in report_only, the would-be rejection's)
 * code; `claims` the verified claims or null. The addon hands the fields
 * over as one JSON string, parsed on first access.
 */
class Decision {
  #text
  #fields
  constructor(parts) {
    if (!Array.isArray(parts) || typeof parts[0] !== 'string') throw typeError('decisions come from verifier.decide')
    this.#text = parts[0]
    Object.defineProperty(this, kNative, { value: parts[1] })
  }

  #get() {
    if (this.#fields === undefined) this.#fields = JSON.parse(this.#text)
    return this.#fields
  }

  toJSON() {
    const f = this.#get()
    const out = {}
    for (const name of DECISION_FIELDS) out[name] = f[name]
    return out
  }

  [Symbol.for('nodejs.util.inspect.custom')]() {
    return `Decision ${JSON.stringify(this.toJSON(), null, 2)}`
  }

  static {
    for (const name of DECISION_FIELDS) {
      Object.defineProperty(Decision.prototype, name, {
        get() {
          return this.#get()[name]
        },
      })
    }
  }
}

function wrapDecision(parts) {
  return new Decision(parts)
}

const NONE = Symbol('jwtgate.none')

/**
 * decide, decideAsync, decideAfter and decideAfterAsync. `keep`: whether
 * the decision keeps what a later layer needs (`decideAfter`); the
 * middleware drops it when no `require()` layer exists.
 */
function decideWith(verifier, previous, request, route, keep, async) {
  // `previous` is NONE for a first layer.
  let result
  try {
    const handle = previous === NONE ? null : decisionHandle(previous)
    const args = requestArgs(request)
    const r = routeHandle(verifier, route)
    const n = verifier[kNative]
    result = call(() =>
      handle === null
        ? async
          ? n.decideAsync(...args, r, keep)
          : n.decide(...args, r, keep)
        : async
          ? n.decideAfterAsync(handle, ...args, r, keep)
          : n.decideAfter(handle, ...args, r, keep),
    )
  } catch (e) {
    if (async) return Promise.reject(e)
    throw e
  }
  return async ? result.then(wrapDecision, rethrow) : new Decision(result)
}

function rethrow(e) {
  throw convert(e)
}

function decisionHandle(previous) {
  if (!(previous instanceof Decision)) throw typeError(`previous must be a Decision, received ${describe(previous)}`)
  const handle = previous[kNative]
  if (handle === undefined) throw typeError('previous was decided without keeping what a later layer needs')
  return handle
}

function routeHandle(verifier, route) {
  if (route === undefined || route === null) return undefined
  return verifier.route(route)[kNative]
}

/** Headers as the addon takes them: flat `[name, value, ...]`. */
function flatHeaders(headers) {
  if (headers === undefined || headers === null) return []
  if (Array.isArray(headers)) {
    if (headers.length === 0 || typeof headers[0] === 'string') {
      if (headers.length % 2 !== 0) throw typeError('a flat headers array must pair every name with a value')
      return headers
    }
    const flat = []
    for (const [i, pair] of headers.entries()) {
      if (!Array.isArray(pair) || pair.length !== 2) {
        throw typeError(`headers[${i}] must be a [name, value] pair, received ${describe(pair)}`)
      }
      flat.push(pair[0], pair[1])
    }
    return flat
  }
  if (typeof headers !== 'object') throw typeError(`headers must be an object or an array, received ${describe(headers)}`)
  const flat = []
  for (const name of Object.keys(headers)) {
    const value = headers[name]
    if (value === undefined) continue
    if (Array.isArray(value)) for (const item of value) flat.push(name, item)
    else flat.push(name, value)
  }
  return flat
}

/** `request` as the addon's arguments: method, url, headers, peer, clientCert, now. */
function requestArgs(request) {
  if (!isPlainObject(request)) throw typeError(`request must be an object, received ${describe(request)}`)
  const { method = 'GET', url, headers, peer, clientCert } = request
  if (typeof method !== 'string') throw typeError(`request.method must be a string, received ${describe(method)}`)
  if (typeof url !== 'string') throw typeError(`request.url must be a string, received ${describe(url)}`)
  if (peer !== undefined && peer !== null && typeof peer !== 'string') {
    throw typeError(`request.peer must be an IP address string, received ${describe(peer)}`)
  }
  let cert
  if (clientCert !== undefined && clientCert !== null) {
    if (!(clientCert instanceof Uint8Array)) {
      throw typeError(`request.clientCert must be a Buffer (DER), received ${describe(clientCert)}`)
    }
    cert = Buffer.from(clientCert.buffer, clientCert.byteOffset, clientCert.byteLength)
  }
  const flat = flatHeaders(headers)
  // The addon checks this too, but a string V8 holds in pieces (built by
  // concatenation) is joined before the addon can read it: the length,
  // known to JavaScript at no cost, is checked here first.
  let total = method.length + url.length
  for (let i = 0; i < flat.length; i++) {
    const part = flat[i]
    if (typeof part !== 'string') throw typeError(`header names and values must be strings, received ${describe(part)}`)
    total += part.length
  }
  if (total > MAX_REQUEST_BYTES) throw tooLargeRequest()
  return [method, url, flat, peer ?? undefined, cert, nowOf(request)]
}

/** What `decide` accepts of a request's method, URL and headers together (the addon's bound). */
const MAX_REQUEST_BYTES = 1 << 20

function tooLargeRequest() {
  const message = `the request's method, URL and headers are over ${MAX_REQUEST_BYTES} bytes`
  return new JwtError('invalid_request', message, {
    status: 400,
    wwwAuthenticate: `Bearer error="invalid_request", error_description="${message}"`,
  })
}

function signerOptions(options, allowed) {
  if (options === undefined || options === null) return {}
  if (!isPlainObject(options)) throw typeError(`options must be an object, received ${describe(options)}`)
  for (const key of allowed) {
    const value = options[key]
    if (value !== undefined && value !== null && typeof value !== 'string') {
      throw typeError(`options.${key} must be a string, received ${describe(value)}`)
    }
  }
  return options
}

function algName(alg) {
  if (typeof alg !== 'string') throw typeError(`alg must be a string such as "RS256", received ${describe(alg)}`)
  return alg
}

/** Signs tokens with one private key. */
class Signer {
  constructor(handle) {
    if (!(handle instanceof native.NativeSigner)) {
      throw typeError('use Signer.fromPem, Signer.fromSecret, Signer.fromJwk or Signer.fromKey')
    }
    this[kNative] = handle
  }

  /** A private key in PEM (PKCS#8, PKCS#1 RSA or SEC1 EC); options `{kid, typ}`. */
  static fromPem(alg, pem, options) {
    algName(alg)
    if (typeof pem !== 'string' && !(pem instanceof Uint8Array)) {
      throw typeError(`pem must be a string or a Buffer, received ${describe(pem)}`)
    }
    const { kid, typ } = signerOptions(options, ['kid', 'typ'])
    const text = typeof pem === 'string' ? pem : Buffer.from(pem).toString('utf8')
    return new Signer(call(() => native.NativeSigner.fromPem(alg, text, kid ?? undefined, typ ?? undefined)))
  }

  /** An HMAC secret (a Buffer, or a string taken as UTF-8); options `{kid, typ}`. */
  static fromSecret(alg, secret, options) {
    algName(alg)
    let bytes
    if (typeof secret === 'string') bytes = Buffer.from(secret, 'utf8')
    else if (secret instanceof Uint8Array) bytes = Buffer.from(secret.buffer, secret.byteOffset, secret.byteLength)
    else throw typeError(`secret must be a Buffer or a string, received ${describe(secret)}`)
    const { kid, typ } = signerOptions(options, ['kid', 'typ'])
    return new Signer(call(() => native.NativeSigner.fromSecret(alg, bytes, kid ?? undefined, typ ?? undefined)))
  }

  /** A private JWK (object or JSON text); options `{alg, typ}` (alg defaults to the JWK's). */
  static fromJwk(jwk, options) {
    let text
    if (typeof jwk === 'string') text = jwk
    else if (isPlainObject(jwk)) text = JSON.stringify(jwk)
    else throw typeError(`jwk must be an object or JSON text, received ${describe(jwk)}`)
    const { alg, typ } = signerOptions(options, ['alg', 'typ'])
    return new Signer(call(() => native.NativeSigner.fromJwk(text, alg ?? undefined, typ ?? undefined)))
  }

  /** A key from `generateKey()`; options `{typ}`. */
  static fromKey(key, options) {
    if (!isPlainObject(key) || typeof key.privateKey !== 'string' || typeof key.algorithm !== 'string') {
      throw typeError('key must be an object returned by generateKey()')
    }
    const { typ } = signerOptions(options, ['typ'])
    if (key.publicJwk === null) {
      return Signer.fromSecret(key.algorithm, Buffer.from(key.privateKey, 'base64url'), { kid: key.kid, typ })
    }
    return Signer.fromPem(key.algorithm, key.privateKey, { kid: key.kid, typ })
  }

  /** The signing algorithm, e.g. `RS256`. */
  get algorithm() {
    return this[kNative].algorithm
  }

  /** The key id put in every token's header, or null. */
  get kid() {
    return this[kNative].kid ?? null
  }

  /**
   * Signs `claims` (an object). Options: `lifetimeS` sets `iat` to now and
   * `exp` to now + lifetimeS; `now` pins the clock (unix seconds or Date).
   */
  sign(claims, options) {
    if (!isPlainObject(claims)) throw typeError(`claims must be an object, received ${describe(claims)}`)
    const now = nowOf(options)
    let lifetime
    if (options && options.lifetimeS !== undefined && options.lifetimeS !== null) {
      lifetime = options.lifetimeS
      if (typeof lifetime !== 'number' || !Number.isFinite(lifetime) || lifetime < 0) {
        throw typeError(`options.lifetimeS must be a non-negative number, received ${describe(lifetime)}`)
      }
    }
    const text = JSON.stringify(claims)
    return call(() => this[kNative].sign(text, lifetime, now))
  }

  /** Signs an arbitrary JWS signing input; returns the raw signature. */
  signBytes(message) {
    let bytes
    if (typeof message === 'string') bytes = Buffer.from(message, 'utf8')
    else if (message instanceof Uint8Array) bytes = Buffer.from(message.buffer, message.byteOffset, message.byteLength)
    else throw typeError(`message must be a Buffer or a string, received ${describe(message)}`)
    return call(() => this[kNative].signBytes(bytes))
  }

  /** The public JWK (with kid, use and alg), or null for HMAC. */
  publicJwk() {
    const text = this[kNative].publicJwkJson()
    return text == null ? null : JSON.parse(text)
  }
}

/**
 * Generates a key: `{algorithm, kid, privateKey, publicJwk}`; `privateKey`
 * is PKCS#8 PEM, or for HMAC the secret as base64url (and `publicJwk` null).
 */
function generateKey(alg, options) {
  algName(alg)
  const { kid } = signerOptions(options, ['kid'])
  const key = call(() => native.generateKey(alg, kid ?? undefined))
  return {
    algorithm: key.algorithm,
    kid: key.kid,
    privateKey: key.privateKey,
    publicJwk: key.publicJwk == null ? null : JSON.parse(key.publicJwk),
  }
}

/** The public JWKS (`{keys: [...]}`) of some signers; HMAC signers are left out. */
function jwks(signers) {
  if (!Array.isArray(signers)) throw typeError(`signers must be an array, received ${describe(signers)}`)
  const keys = []
  for (const [i, signer] of signers.entries()) {
    if (!(signer instanceof Signer)) throw typeError(`signers[${i}] must be a Signer, received ${describe(signer)}`)
    const jwk = signer.publicJwk()
    if (jwk !== null) keys.push(jwk)
  }
  return { keys }
}

module.exports = {
  Verifier,
  Verified,
  Route,
  Decision,
  Signer,
  JwtError,
  CODES,
  generateKey,
  jwks,
  version: native.version(),
}
// For the middleware (not part of the API): decide without keeping the
// decision for a later layer when none exists.
Object.defineProperty(module.exports, '_decideWith', { value: decideWith })
Object.defineProperty(module.exports, '_none', { value: NONE })
Object.defineProperty(module.exports, '_exclusionPath', { value: (url) => native.exclusionPath(url) })
// Lazy, so requiring the core API does not load the middleware modules.
Object.defineProperty(module.exports, 'express', {
  enumerable: true,
  get: () => require('./express.js'),
})
Object.defineProperty(module.exports, 'fastify', {
  enumerable: true,
  get: () => require('./fastify.js'),
})
