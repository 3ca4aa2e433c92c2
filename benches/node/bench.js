'use strict'
// jwtgate against fast-jwt, jose, jsonwebtoken and node:crypto's raw verify
// (the floor), in the same run, on the same tokens, every library checking
// signature, iss, aud and exp. Then keys from a JWKS endpoint (jwtgate's
// jwks_uri against jwks-rsa + jsonwebtoken), and end to end: an Express route
// behind jwtgate/express against express-jwt, requests per second with
// autocannon.
//
//   npm install && node bench.js [--time 1] [--algs RS256,ES256] [--no-e2e] [--markdown out.md]
//   node bench.js --binding-cost [--time 0.3] [--rounds 7] [--algs RS256,HS256]: only what the
//   sync path adds to the core, same run (cost.js)

const crypto = require('node:crypto')
const os = require('node:os')
const { fork } = require('node:child_process')

const { serveJwks } = require('../../tests/support/node')

const jwtgate = require('jwtgate')
const { createVerifier } = require('fast-jwt')
const jose = require('jose')
const jsonwebtoken = require('jsonwebtoken')

const args = process.argv.slice(2)
const arg = (name, fallback) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : fallback
}
const SECONDS = Number(arg('time', '1'))
const ALGS = arg('algs', 'RS256,PS256,ES256,EdDSA,HS256').split(',')
const E2E = !args.includes('--no-e2e')
const MARKDOWN = arg('markdown', null)
const TOKENS = 256
const ISS = 'https://idp.bench/'
const AUD = 'api://bench'

// ---------------------------------------------------------------- timing

/** Runs `fn` (sync, one op per call) for SECONDS; ops per CPU-second. */
function timeSync(fn) {
  for (let i = 0; i < 200; i++) fn(i)
  let ops = 0
  const cpu0 = process.cpuUsage()
  const end = performance.now() + SECONDS * 1000
  while (performance.now() < end) {
    for (let i = 0; i < 64; i++) fn(ops++)
  }
  const cpu = process.cpuUsage(cpu0)
  return ops / ((cpu.user + cpu.system) / 1e6)
}

/** Runs `fn` (async, one op per call, `depth` in flight) for SECONDS; ops per wall second and per CPU-second. */
async function timeAsync(fn, depth = 1) {
  for (let i = 0; i < 100; i++) await fn(i)
  let ops = 0
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const end = t0 + SECONDS * 1000
  async function lane() {
    while (performance.now() < end) await fn(ops++)
  }
  await Promise.all(Array.from({ length: depth }, lane))
  const wall = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  return { wall: ops / wall, cpu: ops / ((cpu.user + cpu.system) / 1e6) }
}

/** Runs `fn` (sync, `n` ops per call) for SECONDS; ops per CPU-second. */
function timeBatch(fn, n) {
  fn(0)
  let ops = 0
  const cpu0 = process.cpuUsage()
  const end = performance.now() + SECONDS * 1000
  while (performance.now() < end) {
    fn(ops)
    ops += n
  }
  const cpu = process.cpuUsage(cpu0)
  return ops / ((cpu.user + cpu.system) / 1e6)
}

const fmt = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0))

// ---------------------------------------------------------------- keys and tokens

function setup(alg) {
  const key = jwtgate.generateKey(alg, { kid: 'bench' })
  const signer = jwtgate.Signer.fromKey(key)
  const now = Math.floor(Date.now() / 1000)
  const tokens = Array.from({ length: TOKENS }, (_, i) =>
    signer.sign({ iss: ISS, aud: AUD, sub: `user${i}`, scope: 'orders:read', iat: now, exp: now + 3600 }),
  )
  let publicKey, secret, nodeKey
  if (alg === 'HS256') {
    secret = Buffer.from(key.privateKey, 'base64url')
  } else {
    nodeKey = crypto.createPublicKey(crypto.createPrivateKey(key.privateKey))
    publicKey = nodeKey.export({ type: 'spki', format: 'pem' })
  }
  const keys = alg === 'HS256' ? { hmac_secret: key.privateKey } : { jwks: { keys: [key.publicJwk] } }
  const policy = (cache) => ({
    issuers: [{ issuer: ISS, audiences: [AUD], algorithms: [alg], keys, require: ['exp'] }],
    cache: { max_entries: cache ? 100000 : 0 },
  })
  return { key, tokens, publicKey, secret, nodeKey, policy, jwk: key.publicJwk }
}

/** node:crypto's raw signature check of a token: the floor. */
function rawVerifier(alg, s) {
  const parts = s.tokens.map((t) => {
    const dot = t.lastIndexOf('.')
    return { data: Buffer.from(t.slice(0, dot)), sig: Buffer.from(t.slice(dot + 1), 'base64url') }
  })
  switch (alg) {
    case 'HS256': {
      const key = crypto.createSecretKey(s.secret)
      return (i) => {
        const p = parts[i % TOKENS]
        const mac = crypto.createHmac('sha256', key).update(p.data).digest()
        if (!crypto.timingSafeEqual(mac, p.sig)) throw new Error('bad mac')
      }
    }
    case 'RS256':
      return (i) => {
        const p = parts[i % TOKENS]
        if (!crypto.verify('sha256', p.data, s.nodeKey, p.sig)) throw new Error('bad sig')
      }
    case 'PS256': {
      const key = { key: s.nodeKey, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
      return (i) => {
        const p = parts[i % TOKENS]
        if (!crypto.verify('sha256', p.data, key, p.sig)) throw new Error('bad sig')
      }
    }
    case 'ES256': {
      const key = { key: s.nodeKey, dsaEncoding: 'ieee-p1363' }
      return (i) => {
        const p = parts[i % TOKENS]
        if (!crypto.verify('sha256', p.data, key, p.sig)) throw new Error('bad sig')
      }
    }
    case 'EdDSA':
      return (i) => {
        const p = parts[i % TOKENS]
        if (!crypto.verify(null, p.data, s.nodeKey, p.sig)) throw new Error('bad sig')
      }
  }
  throw new Error(alg)
}

// ---------------------------------------------------------------- rows

async function benchAlg(alg) {
  const s = setup(alg)
  const rows = []
  const add = (name, opsPerCpuS, note = '') => rows.push({ name, ops: opsPerCpuS, note })

  // Sanity: every library accepts every token and checks iss/aud/exp.
  const key = alg === 'HS256' ? s.secret : s.publicKey
  const joseKey = alg === 'HS256' ? s.secret : await jose.importJWK(s.jwk, alg)
  const fastNoCache = createVerifier({ key, algorithms: [alg], allowedIss: ISS, allowedAud: AUD, cache: false })
  const fastCache = createVerifier({ key, algorithms: [alg], allowedIss: ISS, allowedAud: AUD, cache: TOKENS * 2 })
  const jwtOptions = { issuer: ISS, audience: AUD, algorithms: [alg] }
  const joseOptions = { issuer: ISS, audience: AUD, algorithms: [alg] }
  const nocache = new jwtgate.Verifier(s.policy(false))
  const cached = new jwtgate.Verifier(s.policy(true))
  // jsonwebtoken 9 has no EdDSA.
  const hasJsonwebtoken = alg !== 'EdDSA'
  for (const t of s.tokens.slice(0, 3)) {
    nocache.verify(t)
    fastNoCache(t)
    if (hasJsonwebtoken) jsonwebtoken.verify(t, key, jwtOptions)
    await jose.jwtVerify(t, joseKey, joseOptions)
  }
  const wrongAud = jwtgate.Signer.fromKey(s.key).sign({ iss: ISS, aud: 'api://other', exp: 2e9 })
  for (const check of [
    () => nocache.verify(wrongAud),
    () => fastNoCache(wrongAud),
    ...(hasJsonwebtoken ? [() => jsonwebtoken.verify(wrongAud, key, jwtOptions)] : []),
  ]) {
    let threw = false
    try {
      check()
    } catch {
      threw = true
    }
    if (!threw) throw new Error(`${alg}: a library accepted a token for another audience`)
  }

  const tok = s.tokens
  add('node:crypto raw verify (floor)', timeSync(rawVerifier(alg, s)))
  add('jwtgate verify (sync, no cache)', timeSync((i) => nocache.verify(tok[i % TOKENS]).claims))
  add('jwtgate verifyMany (256 per call, no cache)', timeBatch(() => nocache.verifyMany(tok).map((v) => v.claims), TOKENS))
  const asyncNoCache = await timeAsync((i) => nocache.verifyAsync(tok[i % TOKENS]).then((v) => v.claims), 64)
  add('jwtgate verifyAsync (libuv pool, no cache)', asyncNoCache.wall, `per wall-second, ${os.availableParallelism()} cores; ${fmt(asyncNoCache.cpu)}/CPU-s`)
  for (const t of tok) cached.verify(t)
  add('jwtgate verify (cache hit)', timeSync((i) => cached.verify(tok[i % TOKENS]).claims))
  add('jwtgate verify (cache hit, decision only)', timeSync((i) => cached.verify(tok[i % TOKENS])), 'claims not read')
  // The request layer: token source, headers to remove and set, the decision.
  const requests = tok.map((t) => ({
    method: 'GET',
    url: '/orders?page=1',
    headers: ['Host', 'api.bench', 'User-Agent', 'bench/1', 'Accept', '*/*', 'Authorization', `Bearer ${t}`,
      'X-Request-Id', 'r1', 'Accept-Encoding', 'gzip', 'Connection', 'keep-alive', 'Cookie', 'theme=dark'],
  }))
  add('jwtgate decide (cache hit, 8 request headers)', timeSync((i) => {
    const d = cached.decide(requests[i % TOKENS])
    return d.allow && d.claims && d.setHeaders
  }), 'allow, claims and headers read')
  add('fast-jwt (no cache)', timeSync((i) => fastNoCache(tok[i % TOKENS])))
  for (const t of tok) fastCache(t)
  add('fast-jwt (cache hit)', timeSync((i) => fastCache(tok[i % TOKENS])))
  if (hasJsonwebtoken) add('jsonwebtoken', timeSync((i) => jsonwebtoken.verify(tok[i % TOKENS], key, jwtOptions)))
  const joseRate = await timeAsync((i) => jose.jwtVerify(tok[i % TOKENS], joseKey, joseOptions), 1)
  add('jose jwtVerify', joseRate.cpu)
  return rows
}

// ---------------------------------------------------------------- JWKS endpoint

async function benchJwks(alg) {
  const jwksRsa = require('jwks-rsa')
  const s = setup(alg)
  const idp = await serveJwks({ keys: [s.jwk] })
  const uri = idp.url
  try {
    const verifier = new jwtgate.Verifier({
      issuers: [{ issuer: ISS, audiences: [AUD], algorithms: [alg], keys: { jwks_uri: uri, allow_http: true } }],
      cache: { max_entries: 0 },
    })
    await verifier.verifyAsync(s.tokens[0]) // first fetch
    const client = jwksRsa({ jwksUri: uri, cache: true, rateLimit: false })
    const jwtOptions = { issuer: ISS, audience: AUD, algorithms: [alg] }
    const getKey = (header, cb) => client.getSigningKey(header.kid, (err, key) => cb(err, key && key.getPublicKey()))
    const expressJwtStyle = (t) =>
      new Promise((resolve, reject) =>
        jsonwebtoken.verify(t, getKey, jwtOptions, (err, decoded) => (err ? reject(err) : resolve(decoded))),
      )
    await expressJwtStyle(s.tokens[0])
    const ours = timeSync((i) => verifier.verify(s.tokens[i % TOKENS]).claims)
    const theirs = await timeAsync((i) => expressJwtStyle(s.tokens[i % TOKENS]), 1)
    return [
      { name: `jwtgate, jwks_uri (${alg}, no token cache)`, ops: ours, note: '' },
      { name: `jwks-rsa + jsonwebtoken (${alg}, key cache on)`, ops: theirs.cpu, note: '' },
    ]
  } finally {
    await idp.close()
  }
}

// ---------------------------------------------------------------- end to end

async function benchE2E(kinds, label) {
  const autocannon = require('autocannon')
  const key = jwtgate.generateKey('RS256', { kid: 'e2e' })
  const token = jwtgate.Signer.fromKey(key).sign({ iss: ISS, aud: AUD, sub: 'ada', exp: Math.floor(Date.now() / 1000) + 3600 })
  const publicKey = crypto.createPublicKey(crypto.createPrivateKey(key.privateKey)).export({ type: 'spki', format: 'pem' })
  const results = []
  for (const kind of kinds) {
    const child = fork(__filename, ['--serve', kind], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    child.send({ key, publicKey })
    const port = await new Promise((r) => child.once('message', r))
    const run = (opts) => new Promise((resolve, reject) => autocannon(opts, (err, res) => (err ? reject(err) : resolve(res))))
    const opts = { url: `http://127.0.0.1:${port}/me`, headers: { authorization: `Bearer ${token}` }, connections: 32, duration: Math.max(3, SECONDS * 3) }
    await run({ ...opts, duration: 1 })
    const res = await run(opts)
    child.kill()
    if (res.non2xx > 0) throw new Error(`${kind}: ${res.non2xx} non-2xx answers`)
    results.push({ name: `${label[kind]} (RS256, same token)`, ops: res.requests.average, note: 'requests/s' })
  }
  return results
}

function serve(kind) {
  if (kind.startsWith('fastify')) return serveFastify(kind)
  const express = require('express')
  process.once('message', ({ key, publicKey }) => {
    const app = express()
    if (kind === 'jwtgate') {
      app.use(require('jwtgate/express')({ issuers: [{ issuer: ISS, audiences: [AUD], algorithms: ['RS256'], keys: { jwks: { keys: [key.publicJwk] } } }] }))
    } else {
      const { expressjwt } = require('express-jwt')
      app.use(expressjwt({ secret: publicKey, algorithms: ['RS256'], issuer: ISS, audience: AUD }))
    }
    app.get('/me', (req, res) => res.json({ sub: req.auth.sub }))
    const server = app.listen(0, '127.0.0.1', () => process.send(server.address().port))
  })
}

function serveFastify(kind) {
  process.once('message', async ({ key, publicKey }) => {
    const app = require('fastify')()
    if (kind === 'fastify-jwtgate') {
      const policy = { issuers: [{ issuer: ISS, audiences: [AUD], algorithms: ['RS256'], keys: { jwks: { keys: [key.publicJwk] } } }] }
      await app.register(require('jwtgate/fastify'), { policy })
      app.get('/me', async (request) => ({ sub: request.auth.sub }))
    } else {
      await app.register(require('@fastify/jwt'), {
        secret: { public: publicKey },
        verify: { algorithms: ['RS256'], allowedIss: ISS, allowedAud: AUD },
      })
      app.get('/me', async (request) => {
        await request.jwtVerify()
        return { sub: request.user.sub }
      })
    }
    await app.listen({ port: 0, host: '127.0.0.1' })
    process.send(app.server.address().port)
  })
}

// ---------------------------------------------------------------- report

async function main() {
  const lines = []
  const out = (l = '') => {
    console.log(l)
    lines.push(l)
  }
  out(`# Node.js benchmark`)
  out()
  out(`Command: \`node bench.js${args.length ? ` ${args.join(' ')}` : ''}\` in benches/node (after \`npm install\`).`)
  out(`Machine: ${os.cpus()[0].model}, ${os.availableParallelism()} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; node ${process.version}; ${os.platform()} ${os.release()}.`)
  const v = (p) => require(`${p}/package.json`).version
  out(`Libraries: jwtgate ${jwtgate.version}, fast-jwt ${v('fast-jwt')}, jose ${v('jose')}, jsonwebtoken ${v('jsonwebtoken')}, jwks-rsa ${v('jwks-rsa')}, express-jwt ${v('express-jwt')}.`)
  out(`Each row: ${SECONDS} s, ${TOKENS} distinct tokens cycled; ops per CPU-second of this process unless noted. Every library checks signature, iss, aud and exp, and every row reads the claims unless noted (jwtgate parses them on first access).`)
  for (const alg of ALGS) {
    const rows = await benchAlg(alg)
    const floor = rows[0].ops
    const fast = rows.find((r) => r.name === 'fast-jwt (no cache)').ops
    const fastHit = rows.find((r) => r.name === 'fast-jwt (cache hit)').ops
    out()
    out(`## ${alg}`)
    out()
    out('| verifier | ops/s | vs fast-jwt | vs floor | note |')
    out('|---|---:|---:|---:|---|')
    for (const r of rows) {
      const base = r.name.includes('cache hit') ? fastHit : fast
      out(`| ${r.name} | ${fmt(r.ops)} | ${(r.ops / base).toFixed(2)}x | ${(r.ops / floor).toFixed(2)}x | ${r.note} |`)
    }
    const sync = rows.find((r) => r.name.startsWith('jwtgate verify (sync')).ops
    const async = rows.find((r) => r.name.startsWith('jwtgate verifyAsync')).ops
    out()
    out(`async / sync throughput: ${(async / sync).toFixed(2)}x`)
  }
  out()
  out('## Keys from a JWKS endpoint (local HTTP, keys cached by both)')
  out()
  out('| verifier | ops/s | ratio |')
  out('|---|---:|---:|')
  for (const alg of ['RS256', 'ES256'].filter((a) => ALGS.includes(a))) {
    const [ours, theirs] = await benchJwks(alg)
    out(`| ${ours.name} | ${fmt(ours.ops)} | ${(ours.ops / theirs.ops).toFixed(2)}x |`)
    out(`| ${theirs.name} | ${fmt(theirs.ops)} | 1.00x |`)
  }
  if (E2E) {
    out()
    out('## End to end: Express and Fastify, autocannon, 32 connections (server and load generator share the machine)')
    out()
    out('| server | requests/s | ratio |')
    out('|---|---:|---:|')
    const label = {
      jwtgate: 'Express + jwtgate/express',
      'express-jwt': 'Express + express-jwt (static key)',
      'fastify-jwtgate': 'Fastify + jwtgate/fastify',
      'fastify-jwt': 'Fastify + @fastify/jwt (static key)',
    }
    for (const kinds of [['jwtgate', 'express-jwt'], ['fastify-jwtgate', 'fastify-jwt']]) {
      const [ours, theirs] = await benchE2E(kinds, label)
      out(`| ${ours.name} | ${fmt(ours.ops)} | ${(ours.ops / theirs.ops).toFixed(2)}x |`)
      out(`| ${theirs.name} | ${fmt(theirs.ops)} | 1.00x |`)
    }
  }
  if (MARKDOWN) require('node:fs').writeFileSync(MARKDOWN, `${lines.join('\n')}\n`)
}

if (args[0] === '--serve') serve(args[1])
else if (args.includes('--binding-cost'))
  require('./cost.js')
    .run(ALGS, SECONDS, Number(arg('rounds', '7')))
    .then((report) => {
      console.log(report.join('\n'))
      if (MARKDOWN) require('node:fs').writeFileSync(MARKDOWN, `${report.join('\n')}\n`)
    })
    .catch((e) => {
      console.error(e)
      process.exit(1)
    })
else
  main().catch((e) => {
    console.error(e)
    process.exit(1)
  })
