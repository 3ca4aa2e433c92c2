'use strict'
// Every error code reaches JavaScript as a JwtError with the right fields.

const test = require('node:test')
const assert = require('node:assert/strict')
const { Verifier, JwtError, CODES } = require('..')
const { fixtures, unreachableJwksPolicy, EXPECTED_REJECTIONS } = require('./helpers.js')

const f = fixtures()
const verifier = new Verifier(f.policy)

test('the code list is the stable set of docs/policy.md, in C enum order', () => {
  assert.deepStrictEqual(
    [...CODES],
    ['malformed', 'too_large', 'header', 'algorithm', 'key_not_found', 'signature', 'expired',
      'not_yet_valid', 'issuer', 'audience', 'claim', 'jwks_unavailable', 'policy', 'missing_token',
      'missing_claim', 'invalid_request', 'invalid_dpop_proof', 'use_dpop_nonce', 'dpop_binding', 'mtls_binding',
      'replay_store_unavailable', 'key', 'invalid_argument', 'serialization'],
  )
  assert.equal(JwtError.CODES, CODES)
})

function check(e, code, status, claim) {
  assert.ok(e instanceof JwtError, `not a JwtError: ${e}`)
  assert.ok(e instanceof Error)
  assert.equal(e.name, 'JwtError')
  assert.equal(e.code, code, e.message)
  assert.equal(e.status, status)
  assert.equal(e.claim, claim)
  assert.equal(typeof e.message, 'string')
  assert.ok(e.message.length > 0)
  const kind = code === 'claim' ? 'insufficient_scope' : 'invalid_token'
  if (code === 'jwks_unavailable') {
    // A server-side failure blames no token (RFC 6750 has no code for it).
    assert.equal(e.wwwAuthenticate, 'Bearer')
  } else if (status !== null) {
    assert.match(e.wwwAuthenticate, new RegExp(`^Bearer error="${kind}", error_description="[ -~]*"$`))
  }
  return true
}


for (const [code, token] of Object.entries(f.rejects())) {
  test(`${code}: sync, async and batch give the same fields`, async () => {
    const [status, claim] = EXPECTED_REJECTIONS[code]
    let syncError
    assert.throws(() => verifier.verify(token), (e) => check((syncError = e), code, status, e.claim))
    if (claim !== null) assert.equal(syncError.claim, claim)
    await assert.rejects(verifier.verifyAsync(token), (e) => check(e, code, status, syncError.claim))
    const [batch] = verifier.verifyMany([token])
    check(batch, code, status, syncError.claim)
    assert.equal(batch.wwwAuthenticate, syncError.wwwAuthenticate)
  })
}

test('a valid token verifies (the fixtures are not all rejects)', () => {
  const v = verifier.verify(f.good())
  assert.equal(v.claims.sub, 'ada')
  assert.equal(v.issuer, f.ISSUER)
  assert.equal(v.headers['X-User'], 'ada')
})

test('jwks_unavailable: 503 when the key set cannot be fetched', async () => {
  const v = new Verifier(await unreachableJwksPolicy())
  assert.equal(v.hasRemoteKeys, true)
  assert.equal(verifier.hasRemoteKeys, false)
  const token = f.signer.sign({ iss: f.ISSUER, sub: 'ada' }, { lifetimeS: 60 })
  await assert.rejects(v.verifyAsync(token), (e) => check(e, 'jwks_unavailable', 503, null))
  assert.throws(() => v.verify(token), (e) => check(e, 'jwks_unavailable', 503, null))
})

test('policy: an invalid policy throws a JwtError with status null', () => {
  assert.throws(() => new Verifier({ issuers: [], surprise: true }), (e) => check(e, 'policy', null, null) && /surprise/.test(e.message))
  assert.throws(() => new Verifier('{"issuers": [{"algorithms": ["none"], "keys": {}}]}'), (e) => check(e, 'policy', null, null))
  assert.throws(() => new Verifier('{not json'), (e) => check(e, 'policy', null, null))
  assert.throws(() => new Verifier('/nonexistent/policy.json'), (e) => check(e, 'policy', null, null))
})

test('WWW-Authenticate cannot be broken by what a token carries', () => {
  const token = f.signer.sign({ ...f.claims(), dept: 'HR"\r\nX-Evil: 1' }, { lifetimeS: 60 })
  assert.throws(() => verifier.verify(token), (e) => {
    check(e, 'claim', 403, 'dept')
    assert.doesNotMatch(e.wwwAuthenticate, /[\r\n]/)
    return true
  })
})

test('missing_token, missing_claim and invalid_request: decisions and errors carry them', () => {
  const none = verifier.decide({ method: 'GET', url: '/', headers: {} })
  assert.deepStrictEqual([none.allow, none.status, none.code, none.wwwAuthenticate], [false, 401, 'missing_token', 'Bearer'])
  assert.equal(JSON.parse(none.body).error, 'missing_token')

  const noSub = f.signer.sign({ iss: f.ISSUER, aud: f.AUDIENCE, dept: 'IT' }, { lifetimeS: 60 })
  assert.throws(() => verifier.verify(noSub), (e) => check(e, 'missing_claim', 401, 'sub'))
  const d = verifier.decide({ method: 'GET', url: '/', headers: { authorization: `Bearer ${noSub}` } })
  assert.deepStrictEqual([d.status, d.code, d.claim], [401, 'missing_claim', 'sub'])

  const two = verifier.decide({ method: 'GET', url: '/', headers: [['Authorization', `Bearer ${f.good()}`], ['authorization', 'Bearer x']] })
  assert.deepStrictEqual([two.allow, two.status, two.code], [false, 400, 'invalid_request'])
  assert.match(two.wwwAuthenticate, /^Bearer error="invalid_request", error_description="[ -~]*"$/)
  for (const code of ['missing_token', 'missing_claim', 'invalid_request']) assert.ok(CODES.includes(code), code)
})
