'use strict'
// The API surface: signing and key generation for every algorithm, results,
// batches, token sources, derived verifiers, counters and argument types.

const test = require('node:test')
const assert = require('node:assert/strict')
const jwtgate = require('..')
const { Verifier, Verified, Signer, JwtError, generateKey, jwks } = jwtgate
const { fixtures } = require('./helpers.js')

const f = fixtures()
const verifier = new Verifier(f.policy)
// Every algorithm of the core's table: a new row is tested here without an edit.
const ALGS = require('../binding.js').algorithms()

test('the algorithm list is the core table, at least the RFC 7518 and RFC 8037 ones', () => {
  for (const alg of ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']) {
    assert.ok(ALGS.includes(alg), alg)
  }
  assert.equal(new Set(ALGS).size, ALGS.length)
})

test('every algorithm: generateKey, Signer, jwks and a verifier round trip', () => {
  for (const alg of ALGS) {
    const key = generateKey(alg)
    assert.equal(key.algorithm, alg)
    assert.equal(typeof key.kid, 'string')
    const signer = Signer.fromKey(key)
    assert.equal(signer.algorithm, alg)
    assert.equal(signer.kid, key.kid)
    const keys = alg.startsWith('HS')
      ? { hmac_secret: key.privateKey }
      : { jwks: jwks([signer]) }
    if (alg.startsWith('HS')) {
      assert.equal(key.publicJwk, null)
      assert.equal(signer.publicJwk(), null)
      assert.deepStrictEqual(jwks([signer]), { keys: [] })
    } else {
      assert.deepStrictEqual(signer.publicJwk(), key.publicJwk)
      assert.equal(key.publicJwk.alg, alg)
      assert.equal(key.publicJwk.kid, key.kid)
      assert.equal(key.publicJwk.d, undefined, 'a public JWK has no private part')
    }
    const v = new Verifier({ issuers: [{ algorithms: [alg], keys }] })
    const token = signer.sign({ sub: alg }, { lifetimeS: 60 })
    const result = v.verify(token)
    assert.equal(result.claims.sub, alg)
    assert.equal(result.header.alg, alg)
    assert.equal(result.header.kid, key.kid)
    // A flipped signature byte is rejected.
    const parts = token.split('.')
    const sig = Buffer.from(parts[2], 'base64url')
    sig[0] ^= 1
    assert.throws(() => v.verify(`${parts[0]}.${parts[1]}.${sig.toString('base64url')}`), { code: 'signature' })
  }
})

test('Signer.fromPem, fromSecret (string and Buffer) and fromJwk', () => {
  const key = generateKey('EdDSA', { kid: 'ed' })
  const pem = Signer.fromPem('EdDSA', key.privateKey, { kid: 'ed', typ: 'at+jwt' })
  const token = pem.sign({ sub: 'x' })
  const v = new Verifier({ issuers: [{ algorithms: ['EdDSA'], keys: { jwks: { keys: [key.publicJwk] } }, typ: 'at+jwt' }] })
  assert.equal(v.verify(token).header.typ, 'at+jwt')
  assert.throws(() => v.verify(Signer.fromKey(key).sign({ sub: 'x' })), { code: 'header' })

  const secret = 'a-secret-that-is-at-least-32-bytes!!'
  const a = Signer.fromSecret('HS256', secret).sign({ n: 1 })
  const b = Signer.fromSecret('HS256', Buffer.from(secret)).sign({ n: 1 })
  assert.equal(a, b)
  assert.throws(() => Signer.fromSecret('HS256', 'short'), { name: 'JwtError', code: 'key' })

  const jwk = { kty: 'oct', k: Buffer.from(secret).toString('base64url'), alg: 'HS256', kid: 'o' }
  assert.equal(Signer.fromJwk(jwk).kid, 'o')
  assert.equal(Signer.fromJwk(JSON.stringify(jwk)).algorithm, 'HS256')
  assert.throws(() => Signer.fromJwk({ kty: 'oct', k: 'AAAA' }), (e) => e instanceof JwtError)
  assert.throws(() => Signer.fromPem('RS256', 'not a pem'), (e) => e instanceof JwtError && e.code === 'key' && e.status === null)
})

test('sign: lifetimeS and now set iat and exp', () => {
  const token = f.signer.sign({ sub: 'a' }, { lifetimeS: 100, now: 1700000000 })
  const payload = JSON.parse(Buffer.from(token.split('.')[1], 'base64url'))
  assert.deepStrictEqual(payload, { sub: 'a', iat: 1700000000, exp: 1700000100 })
  const dated = f.signer.sign({ sub: 'a' }, { lifetimeS: 1, now: new Date(1700000000500) })
  assert.equal(JSON.parse(Buffer.from(dated.split('.')[1], 'base64url')).iat, 1700000000)
})

test('verify: result shape, now pinning, Buffer tokens', () => {
  const token = f.good()
  const v = verifier.verify(token)
  assert.ok(v instanceof Verified)
  assert.deepStrictEqual(Object.keys(v.toJSON()), ['claims', 'header', 'issuer', 'headers'])
  assert.equal(v.claims.dept, 'IT')
  assert.equal(v.header.kid, 'k1')
  assert.equal(v.issuer, f.ISSUER)
  assert.deepStrictEqual(Object.keys(v.headers).sort(), ['X-Dept', 'X-JWT-Payload', 'X-User'])
  assert.equal(v.headers['X-Dept'], 'IT')
  const { claims, header, issuer, headers } = v
  assert.ok(claims && header && issuer && headers)
  assert.equal(verifier.verify(Buffer.from(token)).claims.sub, 'ada')
  const exp = v.claims.exp
  assert.throws(() => verifier.verify(token, { now: exp + 1 }), { code: 'expired' })
  assert.throws(() => verifier.verify(token, { now: new Date((exp + 1) * 1000) }), { code: 'expired' })
  assert.equal(verifier.verify(token, { now: exp - 1 }).claims.sub, 'ada')
})

test('verifyMany: results in order, rejections in place', () => {
  const good = [f.good({ n: 1 }), f.good({ n: 2 }), f.good({ n: 3 })]
  const rejects = f.rejects()
  const results = verifier.verifyMany([good[0], rejects.expired, good[1], rejects.claim, good[2]])
  assert.equal(results.length, 5)
  assert.equal(results[0].claims.n, 1)
  assert.equal(results[1].code, 'expired')
  assert.equal(results[2].claims.n, 2)
  assert.equal(results[3].code, 'claim')
  assert.equal(results[3].claim, 'dept')
  assert.equal(results[4].claims.n, 3)
  assert.deepStrictEqual(verifier.verifyMany([]), [])
})

test('findToken follows token_sources in order (the core does the parsing)', () => {
  assert.equal(verifier.findToken({ authorization: 'Bearer abc' }), 'abc')
  assert.equal(verifier.findToken({ authorization: 'bearer  abc ' }), 'abc')
  assert.equal(verifier.findToken({ authorization: 'Basic abc' }), null)
  assert.equal(verifier.findToken({ cookie: 'a=1; access_token=fromcookie' }), 'fromcookie')
  assert.equal(verifier.findToken({}, 'x=1&access_token=a%2Eb'), 'a.b')
  assert.equal(verifier.findToken({ authorization: 'Bearer h', cookie: 'access_token=c' }, 'access_token=q'), 'h')
  assert.equal(verifier.findToken({ cookie: 'access_token=c' }, 'access_token=q'), 'c')
  assert.equal(verifier.findToken({ authorization: ['Bearer x'] }), null)
  assert.equal(verifier.findToken({}, null), null)
  const headerOnly = new Verifier({ ...f.policy, token_sources: [{ header: 'X-Token' }] })
  assert.equal(headerOnly.findToken({ 'x-token': 'tok' }, 'access_token=q'), 'tok')
})

test('withClaims narrows the policy; the policy\'s own rules still hold', () => {
  const orders = verifier.withClaims({ subscribedAPIs: { contains_all: ['orders'], required: true } })
  assert.ok(orders instanceof Verifier)
  assert.equal(orders.verify(f.good({ subscribedAPIs: ['orders', 'billing'] })).claims.sub, 'ada')
  assert.throws(() => orders.verify(f.good({ subscribedAPIs: ['billing'] })), { code: 'claim', claim: 'subscribedAPIs', status: 403 })
  assert.throws(() => orders.verify(f.good()), { code: 'claim', claim: 'subscribedAPIs' })
  // The original verifier is unchanged.
  assert.equal(verifier.verify(f.good()).claims.sub, 'ada')
  // A route rule on a claim the policy already checks holds together with it.
  const hr = verifier.withClaims({ dept: { equals: 'HR' } })
  assert.throws(() => hr.verify(f.good()), { code: 'claim', claim: 'dept' })
  assert.throws(() => hr.verify(f.good({ dept: 'HR' })), { code: 'claim', claim: 'dept' })
  assert.throws(() => verifier.withClaims({ x: { bogus: 1 } }), { code: 'policy' })
  assert.deepStrictEqual(orders.policy.issuers[0].claims.subscribedAPIs.contains_all, ['orders'])
})

test('stats: the core counters', () => {
  const v = new Verifier(f.policy)
  const token = f.good()
  v.verify(token)
  v.verify(token)
  assert.throws(() => v.verify('x.y'))
  const s = v.stats()
  assert.equal(s.verifications.valid, 2)
  assert.equal(s.verifications.malformed, 1)
  assert.equal(s.cache_hits, 1)
  assert.equal(s.cached_tokens, 1)
  assert.deepStrictEqual(s.key_sets, [])
  v.clearCache()
  assert.equal(v.stats().cached_tokens, 0)
})

test('a policy file path and JSON text load like an object', () => {
  const fs = require('node:fs')
  const os = require('node:os')
  const path = require('node:path')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jwtgate-'))
  try {
    fs.writeFileSync(path.join(dir, 'jwks.json'), JSON.stringify({ keys: [f.key.publicJwk] }))
    const policy = { ...f.policy, issuers: [{ ...f.policy.issuers[0], keys: { jwks_file: 'jwks.json' } }] }
    fs.writeFileSync(path.join(dir, 'policy.json'), JSON.stringify(policy))
    const fromFile = new Verifier(path.join(dir, 'policy.json'))
    assert.equal(fromFile.verify(f.good()).claims.sub, 'ada')
    // Derived verifiers resolve relative key files against the policy's directory too.
    assert.equal(fromFile.withClaims({ n: { equals: 1, required: true } }).verify(f.good({ n: 1 })).claims.n, 1)
    assert.equal(new Verifier(JSON.stringify(f.policy)).verify(f.good()).claims.sub, 'ada')
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

const notStrings = [undefined, null, 42, true, {}, [], () => {}, Symbol('s'), 10n]

test('bad argument types throw TypeError, never crash', async () => {
  const isTypeError = (e) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG_TYPE'
  for (const bad of [undefined, null, 42, true, [], () => {}, Symbol('s')]) {
    assert.throws(() => new Verifier(bad), isTypeError)
  }
  for (const bad of notStrings) {
    assert.throws(() => verifier.verify(bad), isTypeError)
    await assert.rejects(verifier.verifyAsync(bad), isTypeError)
    assert.throws(() => verifier.verifyMany([f.good(), bad]), isTypeError)
  }
  for (const bad of ['1', NaN, Infinity, {}, [], true, 10n]) {
    assert.throws(() => verifier.verify(f.good(), { now: bad }), isTypeError)
    await assert.rejects(verifier.verifyAsync(f.good(), { now: bad }), isTypeError)
  }
  assert.throws(() => verifier.verify(f.good(), 5), isTypeError)
  for (const bad of [undefined, null, 'x', 5, new Set()]) assert.throws(() => verifier.verifyMany(bad), isTypeError)
  for (const bad of [undefined, null, 'x', 5, []]) assert.throws(() => verifier.findToken(bad), isTypeError)
  assert.throws(() => verifier.findToken({}, 5), isTypeError)
  for (const bad of [undefined, null, 'x', 5, []]) assert.throws(() => verifier.withClaims(bad), isTypeError)
  for (const bad of notStrings) assert.throws(() => Signer.fromPem(bad, 'pem'), isTypeError)
  assert.throws(() => Signer.fromPem('RS256', 5), isTypeError)
  assert.throws(() => Signer.fromSecret('HS256', 5), isTypeError)
  assert.throws(() => Signer.fromJwk(5), isTypeError)
  assert.throws(() => Signer.fromPem('RS256', 'x', { kid: 5 }), isTypeError)
  assert.throws(() => Signer.fromPem('NOPE', 'x'), isTypeError)
  assert.throws(() => generateKey('none'), isTypeError)
  assert.throws(() => generateKey(5), isTypeError)
  for (const bad of [undefined, null, 'x', 5, []]) assert.throws(() => f.signer.sign(bad), isTypeError)
  assert.throws(() => f.signer.sign({}, { lifetimeS: -1 }), isTypeError)
  assert.throws(() => f.signer.sign({}, { lifetimeS: '5' }), isTypeError)
  assert.throws(() => f.signer.signBytes(5), isTypeError)
  assert.throws(() => jwks('x'), isTypeError)
  assert.throws(() => jwks([{}]), isTypeError)
  assert.throws(() => new Signer({}), isTypeError)
})

test('the raw addon rejects wrong types with an error, not a crash', () => {
  const native = require('../binding.js')
  const raw = native.NativeVerifier.fromJson(JSON.stringify(f.policy))
  for (const bad of [42, {}, null, undefined]) assert.throws(() => raw.verify(bad), Error)
  assert.throws(() => raw.verifyMany('x'), Error)
  assert.equal(raw.findToken('x'), null)
  assert.throws(() => native.NativeVerifier.fromJson(5), Error)
  assert.throws(() => native.NativeSigner.fromSecret('HS256', 'not a buffer'), Error)
  assert.equal(verifier.verify(f.good()).claims.sub, 'ada', 'the process is still fine')
})

test('policy, route and claim documents are strict JSON: a name given twice is refused', () => {
  const text = JSON.stringify(f.policy)
  const twice = `${text.slice(0, -1)},"max_token_bytes":100,"max_token_bytes":200}`
  assert.throws(() => new Verifier(twice), (e) => e instanceof JwtError && e.code === 'policy' && /duplicate/.test(e.message))
  const native = require('../binding.js')
  const raw = native.NativeVerifier.fromJson(text)
  assert.throws(() => raw.route('{"mode":"off","mode":"required"}'), /duplicate/)
  assert.throws(() => raw.withClaims('{"sub":{"equals":"a"},"sub":{"equals":"b"}}'), /duplicate/)
  assert.ok(raw.route('{"mode":"off"}'))
  const secret = Buffer.from('a-secret-that-is-at-least-32-bytes!!').toString('base64url')
  const jwk = JSON.stringify({ kty: 'oct', k: secret, alg: 'HS256' })
  assert.equal(Signer.fromJwk(jwk).algorithm, 'HS256')
  assert.throws(() => Signer.fromJwk(`${jwk.slice(0, -1)},"alg":"HS384"}`), /duplicate/)
})

test('huge and hostile inputs get a code, not a hang', () => {
  assert.throws(() => verifier.verify('a'.repeat(10_000_000)), { code: 'too_large' })
  assert.throws(() => verifier.verify(''), { code: 'malformed' })
  assert.throws(() => verifier.verify('\u0000.\u0000.\u0000'), { code: 'malformed' })
  assert.throws(() => verifier.verify('é.é.é'), { code: 'malformed' })
  const deep = Buffer.from('['.repeat(100000)).toString('base64url')
  assert.throws(() => verifier.verify(`${deep}.${deep}.AA`), JwtError)
})

test('ESM entry points export the same objects', async () => {
  const esm = await import('../index.mjs')
  assert.equal(esm.Verifier, Verifier)
  assert.equal(esm.default, jwtgate)
  const express = await import('../express.mjs')
  assert.equal(express.default, require('../express.js'))
  const fastify = await import('../fastify.mjs')
  assert.equal(fastify.default, require('../fastify.js'))
  assert.equal(jwtgate.express, require('../express.js'))
})

test('a 100 MB token or header is refused by its length, before any copy', async () => {
  // Built from a Buffer so V8 holds it flat, as an HTTP parser hands it over.
  const huge = Buffer.alloc(100_000_000, 0x61).toString('latin1')
  const pieces = 'a'.repeat(100_000_000) // held in pieces by V8
  const hugeBuffer = Buffer.alloc(100_000_000, 0x61)
  const timed = async (what, fn) => {
    const start = performance.now()
    await fn()
    const ms = performance.now() - start
    assert.ok(ms < 50, `${what} took ${ms.toFixed(1)} ms`)
  }
  for (const token of [huge, pieces]) {
    await timed('verify', () => assert.throws(() => verifier.verify(token), { code: 'too_large' }))
    await timed('verifyAsync', () => assert.rejects(verifier.verifyAsync(token), { code: 'too_large' }))
    await timed('verifyMany', () => assert.equal(verifier.verifyMany([token])[0].code, 'too_large'))
    await timed('decide', () =>
      assert.throws(() => verifier.decide({ url: '/', headers: { authorization: `Bearer ${token}` } }), {
        code: 'invalid_request',
        status: 400,
      }),
    )
    await timed('decideAsync', () =>
      assert.rejects(verifier.decideAsync({ url: '/', headers: [['authorization', token]] }), { code: 'invalid_request' }),
    )
    await timed('decide url', () => assert.throws(() => verifier.decide({ url: token }), { code: 'invalid_request' }))
    await timed('findToken', () => assert.throws(() => verifier.findToken({ authorization: token }), { code: 'invalid_request' }))
  }
  await timed('verify Buffer', () => assert.throws(() => verifier.verify(hugeBuffer), { code: 'too_large' }))
  // Just over the limit is too_large with the core's own message.
  const limit = verifier.policy.max_token_bytes
  assert.throws(() => verifier.verify('a'.repeat(limit + 1)), (e) => e.code === 'too_large' && /longer than 4096 bytes/.test(e.message))
  // A string within the limit in UTF-16 units is still checked in bytes by the core.
  assert.throws(() => verifier.verify('é'.repeat(limit)), { code: 'malformed' })
  // A request just under the bound is decided.
  const d = verifier.decide({ url: '/', headers: { 'x-big': 'a'.repeat(1000000) } })
  assert.equal(d.code, 'missing_token')
})

test('decide: request shapes, Route, Decision fields', async () => {
  const token = f.good({ scope: 'a b' })
  const shapes = [
    { authorization: `Bearer ${token}`, 'x-user': 'mallory' },
    [['Authorization', `Bearer ${token}`], ['X-User', 'mallory']],
    ['Authorization', `Bearer ${token}`, 'X-User', 'mallory'],
  ]
  for (const headers of shapes) {
    const d = verifier.decide({ method: 'GET', url: '/orders?x=1', headers })
    assert.equal(d.allow, true)
    assert.equal(d.status, 200)
    assert.equal(d.code, null)
    assert.equal(d.mode, 'required')
    assert.equal(d.issuer, f.ISSUER)
    assert.equal(d.claims.sub, 'ada')
    assert.deepStrictEqual(d.removeHeaders.sort(), ['x-dept', 'x-jwt-payload', 'x-user'])
    assert.deepStrictEqual(Object.fromEntries(d.setHeaders)['X-User'], 'ada')
    assert.equal(d.upstreamUrl, null)
    assert.equal(d.tokenInQuery, false)
    assert.equal(d.pending, false)
    assert.equal(d.body, null)
    assert.deepStrictEqual(Object.keys(d.toJSON()), [
      'allow', 'status', 'code', 'message', 'claim', 'mode', 'issuer', 'claims', 'setHeaders', 'removeHeaders',
      'responseHeaders', 'wwwAuthenticate', 'body', 'tokenInQuery', 'upstreamUrl', 'pending',
    ])
  }
  // Other spellings of a forwarded name in the request are listed too (a
  // CGI upstream reads X_User as X-User).
  const spelled = verifier.decide({ url: '/', headers: [['X_User', 'mallory'], ['x-jwt_payload', 'x'], ['X-Other', 'y']] })
  assert.deepStrictEqual(spelled.removeHeaders.slice(-2), ['x_user', 'x-jwt_payload'])
  assert.ok(!spelled.removeHeaders.includes('x-other'))
  // Repeated values of one header (Node's string[]) stay repeated.
  const two = verifier.decide({ url: '/', headers: { authorization: [`Bearer ${token}`, `Bearer ${token}`] } })
  assert.equal(two.code, 'invalid_request')

  const scoped = verifier.route({ scopes: ['a'] })
  const more = scoped.merge(verifier.route({ scopes: ['c'], mode: 'report_only' }))
  assert.ok(more instanceof jwtgate.Route)
  assert.equal(verifier.decide({ url: '/', headers: { authorization: `Bearer ${token}` } }, scoped).allow, true)
  const report = verifier.decide({ url: '/', headers: { authorization: `Bearer ${token}` } }, more)
  assert.deepStrictEqual([report.allow, report.status, report.code, report.claims, report.mode], [true, 200, 'claim', null, 'report_only'])
  // A route document works in place of a Route.
  assert.equal(verifier.decide({ url: '/h/x' }, { exclude: ['/h'] }).mode, 'off')

  // The query token is cut from the upstream URL unless keep_query_token.
  const q = { url: `/a?x=1&access_token=${token}`, headers: {} }
  assert.equal(verifier.decide(q).upstreamUrl, '/a?x=1')
  assert.equal(verifier.decide(q).tokenInQuery, true)
  assert.equal(verifier.decide(q, { keep_query_token: true }).upstreamUrl, null)

  // decideAfter reuses the first verification.
  const v = new Verifier({ ...f.policy, cache: { max_entries: 0 } })
  const request = { url: '/', headers: { authorization: `Bearer ${token}` } }
  const first = v.decide(request)
  const later = v.decideAfter(first, request, v.route({ scopes: ['b'] }))
  const laterAsync = await v.decideAfterAsync(first, request, v.route({ scopes: ['z'] }))
  assert.equal(later.allow, true)
  assert.equal(laterAsync.code, 'claim')
  assert.equal(v.stats().verifications.valid, 1)

  // The clock and the peer.
  assert.equal(verifier.decide({ ...request, now: f.claims().exp ?? 4102444800 }).code, 'expired')
  assert.equal(verifier.decide({ ...request, peer: '127.0.0.1', clientCert: Buffer.from([1]) }).allow, true)
})

test('decide: bad arguments are TypeErrors (async: rejections), policy errors name the field', async () => {
  const isTypeError = (e) => e instanceof TypeError
  const bad = [
    undefined, null, 'x', 5, [],
    { url: 5 }, { url: '/', method: 5 }, { url: '/', headers: 5 }, { url: '/', headers: [['a']] },
    { url: '/', headers: ['a'] }, { url: '/', headers: { a: 5 } }, { url: '/', headers: [['a', 5]] },
    { url: '/', peer: 'not an ip' }, { url: '/', peer: 5 }, { url: '/', clientCert: 'x' }, { url: '/', now: NaN },
  ]
  for (const request of bad) {
    assert.throws(() => verifier.decide(request), isTypeError, JSON.stringify(request))
    await assert.rejects(verifier.decideAsync(request), isTypeError, JSON.stringify(request))
  }
  const d = verifier.decide({ url: '/' })
  for (const previous of [undefined, null, {}, 'x']) {
    assert.throws(() => verifier.decideAfter(previous, { url: '/' }), isTypeError)
    await assert.rejects(verifier.decideAfterAsync(previous, { url: '/' }), isTypeError)
  }
  assert.throws(() => verifier.decideAfter(d, 5), isTypeError)
  for (const doc of [5, 'x', []]) assert.throws(() => verifier.route(doc), isTypeError)
  assert.throws(() => verifier.decide({ url: '/' }, 5), isTypeError)
  assert.throws(() => new jwtgate.Route({}), isTypeError)
  assert.throws(() => new jwtgate.Decision({}), isTypeError)
  assert.throws(() => verifier.route({}).merge({}), isTypeError)
  for (const doc of [{ claim: {} }, { mode: 'sometimes' }, { exclude: ['health'] }, { claims_to_headers: { sub: 'X-User' } }]) {
    assert.throws(() => verifier.route(doc), (e) => {
      assert.ok(e instanceof JwtError)
      assert.equal(e.code, 'policy')
      assert.equal(e.status, null)
      assert.doesNotMatch(e.message, /[{}]|jwtgate:/, 'a plain message')
      return true
    })
  }
  const r = verifier.route({ claims_to_headers: { n: 'X-N' } })
  assert.throws(() => r.merge(verifier.route({ claims_to_headers: { m: 'X-N' } })), { code: 'policy' })
  assert.equal(verifier.verify(f.good()).claims.sub, 'ada', 'the process is still fine')
})
