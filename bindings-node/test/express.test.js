'use strict'
// jwtgate/express in a real Express app.

const express = require('express')
const jwtgate = require('../express.js')
const { listen } = require('../../tests/support/node')
const { httpSuite, echo } = require('./servers.js')

async function start(policy, { onError, seen, async, mode, decisions }) {
  const app = express()
  const options = { exclude: ['/health'], async, mode }
  if (decisions) options.onDecision = (d, req) => decisions.push([d.code, d.mode, req.url])
  if (onError) {
    options.onError = (err, req, res) => {
      seen.push(err.code)
      res.status(418).json({ custom: err.code, status: err.status, claim: err.claim ?? undefined })
    }
  }
  const auth = jwtgate(policy, options)
  const orders = auth.require({ claims: { subscribedAPIs: { contains_all: ['orders'], required: true } } })
  app.use(auth.unless({ exclude: ['/public'] }))
  app.get('/public', (req, res) => res.json(echo(req.auth, req.jwtgate, req.headers)))
  app.get(['/health', '/health/live', '/healthz'], (req, res) => res.json(echo(req.auth, req.jwtgate, req.headers)))
  app.get('/me', (req, res) => res.json(echo(req.auth, req.jwtgate, req.headers)))
  app.get('/orders', orders, (req, res) => res.json(echo(req.auth, req.jwtgate, req.headers)))
  const server = require('node:http').createServer(app)
  const base = await listen(server)
  return {
    base,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(resolve)
      }),
  }
}

httpSuite('express', start)

const test = require('node:test')
const assert = require('node:assert/strict')
const { fixtures } = require('./helpers.js')

test('express: options are checked at setup', () => {
  const { policy } = fixtures()
  assert.throws(() => jwtgate(policy, { exlcude: ['/health'] }), /unknown option "exlcude"/)
  assert.throws(() => jwtgate(policy, { forwardHeaders: false }), TypeError)
  assert.throws(() => jwtgate(policy, { mode: 'sometimes' }), { code: 'policy' })
  assert.throws(() => jwtgate(policy, { exclude: ['health'] }), { code: 'policy' })
  assert.throws(() => jwtgate(policy, { exclude: [5] }), TypeError)
  assert.throws(() => jwtgate(policy, { onDecision: 5 }), TypeError)
  const auth = jwtgate(policy, { exclude: [/^\/public/], route: { scopes: ['a'] } })
  assert.throws(() => auth.require({ subscribedAPIs: { contains_all: ['orders'] } }), { code: 'policy' })
  assert.throws(() => auth.require({ claims_to_headers: { sub: 'X-User' } }), { code: 'policy' })
  assert.equal(typeof auth.require({ claims: { n: { equals: 1 } } }), 'function')
})
