'use strict'
// Fastify (4 and 5) plugin:
//
//   await app.register(require('jwtgate/fastify'), { policy, exclude: ['/health'] })
//   app.get('/public', { config: { jwtgate: false } }, handler)                  // mode off
//   app.get('/orders', { config: { jwtgate: { scopes: ['orders:read'] } } }, handler)  // a route document
//
// Every route registered after the plugin (in its scope and the parent's)
// gets one onRequest hook that asks the core for the decision and applies
// it as it is: the headers it removes are deleted from `request.headers`
// and the ones it sets are set, `request.url` becomes the upstream URL
// when a query-string token is cut from it, and `request.auth` holds the
// claims (null without identity); a rejection is answered with the
// decision's status, headers and JSON body, unless
// `onError(err, request, reply)` sends a reply itself. A route's
// `config.jwtgate` (a route document or a Route) is merged on top of the
// plugin's options once, when the route is registered, so a request is
// verified once whatever the levels.

const { settings, nested, requestOf, decideLayer, applyHeaders, errorOf } = require('./middleware.js')
const { JwtError } = require('./api.js')

const urlOf = (request) => request.raw.url

function sendRejection(d, reply) {
  reply.code(d.status)
  for (const [name, value] of d.responseHeaders) reply.header(name, value)
  reply.send(d.body)
}

function hookFor(s) {
  function reject(d, request, reply) {
    if (s.onError) {
      const err = errorOf(d)
      let result
      try {
        result = s.onError(err, request, reply)
      } catch (e) {
        reply.send(e)
        return
      }
      if (result && typeof result.then === 'function') {
        result.then(
          () => reply.sent || sendRejection(d, reply),
          (e) => reply.send(e),
        )
        return
      }
      if (reply.sent) return
    }
    sendRejection(d, reply)
  }

  return function jwtgateOnRequest(request, reply, done) {
    const raw = request.raw
    const route = s.skip && s.skip(request) ? s.off : s.route
    decideLayer(
      s,
      request,
      requestOf(s, raw, raw.url),
      route,
      (d) => {
        // Forwarded names go whatever the outcome (request.headers is
        // raw.headers).
        applyHeaders(raw, d)
        if (d.allow) {
          // request.url reads raw.url; request.query was parsed by Fastify
          // before onRequest hooks run.
          if (d.upstreamUrl !== null) raw.url = d.upstreamUrl
          request[s.property] = d.claims
          request.jwtgate = d
        }
        // After the request is rewritten: a hook that logs it never sees
        // a query-string token.
        if (s.onDecision) {
          try {
            s.onDecision(d, request)
          } catch (e) {
            return done(e)
          }
        }
        if (!d.allow) return reject(d, request, reply)
        done()
      },
      done,
    )
  }
}

/**
 * The plugin. Options: `policy` (a Verifier, policy object, JSON text or
 * file path) and, as for the Express middleware, `exclude`, `skip(request)`,
 * `claims`, `mode`, `route`, `requestProperty` (defaults to `auth`),
 * `async`, `onError(err, request, reply)`, `onDecision(decision,
 * request)` and `now`. Per route, `config.jwtgate` set to false decides in mode
 * `off`; a route document (`{claims, scopes, mode, ...}`) or a Route is
 * merged on top of the plugin's options.
 */
function jwtgatePlugin(fastify, options, done) {
  let s
  try {
    const { policy, ...rest } = options ?? {}
    if (policy === undefined) throw new TypeError('jwtgate: the plugin needs options.policy')
    s = settings(policy, rest, urlOf)
  } catch (e) {
    return done(e)
  }
  const hook = hookFor(s)
  const offHook = hookFor({ ...s, route: s.off, skip: undefined })
  if (!fastify.hasRequestDecorator(s.property)) fastify.decorateRequest(s.property, null)
  if (!fastify.hasRequestDecorator('jwtgate')) fastify.decorateRequest('jwtgate', null)
  fastify.addHook('onRoute', (route) => {
    const config = route.config?.jwtgate
    let routeHook = hook
    if (config === false) {
      routeHook = offHook
    } else if (config !== undefined && config !== true) {
      if (config === null || typeof config !== 'object') {
        throw new TypeError(`jwtgate: config.jwtgate of ${route.url} must be false, a route document or a Route`)
      }
      routeHook = hookFor(nested(s, config, false))
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
