'use strict'
// jwtgate/express in a real Express app.

const express = require('express')
const jwtgate = require('../express.js')
const { listen } = require('./helpers.js')
const { httpSuite, echo } = require('./servers.js')

async function start(policy, { onError, seen, async }) {
  const app = express()
  const options = { exclude: ['/health'], async }
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
