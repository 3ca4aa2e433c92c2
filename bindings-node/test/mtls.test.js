'use strict'
// Certificate-bound tokens (RFC 8705) through real HTTPS servers on
// 127.0.0.1: Express and Fastify hand the TLS client certificate of the
// connection to the core, which checks the token's cnf["x5t#S256"]; a
// forwarded certificate header from a client that is no trusted proxy
// counts for nothing.

const test = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const fs = require('node:fs')
const https = require('node:https')
const path = require('node:path')
const { Signer } = require('..')

const keys = path.join(__dirname, '..', '..', 'tests', 'keys')
const read = (name) => fs.readFileSync(path.join(keys, name))
const ISSUER = 'https://idp.example.com/'

/** The client identities: a key and its self-signed certificate. */
const alice = { key: read('ecp256.pem'), cert: read('ecp256.cert.pem') }
const mallory = { key: read('rsa.pem'), cert: read('rsa.cert.pem') }

function thumbprint(pem) {
  const der = new crypto.X509Certificate(pem).raw
  return crypto.createHash('sha256').update(der).digest('base64url')
}

const signer = Signer.fromSecret('HS256', Buffer.alloc(32, 7))
const token = (claims) => signer.sign({ iss: ISSUER, sub: 'ada', ...claims }, { lifetimeS: 600 })
const policy = {
  issuers: [
    {
      issuer: ISSUER,
      algorithms: ['HS256'],
      keys: { hmac_secret: Buffer.alloc(32, 7).toString('base64url') },
      mtls_binding: 'required',
    },
  ],
}

/** GET over TLS with a client certificate (or none); resolves {status, body, headers}. */
function get(port, urlPath, headers, client) {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: urlPath,
        headers,
        rejectUnauthorized: false, // the test server's certificate is self-signed
        ...(client ? { key: client.key, cert: client.cert } : {}),
      },
      (res) => {
        let data = ''
        res.setEncoding('utf8')
        res.on('data', (c) => (data += c))
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data ? JSON.parse(data) : null }))
      },
    )
    req.on('error', reject)
    req.end()
  })
}

/** TLS that asks for a client certificate and leaves trust to the binding. */
const tls = { key: read('rsa.pem'), cert: read('rsa.cert.pem'), requestCert: true, rejectUnauthorized: false }

async function expressServer() {
  const express = require('express')
  const jwtgate = require('../express')
  const app = express()
  app.use(jwtgate(policy))
  app.get('/me', (req, res) => res.json({ sub: req.auth.sub, cert: req.headers['x-client-cert'] ?? null }))
  const server = https.createServer(tls, app)
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { port: server.address().port, close: () => new Promise((resolve) => server.close(resolve)) }
}

async function fastifyServer() {
  const Fastify = require('fastify')
  const app = Fastify({ https: tls })
  await app.register(require('../fastify'), { policy })
  app.get('/me', async (request) => ({ sub: request.auth.sub, cert: request.headers['x-client-cert'] ?? null }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  return { port: app.server.address().port, close: () => app.close() }
}

for (const [name, start] of [['Express', expressServer], ['Fastify', fastifyServer]]) {
  test.describe(`${name} over HTTPS: certificate-bound tokens`, () => {
    let server
    test.before(async () => {
      server = await start()
    })
    test.after(() => server.close())

    test.it('the connection certificate the token is bound to passes', async () => {
      const bound = token({ cnf: { 'x5t#S256': thumbprint(alice.cert) } })
      const r = await get(server.port, '/me', { authorization: `Bearer ${bound}` }, alice)
      assert.equal(r.status, 200, JSON.stringify(r.body))
      assert.deepEqual(r.body, { sub: 'ada', cert: null })
    })

    test.it('another certificate, or none, is mtls_binding (401)', async () => {
      const bound = token({ cnf: { 'x5t#S256': thumbprint(alice.cert) } })
      for (const client of [mallory, null]) {
        const r = await get(server.port, '/me', { authorization: `Bearer ${bound}` }, client)
        assert.equal(r.status, 401)
        assert.equal(r.body.error, 'mtls_binding')
        assert.match(r.headers['www-authenticate'], /^Bearer error="invalid_token"/)
      }
    })

    test.it('an unbound token is refused where binding is required', async () => {
      const r = await get(server.port, '/me', { authorization: `Bearer ${token({})}` }, alice)
      assert.equal(r.status, 401)
      assert.equal(r.body.error, 'mtls_binding')
    })

    test.it("a client's own certificate header is no certificate and never reaches the app", async () => {
      const bound = token({ cnf: { 'x5t#S256': thumbprint(alice.cert) } })
      const forged = encodeURIComponent(alice.cert.toString())
      const r = await get(server.port, '/me', { authorization: `Bearer ${bound}`, 'x-client-cert': forged }, mallory)
      assert.equal(r.status, 401)
      assert.equal(r.body.error, 'mtls_binding')
      const ok = await get(server.port, '/me', { authorization: `Bearer ${bound}`, 'x-client-cert': forged }, alice)
      assert.equal(ok.status, 200)
      assert.equal(ok.body.cert, null, 'the forwarded certificate header is removed')
    })
  })
}
