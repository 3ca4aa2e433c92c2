'use strict'
// jwtgate/fastify in a real Fastify app.

const Fastify = require('fastify')
const plugin = require('../fastify.js')
const { httpSuite, echo } = require('./servers.js')

async function start(policy, { onError, seen, async, mode, decisions }) {
  const app = Fastify({ forceCloseConnections: true })
  const options = { policy, exclude: ['/health'], async, mode }
  if (decisions) options.onDecision = (d, request) => decisions.push([d.code, d.mode, request.url])
  if (onError) {
    options.onError = (err, request, reply) => {
      seen.push(err.code)
      reply.code(418).send({ custom: err.code, status: err.status, claim: err.claim ?? undefined })
    }
  }
  await app.register(plugin, options)
  const handler = (request) => echo(request.auth, request.jwtgate, request.headers)
  app.get('/public', { config: { jwtgate: false } }, handler)
  app.get('/health', handler)
  app.get('/health/live', handler)
  app.get('/healthz', handler)
  app.get('/me', handler)
  app.get('/orders', { config: { jwtgate: { claims: { subscribedAPIs: { contains_all: ['orders'], required: true } } } } }, handler)
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  return { base, close: () => app.close() }
}

httpSuite('fastify', start)
