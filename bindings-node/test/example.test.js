'use strict'
// examples/issuer.js: a client gets a token from /token and calls /orders.

const test = require('node:test')
const assert = require('node:assert/strict')
const http = require('node:http')
const { createApp } = require('../examples/issuer.js')
const { listen } = require('../../tests/support/node')

test('issuer example: client credentials, token, protected route', async () => {
  const server = http.createServer(createApp())
  const base = await listen(server)
  const basic = (id, secret) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`
  const call = (path, init = {}) => fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(10000) })
  try {
    assert.equal((await call('/token', { method: 'POST', headers: { authorization: basic('shop', 'wrong') } })).status, 401)
    const issued = await call('/token', { method: 'POST', headers: { authorization: basic('shop', 's3cret') } })
    assert.equal(issued.status, 200)
    const { access_token: token } = await issued.json()
    const orders = await call('/orders', { headers: { authorization: `Bearer ${token}` } })
    assert.equal(orders.status, 200)
    assert.equal((await orders.json()).client, 'shop')
    assert.equal((await call('/orders')).status, 401)
    const other = await (await call('/token', { method: 'POST', headers: { authorization: basic('stats', 'n0pe') } })).json()
    const denied = await call('/orders', { headers: { authorization: `Bearer ${other.access_token}` } })
    assert.equal(denied.status, 403)
    assert.equal((await denied.json()).claim, 'subscribedAPIs')
    const keys = await (await call('/.well-known/jwks.json')).json()
    assert.equal(keys.keys[0].kid, 'demo-1')
  } finally {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
})
