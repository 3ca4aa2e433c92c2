'use strict'
// The shared gateway vectors (tests/gateway/*.json, see
// core/examples/gen_gateway_vectors.rs) through
//   (a) verifier.decide / decideAsync / decideAfter directly,
//   (b) a real Express server: the case's first route level on
//       app.use(jwtgate(...)), each further level one auth.require(...)
//       nested in the previous (Express nests),
//   (c) a real Fastify server: the first level on the plugin, the further
//       levels merged with Route.merge into the route's config.jwtgate
//       (Fastify has one onRequest hook per route, so it does not nest).
// Each server's echo route answers the URL and headers it received; the
// test compares status, code, WWW-Authenticate, the upstream headers and
// the upstream URL with the case's expectations.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const http = require('node:http')
const path = require('node:path')
const express = require('express')
const Fastify = require('fastify')
const { Verifier, Decision } = require('..')
const jwtgate = require('../express.js')
const plugin = require('../fastify.js')
const { listen } = require('../../tests/support/node')

const dir = path.join(__dirname, '..', '..', 'tests', 'gateway')
// The sender-constrained cases (DPoP schemes and proofs, the RFC 9728
// metadata the gateway answers itself) run the same way.
const dpopFile = path.join(__dirname, '..', '..', 'tests', 'dpop', 'gateway_dpop.json')
const files = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => path.join(dir, f))
  .concat([dpopFile])

/** The upstream's view of a request: its headers minus removeHeaders, plus setHeaders. */
function upstreamHeaders(pairs, decision) {
  const out = {}
  for (const [name, value] of pairs) {
    const lower = name.toLowerCase()
    if (decision.removeHeaders.includes(lower)) continue
    out[lower] = lower in out ? `${out[lower]}, ${value}` : value
  }
  for (const [name, value] of decision.setHeaders) out[name.toLowerCase()] = value
  return out
}

function checkUpstream(c, headers, url) {
  for (const [name, want] of Object.entries(c.expect.upstream_headers)) {
    assert.equal(headers[name] ?? null, want, `${c.name}: upstream ${name}`)
  }
  assert.equal(url, c.expect.upstream_url, `${c.name}: upstream URL`)
}

function checkDecision(c, d, request) {
  const e = c.expect
  assert.ok(d instanceof Decision)
  assert.deepStrictEqual(
    [d.allow, d.status, d.code, d.wwwAuthenticate],
    [e.allow, e.status, e.code, e.www_authenticate],
    c.name,
  )
  if (!d.allow) {
    if (e.body !== undefined) {
      // The metadata document: answered by the gateway, not a rejection.
      assert.deepStrictEqual(JSON.parse(d.body), e.body, c.name)
      return
    }
    assert.equal(JSON.parse(d.body).error, e.code)
    assert.deepStrictEqual(d.responseHeaders[0], ['WWW-Authenticate', e.www_authenticate])
    return
  }
  checkUpstream(c, upstreamHeaders(request.headers, d), d.upstreamUrl ?? request.url)
}

/** Sends a case's request with its headers exactly as listed (repeats included). */
function send(base, request) {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(base)
    // The target as written: a URL string would be normalised (`/a/../b`).
    const req = http.request({
      hostname,
      port,
      path: request.url,
      method: request.method,
      // An array keeps repeats; Node then adds no Host header of its own
      // (nor a body framing: a POST says it has no body).
      headers: [
        'Host', new URL(base).host,
        ...(['GET', 'HEAD'].includes(request.method) ? [] : ['Content-Length', '0']),
        ...request.headers.flat(),
      ],
      signal: AbortSignal.timeout(10000),
    })
    req.on('response', (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

/** Checks an HTTP answer against a case; `seen` is the decision onDecision saw last. */
function checkAnswer(c, answer, seen) {
  const e = c.expect
  assert.equal(answer.status, e.status, `${c.name}: status (${answer.body})`)
  assert.equal(answer.headers['www-authenticate'] ?? null, e.www_authenticate, `${c.name}: WWW-Authenticate`)
  assert.equal(seen.code, e.code, `${c.name}: code`)
  const body = JSON.parse(answer.body)
  if (!e.allow && e.body !== undefined) {
    assert.deepStrictEqual(body, e.body, c.name)
    assert.match(answer.headers['content-type'], /^application\/json/)
    return
  }
  if (!e.allow) {
    assert.equal(body.error, e.code, c.name)
    assert.match(answer.headers['content-type'], /^application\/json/)
    assert.equal(answer.headers['cache-control'], 'no-store')
    return
  }
  checkUpstream(c, body.headers, body.url)
}

async function withServer(server, fn) {
  const base = await listen(server)
  try {
    return await fn(base)
  } finally {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
}

function expressApp(verifier, levels, seen, async, options = {}) {
  const app = express()
  const auth = jwtgate(verifier, {
    ...options,
    route: levels[0] ?? {},
    async,
    onDecision: (d) => {
      seen.code = d.code
    },
  })
  app.use(auth)
  const chain = []
  let layer = auth
  for (const level of levels.slice(1)) {
    layer = layer.require(level)
    chain.push(layer)
  }
  app.all(/.*/, ...chain, (req, res) => res.json({ url: req.url, originalUrl: req.originalUrl, headers: req.headers }))
  return app
}

async function fastifyApp(verifier, levels, seen, async, options = {}) {
  const app = Fastify({ forceCloseConnections: true })
  await app.register(plugin, {
    ...options,
    policy: verifier,
    route: levels[0] ?? {},
    async,
    onDecision: (d) => {
      seen.code = d.code
    },
  })
  const inner = levels.slice(1)
  const config = inner.length === 0 ? {} : { jwtgate: inner.map((l) => verifier.route(l)).reduce((a, b) => a.merge(b)) }
  app.all('/*', { config }, (request) => ({ url: request.url, headers: request.headers }))
  return app
}

for (const filePath of files) {
  const file = path.basename(filePath)
  const doc = JSON.parse(fs.readFileSync(filePath, 'utf8'))
  const verifier = new Verifier(doc.policy)
  const routeOf = (levels) => levels.map((l) => verifier.route(l)).reduce((a, b) => a.merge(b), verifier.route({}))

  const least = filePath === dpopFile ? 8 : 30
  test(`${file}: at least ${least} cases`, () => assert.ok(doc.cases.length >= least, `${doc.cases.length}`))

  test(`${file}: verifier.decide, decideAsync and layered decideAfter`, async (t) => {
    for (const c of doc.cases) {
      await t.test(c.name, async () => {
        const route = routeOf(c.routes)
        checkDecision(c, verifier.decide(c.request, route), c.request)
        checkDecision(c, await verifier.decideAsync(c.request, route), c.request)
        // The same levels as layers: the first decides, each later one
        // decides after it with the levels so far merged.
        let levels = verifier.route(c.routes[0] ?? {})
        let d = verifier.decide(c.request, levels)
        for (const level of c.routes.slice(1)) {
          if (!d.allow) break
          levels = levels.merge(verifier.route(level))
          d = verifier.decideAfter(d, c.request, levels)
        }
        checkDecision(c, d, c.request)
      })
    }
  })

  for (const async of [false, true]) {
    const how = async ? 'async' : 'sync'
    test(`${file}: a real Express server (${how})`, async (t) => {
      for (const c of doc.cases) {
        await t.test(c.name, async () => {
          const seen = {}
          const server = http.createServer(expressApp(verifier, c.routes, seen, async))
          await withServer(server, async (base) => checkAnswer(c, await send(base, c.request), seen))
        })
      }
    })

    test(`${file}: a real Fastify server (${how})`, async (t) => {
      for (const c of doc.cases) {
        await t.test(c.name, async () => {
          const seen = {}
          const app = await fastifyApp(verifier, c.routes, seen, async)
          try {
            const base = await app.listen({ port: 0, host: '127.0.0.1' })
            checkAnswer(c, await send(base, c.request), seen)
          } finally {
            await app.close()
          }
        })
      }
    })
  }
}

// tests/dpop/dpop.json: proofs and bound tokens made by jwcrypto at one
// instant, sent in order (a proof sent twice is a replay) to servers whose
// middleware decides at the vectors' `now` (the `now` option). Each stack
// gets its own verifier per policy, so its own replay store. `redis_down`
// is the `allowed` policy with a Redis replay store nobody answers on:
// fail closed.
const proofs = JSON.parse(fs.readFileSync(path.join(dir, '..', 'dpop', 'dpop.json'), 'utf8'))

function closedPort() {
  return new Promise((resolve) => {
    const server = http.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

async function proofPolicies() {
  const redis = { redis: `redis://127.0.0.1:${await closedPort()}/0`, timeout_ms: 200 }
  return { ...proofs.policies, redis_down: { ...proofs.policies.allowed, replay_store: redis } }
}

/** A proof case's answer: status, code, the challenge (its start, or one on a rejection), nonce, body. */
function checkProof(c, answer, seen) {
  const e = c.expect
  assert.equal(answer.status, e.status, `${c.name}: status (${answer.body})`)
  assert.equal(seen.code, e.code, `${c.name}: code`)
  const challenge = answer.headers['www-authenticate']
  if (e.www_authenticate) {
    assert.ok(challenge?.startsWith(e.www_authenticate), `${c.name}: WWW-Authenticate ${challenge}`)
  } else {
    assert.equal(challenge === undefined, e.allow, `${c.name}: WWW-Authenticate ${challenge}`)
  }
  if (e.dpop_nonce) assert.equal(answer.headers['dpop-nonce'], e.dpop_nonce, `${c.name}: DPoP-Nonce`)
  const body = JSON.parse(answer.body)
  if (e.allow) {
    assert.equal(typeof body.url, 'string', `${c.name}: the app answered`)
    return
  }
  assert.equal(body.error, e.code, c.name)
  if (e.message_contains) assert.ok(body.message.includes(e.message_contains), `${c.name}: ${body.message}`)
}

const STACKS = {
  express: async (verifier, seen, async, options) => {
    const server = http.createServer(expressApp(verifier, [], seen, async, options))
    const base = await listen(server)
    return {
      base,
      close: () => {
        server.closeAllConnections()
        return new Promise((resolve) => server.close(resolve))
      },
    }
  },
  fastify: async (verifier, seen, async, options) => {
    const app = await fastifyApp(verifier, [], seen, async, options)
    return { base: await app.listen({ port: 0, host: '127.0.0.1' }), close: () => app.close() }
  },
}

for (const [kind, start] of Object.entries(STACKS)) {
  for (const async of [false, true]) {
    test(`dpop.json: a real ${kind} server (${async ? 'async' : 'sync'}) with the clock pinned`, async (t) => {
      assert.ok(proofs.cases.length > 30)
      const seen = {}
      const servers = {}
      try {
        for (const [name, policy] of Object.entries(await proofPolicies())) {
          servers[name] = await start(new Verifier(policy), seen, async, { now: proofs.now })
        }
        for (const c of proofs.cases) {
          assert.equal(c.request.now, proofs.now)
          await t.test(c.name, async () => {
            seen.code = undefined
            checkProof(c, await send(servers[c.policy].base, c.request), seen)
          })
        }
        // Fail closed: a replay store that cannot answer is a 503.
        const first = proofs.cases[0]
        seen.code = undefined
        const down = await send(servers.redis_down.base, first.request)
        assert.equal(down.status, 503, down.body)
        assert.equal(seen.code, 'replay_store_unavailable')
        assert.equal(JSON.parse(down.body).error, 'replay_store_unavailable')
        assert.equal(down.headers['retry-after'], '1')
      } finally {
        await Promise.all(Object.values(servers).map((s) => s.close()))
      }
    })
  }
}

test('the now option: a function is read per request; a bad value is a TypeError', async () => {
  const c = proofs.cases[0]
  let calls = 0
  const seen = {}
  const verifier = new Verifier(proofs.policies.allowed)
  const server = await STACKS.express(verifier, seen, false, { now: () => (calls++, new Date(proofs.now * 1000)) })
  try {
    checkProof(c, await send(server.base, c.request), seen)
    assert.equal(calls, 1)
  } finally {
    await server.close()
  }
  // Without it the system clock decides: the token and proof are years old.
  const late = await STACKS.express(new Verifier(proofs.policies.allowed), seen, false, {})
  try {
    const answer = await send(late.base, c.request)
    assert.equal(answer.status, 401)
    assert.ok(['expired', 'invalid_dpop_proof'].includes(seen.code), seen.code)
  } finally {
    await late.close()
  }
  for (const now of ['1700000000', NaN, {}]) {
    assert.throws(() => jwtgate(verifier, { now }), TypeError)
  }
})

test('Express: app.use(auth) and auth.require(route) verify a request once', async () => {
  const doc = JSON.parse(fs.readFileSync(files[0], 'utf8'))
  const verifier = new Verifier({ ...doc.policy, cache: { max_entries: 0 } })
  const c = doc.cases.find((x) => x.routes.length === 3 && x.expect.allow)
  for (const async of [false, true]) {
    const seen = {}
    const server = http.createServer(expressApp(verifier, c.routes, seen, async))
    await withServer(server, async (base) => {
      const before = verifier.stats().verifications.valid ?? 0
      checkAnswer(c, await send(base, c.request), seen)
      checkAnswer(c, await send(base, c.request), seen)
      assert.equal(verifier.stats().verifications.valid - before, 2, 'one verification per request for three layers')
    })
  }
})
