'use strict'
// Fastify (4 and 5) plugin:
//
//   await app.register(require('jwtgate/fastify'), { policy, exclude: ['/health'] })
//   app.get('/public', { config: { jwtgate: false } }, handler)           // opt out
//   app.get('/orders', { config: { jwtgate: { claims: {                   // extra rules
//     subscribedAPIs: { contains_all: ['orders'], required: true } } } } }, handler)
//
// Every route registered after the plugin (in its scope and the parent's)
// gets an onRequest hook: the token comes from the policy's `token_sources`
// (found by the core); a verified request gets `request.auth` (the claims),
// `request.jwtgate` (the Verified result) and the policy's forward headers
// set on `request.headers`. A rejected one is answered 401/403/503 with
// `WWW-Authenticate` and `{"error": code, "message": ..., "claim"?: ...}`,
// unless `onError(err, request, reply)` sends a reply itself.

const { missingToken, settings, queryOf, pathOf, setForwardHeaders, rejection } = require('./middleware.js')
const { JwtError } = require('./index.js')

function sendRejection(err, reply) {
  const { status, challenge, body } = rejection(err)
  reply.code(status).header('www-authenticate', challenge).type('application/json; charset=utf-8').send(body)
}

function hookFor(s) {
  function reject(err, request, reply) {
    if (s.onError) {
      let result
      try {
        result = s.onError(err, request, reply)
      } catch (e) {
        reply.send(e)
        return
      }
      if (result && typeof result.then === 'function') {
        result.then(
          () => reply.sent || sendRejection(err, reply),
          (e) => reply.send(e),
        )
        return
      }
      if (reply.sent) return
    }
    sendRejection(err, reply)
  }

  function accept(verified, request, done) {
    request[s.property] = verified.claims
    request.jwtgate = verified
    if (s.forwardHeaders && s.forwardNames.length > 0) setForwardHeaders(request.headers, s.forwardNames, verified)
    done()
  }

  return function jwtgateOnRequest(request, reply, done) {
    if (s.isExcluded(pathOf(request.url)) || (s.skip && s.skip(request))) {
      // Nothing vouches for these headers on an unauthenticated request.
      if (s.forwardHeaders) for (const name of s.forwardNames) delete request.headers[name]
      return done()
    }
    let token
    try {
      token = s.verifier.findToken(request.headers, queryOf(request.url))
    } catch (e) {
      return done(e)
    }
    if (token === null) return reject(missingToken(), request, reply)
    if (s.offload) {
      s.verifier.verifyAsync(token).then(
        (verified) => accept(verified, request, done),
        (err) => (err instanceof JwtError ? reject(err, request, reply) : done(err)),
      )
      return
    }
    let verified
    try {
      verified = s.verifier.verify(token)
    } catch (err) {
      return err instanceof JwtError ? reject(err, request, reply) : done(err)
    }
    accept(verified, request, done)
  }
}

/**
 * The plugin. Options: `policy` (a Verifier, policy object, JSON text or
 * file path) and, as for the Express middleware, `exclude`, `skip(request)`,
 * `claims`, `requestProperty` (defaults to `auth`), `forwardHeaders`,
 * `async` and `onError(err, request, reply)`. Per route, `config.jwtgate`
 * set to false opts out, and `config.jwtgate.claims` adds claim rules (a
 * verifier derived once when the route is registered).
 */
function jwtgatePlugin(fastify, options, done) {
  let s
  try {
    const { policy, ...rest } = options ?? {}
    if (policy === undefined) throw new TypeError('jwtgate: the plugin needs options.policy')
    s = settings(policy, rest)
  } catch (e) {
    return done(e)
  }
  const hook = hookFor(s)
  if (!fastify.hasRequestDecorator(s.property)) fastify.decorateRequest(s.property, null)
  if (!fastify.hasRequestDecorator('jwtgate')) fastify.decorateRequest('jwtgate', null)
  fastify.addHook('onRoute', (route) => {
    const config = route.config?.jwtgate
    if (config === false) {
      if (!s.forwardHeaders || s.forwardNames.length === 0) return
      const strip = (request, reply, next) => {
        for (const name of s.forwardNames) delete request.headers[name]
        next()
      }
      route.onRequest = [strip, ...(route.onRequest === undefined ? [] : [].concat(route.onRequest))]
      return
    }
    let routeHook = hook
    if (config !== undefined && config !== true) {
      if (config === null || typeof config !== 'object') {
        throw new TypeError(`jwtgate: config.jwtgate of ${route.url} must be false or {claims}`)
      }
      if (config.claims !== undefined) {
        routeHook = hookFor({ ...s, verifier: s.verifier.withClaims(config.claims), isExcluded: () => false })
      }
    }
    const existing = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest]
    route.onRequest = [routeHook, ...existing]
  })
  fastify.decorate('jwtgate', s.verifier)
  done()
}

// Like fastify-plugin: the hooks and decorators reach the parent scope.
jwtgatePlugin[Symbol.for('skip-override')] = true
jwtgatePlugin[Symbol.for('fastify.display-name')] = 'jwtgate'
jwtgatePlugin[Symbol.for('plugin-meta')] = { name: 'jwtgate', fastify: '>=4' }

module.exports = jwtgatePlugin
module.exports.default = jwtgatePlugin
module.exports.jwtgate = jwtgatePlugin
module.exports.JwtError = JwtError
