'use strict'
// Requests an attacker would send to an Express or Fastify gateway, each
// through a real server on 127.0.0.1 and a raw socket (so targets reach
// the server exactly as written).

const test = require('node:test')
const assert = require('node:assert/strict')
const net = require('node:net')
const express = require('express')
const jwtgate = require('../express.js')
const { Signer } = require('../index.js')
const { listen } = require('../../tests/support/node')

const SECRET = Buffer.alloc(32, 7)
const POLICY = {
  issuers: [{ algorithms: ['HS256'], keys: { hmac_secret: SECRET.toString('base64url') },
    forward: { claims_to_headers: { sub: 'X-User' } } }],
}
const token = Signer.fromSecret('HS256', SECRET).sign({ sub: 'ada' }, { lifetimeS: 300 })

/** One raw HTTP/1.1 request; resolves with the status and body. */
function raw(base, target, headers = []) {
  const { hostname, port } = new URL(base)
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname)
    let data = ''
    socket.on('data', (chunk) => { data += chunk })
    socket.on('error', reject)
    socket.on('end', () => {
      const [head, ...body] = data.split('\r\n\r\n')
      resolve({ status: Number(head.split(' ')[1]), body: body.join('\r\n\r\n') })
    })
    const lines = [`GET ${target} HTTP/1.1`, 'Host: x', 'Connection: close', ...headers.map(([n, v]) => `${n}: ${v}`)]
    socket.write(lines.join('\r\n') + '\r\n\r\n')
  })
}

async function app(options) {
  const a = express()
  a.use(jwtgate(POLICY, options))
  const show = (req, res) => res.json({ user: req.headers['x-user'] ?? null, distinct: req.headersDistinct['x-user'] ?? null })
  a.get('/admin', show)
  a.get('/logo.png', show)
  const server = require('node:http').createServer(a)
  return { base: await listen(server), close: () => new Promise((r) => server.close(r)) }
}

test('a RegExp exclude sees the path as the core does: no fragment or dot-segment bypass', async () => {
  const s = await app({ exclude: [/\.png$/] })
  try {
    assert.equal((await raw(s.base, '/logo.png')).status, 200)
    for (const target of ['/admin', '/admin#.png', '/admin#/x.png', '/logo.png/../admin', '/admin/..%2f.png']) {
      assert.equal((await raw(s.base, target)).status, 401, target)
    }
  } finally {
    await s.close()
  }
})

test('an onError that lets a rejected request through passes no spoofed forwarded header', async () => {
  const s = await app({ onError: (err, req, res, next) => next() })
  try {
    const r = await raw(s.base, '/admin', [['X-User', 'admin'], ['X_User', 'admin']])
    assert.equal(r.status, 200)
    assert.deepEqual(JSON.parse(r.body), { user: null, distinct: null })
  } finally {
    await s.close()
  }
})

test('rawHeaders and headersDistinct hold the verified value only', async () => {
  const s = await app({})
  try {
    const r = await raw(s.base, '/admin', [['X-User', 'admin'], ['Authorization', `Bearer ${token}`]])
    assert.equal(r.status, 200)
    assert.deepEqual(JSON.parse(r.body), { user: 'ada', distinct: ['ada'] })
  } finally {
    await s.close()
  }
})
