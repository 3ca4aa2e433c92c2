'use strict'
// The HTTP checks both the Express and the Fastify tests run against a real
// server on 127.0.0.1: `start(options)` returns {base, close}. The app under
// test serves GET /me (protected; echoes auth and the forwarded headers it
// saw), GET /health (excluded by prefix), GET /public (per-route opt-out),
// GET /orders (per-route claim rule on subscribedAPIs).

const test = require('node:test')
const assert = require('node:assert/strict')
const { fixtures, unreachableJwksPolicy, get, EXPECTED_REJECTIONS } = require('./helpers.js')


async function expectReject(res, code, status, claim) {
  assert.equal(res.status, status, `${code}: status`)
  const challenge = res.headers.get('www-authenticate')
  assert.ok(challenge, `${code}: WWW-Authenticate`)
  const expected = { claim: /^Bearer error="insufficient_scope"/, jwks_unavailable: /^Bearer$/ }
  assert.match(challenge, expected[code] ?? /^Bearer error="invalid_token"/)
  assert.match(res.headers.get('content-type'), /application\/json/)
  const body = await res.json()
  assert.equal(body.error, code)
  assert.equal(typeof body.message, 'string')
  if (claim !== undefined) assert.equal(body.claim, claim ?? undefined)
}

/** Registers the shared HTTP tests for one framework. */
function httpSuite(name, start) {
  const f = fixtures()
  let app
  let base

  test.describe(`${name}: a real server on 127.0.0.1`, () => {
    test.before(async () => {
      app = await start(f.policy, {})
      base = app.base
    })
    test.after(() => app.close())

    test.it('accepts a Bearer token: auth on the request, forwarded headers set', async () => {
      const res = await get(`${base}/me`, { authorization: `Bearer ${f.good({ n: 7 })}`, 'x-user': 'mallory', 'X-JWT-Payload': 'spoofed' })
      assert.equal(res.status, 200)
      const body = await res.json()
      assert.equal(body.auth.sub, 'ada')
      assert.equal(body.auth.n, 7)
      assert.equal(body.issuer, f.ISSUER)
      assert.equal(body.headers['x-user'], 'ada', 'the token forwards X-User, replacing the client value')
      assert.equal(body.headers['x-dept'], 'IT')
      assert.deepStrictEqual(JSON.parse(Buffer.from(body.headers['x-jwt-payload'], 'base64url')).n, 7)
    })

    test.it('a request without a token: 401, WWW-Authenticate: Bearer', async () => {
      const res = await get(`${base}/me`)
      assert.equal(res.status, 401)
      assert.equal(res.headers.get('www-authenticate'), 'Bearer')
      assert.equal((await res.json()).error, 'missing_token')
      const wrongScheme = await get(`${base}/me`, { authorization: `Basic ${f.good()}` })
      assert.equal(wrongScheme.status, 401)
      assert.equal((await wrongScheme.json()).error, 'missing_token')
    })

    for (const [code, [status, claim]] of Object.entries(EXPECTED_REJECTIONS)) {
      test.it(`rejects ${code} with ${status}`, async () => {
        const token = f.rejects()[code]
        await expectReject(await get(`${base}/me`, { authorization: `Bearer ${token}` }), code, status, claim)
      })
    }

    test.it('the cookie and query sources', async () => {
      const byCookie = await get(`${base}/me`, { cookie: `theme=dark; access_token=${f.good({ via: 'cookie' })}` })
      assert.equal(byCookie.status, 200)
      assert.equal((await byCookie.json()).auth.via, 'cookie')
      const byQuery = await get(`${base}/me?x=1&access_token=${encodeURIComponent(f.good({ via: 'query' }))}`)
      assert.equal(byQuery.status, 200)
      assert.equal((await byQuery.json()).auth.via, 'query')
      const badCookie = await get(`${base}/me`, { cookie: `access_token=${f.rejects().expired}` })
      await expectReject(badCookie, 'expired', 401, 'exp')
      // The header comes first in token_sources.
      const both = await get(`${base}/me?access_token=${f.rejects().expired}`, { authorization: `Bearer ${f.good({ via: 'header' })}` })
      assert.equal((await both.json()).auth.via, 'header')
    })

    test.it('excluded prefix and per-route opt-out need no token', async () => {
      for (const path of ['/health', '/health/live', '/public']) {
        const res = await get(`${base}${path}`, { 'x-user': 'mallory' })
        assert.equal(res.status, 200, path)
        const body = await res.json()
        assert.equal(body.auth, null, path)
        assert.equal(body.headers['x-user'], undefined, `${path}: a client cannot set a forwarded header`)
      }
      const healthz = await get(`${base}/healthz`)
      assert.equal(healthz.status, 401, '/healthz is not under /health')
    })

    test.it('per-route claim rule: subscribedAPIs must contain the API (403 with the claim)', async () => {
      const ok = await get(`${base}/orders`, { authorization: `Bearer ${f.good({ subscribedAPIs: ['orders', 'billing'] })}` })
      assert.equal(ok.status, 200)
      assert.deepStrictEqual((await ok.json()).auth.subscribedAPIs, ['orders', 'billing'])
      const no = await get(`${base}/orders`, { authorization: `Bearer ${f.good({ subscribedAPIs: ['billing'] })}` })
      await expectReject(no, 'claim', 403, 'subscribedAPIs')
      const missing = await get(`${base}/orders`, { authorization: `Bearer ${f.good()}` })
      await expectReject(missing, 'claim', 403, 'subscribedAPIs')
      // The policy's own rules still apply on the route.
      const hr = await get(`${base}/orders`, { authorization: `Bearer ${f.good({ dept: 'HR', subscribedAPIs: ['orders'] })}` })
      await expectReject(hr, 'claim', 403, 'dept')
    })
  })

  test.describe(`${name}: hooks and options`, () => {
    test.it('onError answers rejections itself', async () => {
      const seen = []
      const app2 = await start(f.policy, { onError: true, seen })
      try {
        const res = await get(`${app2.base}/me`, { authorization: `Bearer ${f.rejects().expired}` })
        assert.equal(res.status, 418)
        assert.deepStrictEqual(await res.json(), { custom: 'expired', status: 401, claim: 'exp' })
        const none = await get(`${app2.base}/me`)
        assert.equal(none.status, 418)
        assert.equal((await none.json()).custom, 'missing_token')
        assert.deepStrictEqual(seen, ['expired', 'missing_token'])
      } finally {
        await app2.close()
      }
    })

    test.it('jwks_unavailable answers 503 (keys fetched asynchronously)', async () => {
      const app3 = await start(await unreachableJwksPolicy(), {})
      try {
        const token = f.signer.sign({ iss: f.ISSUER, sub: 'ada' }, { lifetimeS: 60 })
        await expectReject(await get(`${app3.base}/me`, { authorization: `Bearer ${token}` }), 'jwks_unavailable', 503, null)
      } finally {
        await app3.close()
      }
    })

    test.it('report_only: failures pass without identity; onDecision sees every decision', async () => {
      const decisions = []
      const app5 = await start(f.policy, { mode: 'report_only', decisions })
      try {
        const bad = await get(`${app5.base}/me`, { authorization: `Bearer ${f.rejects().expired}`, 'x-user': 'mallory' })
        assert.equal(bad.status, 200)
        const body = await bad.json()
        assert.equal(body.auth, null)
        assert.equal(body.headers['x-user'], undefined, 'no identity is forwarded')
        const none = await get(`${app5.base}/me`)
        assert.equal(none.status, 200)
        const good = await get(`${app5.base}/me`, { authorization: `Bearer ${f.good()}` })
        assert.equal((await good.json()).headers['x-user'], 'ada')
        assert.deepStrictEqual(decisions, [
          ['expired', 'report_only', '/me'],
          ['missing_token', 'report_only', '/me'],
          [null, 'report_only', '/me'],
        ])
      } finally {
        await app5.close()
      }
    })

    test.it('a query token reaches the handler cut from the URL', async () => {
      const decisions = []
      const app6 = await start(f.policy, { decisions })
      try {
        const res = await get(`${app6.base}/me?x=1&access_token=${f.good()}&y=2`)
        assert.equal(res.status, 200)
        assert.deepStrictEqual(decisions, [[null, 'required', '/me?x=1&y=2']])
      } finally {
        await app6.close()
      }
    })

    test.it('async verification on the pool accepts and rejects the same', async () => {
      const app4 = await start(f.policy, { async: true })
      try {
        const ok = await get(`${app4.base}/me`, { authorization: `Bearer ${f.good()}` })
        assert.equal(ok.status, 200)
        assert.equal((await ok.json()).headers['x-user'], 'ada')
        await expectReject(await get(`${app4.base}/me`, { authorization: `Bearer ${f.rejects().claim}` }), 'claim', 403, 'dept')
      } finally {
        await app4.close()
      }
    })
  })
}

/** The body of GET /me and friends. */
function echo(auth, verified, headers) {
  return {
    auth: auth ?? null,
    issuer: verified ? verified.issuer : null,
    headers: { 'x-user': headers['x-user'], 'x-dept': headers['x-dept'], 'x-jwt-payload': headers['x-jwt-payload'] },
  }
}

module.exports = { httpSuite, echo }
