'use strict'
// Express (4 and 5) middleware:
//
//   const jwtgate = require('jwtgate/express')
//   const auth = jwtgate(policy, { exclude: ['/health'] })
//   app.use(auth)
//   app.get('/orders', auth.require({ scopes: ['orders:read'] }), handler)
//
// Each request is decided by the core (`verifier.decide`) and the decision
// is applied as it is: the headers it removes are deleted from
// `req.headers` and the ones it sets are set, `req.url` becomes the
// upstream URL when a query-string token is cut from it, and `req.auth`
// holds the claims (null without identity); a rejection is answered with
// the decision's status, headers and JSON body, or handed to
// `options.onError(err, req, res, next)`. `auth.require(routeDoc)` adds a
// route's requirements on top and reuses the verification `app.use(auth)`
// made for the same request.

const { settings, nested, unless, requestOf, decideLayer, applyHeaders, errorOf } = require('./middleware.js')
const { JwtError } = require('./api.js')

const urlOf = (req) => req.originalUrl ?? req.url

function reject(s, d, req, res, next) {
  if (s.onError) {
    try {
      return s.onError(errorOf(d), req, res, next)
    } catch (e) {
      return next(e)
    }
  }
  res.statusCode = d.status
  for (const [name, value] of d.responseHeaders) res.setHeader(name, value)
  res.setHeader('Content-Length', Buffer.byteLength(d.body))
  res.end(d.body)
}

/** `req.url` and `req.originalUrl` to the upstream URL (relative to a router's mount path where there is one). */
function rewrite(req, upstream) {
  if (req.originalUrl === undefined || req.url === req.originalUrl) {
    req.url = upstream
  } else {
    const q = upstream.indexOf('?')
    const p = req.url.indexOf('?')
    req.url = (p < 0 ? req.url : req.url.slice(0, p)) + (q < 0 ? '' : upstream.slice(q))
  }
  if (req.originalUrl !== undefined) req.originalUrl = upstream
}

function build(s) {
  function jwtgateMiddleware(req, res, next) {
    const route = s.skip && s.skip(req) ? s.off : s.route
    const request = requestOf(s, req, urlOf(req))
    decideLayer(
      s,
      req,
      request,
      route,
      (d) => {
        // Forwarded names go whatever the outcome: an onError that lets
        // the request through must not pass the client's copies on.
        applyHeaders(req, d)
        if (d.allow) {
          if (d.upstreamUrl !== null) rewrite(req, d.upstreamUrl)
          req[s.property] = d.claims
          req.jwtgate = d
        }
        // After the request is rewritten: a hook that logs it never sees
        // a query-string token.
        if (s.onDecision) {
          try {
            s.onDecision(d, req)
          } catch (e) {
            return next(e)
          }
        }
        if (!d.allow) return reject(s, d, req, res, next)
        next()
      },
      next,
    )
  }
  /** The same middleware with more exclusions (`{exclude}` prefixes or RegExps, `{skip}`). */
  jwtgateMiddleware.unless = (options = {}) => build(unless(s, options, urlOf))
  /**
   * A middleware for one route: `doc` (a route document or a Route) on top
   * of this middleware's. After this middleware ran on the same request it
   * verifies nothing again; it only checks what the route adds.
   */
  jwtgateMiddleware.require = (doc) => build(nested(s, doc))
  jwtgateMiddleware.verifier = s.verifier
  jwtgateMiddleware.route = s.route
  return jwtgateMiddleware
}

/**
 * The middleware. `policy` is a Verifier, a policy object, JSON text or a
 * file path. Options:
 * - `exclude`: path prefixes (segment-wise, checked by the core) or
 *   RegExps (checked here) decided in mode `off`: no token needed, the
 *   forwarded headers still removed;
 * - `skip(req)`: return true to decide a request in mode `off`;
 * - `claims`: claim rules (policy syntax) on top of the policy's;
 * - `mode`: `required` (default), `optional`, `report_only` or `off`;
 * - `route`: any other route document fields (`scopes`,
 *   `claims_to_headers`, `keep_query_token`, ...);
 * - `requestProperty`: where the claims go (defaults to `auth`);
 * - `async`: decide on the libuv pool (defaults to true only when keys
 *   come from the network, where a fetch would otherwise block the loop);
 * - `onError(err, req, res, next)`: answer rejections yourself; `err` is a
 *   JwtError (`err.decision` the whole decision);
 * - `onDecision(decision, req)`: sees every decision (for report_only);
 * - `now`: the instant to decide at, unix seconds or a Date, or a function
 *   returning one per request (defaults to the system clock; for tests that
 *   replay requests made at a known time, such as DPoP proofs).
 */
function jwtgate(policy, options) {
  return build(settings(policy, options, urlOf))
}

module.exports = jwtgate
module.exports.default = jwtgate
module.exports.jwtgate = jwtgate
module.exports.JwtError = JwtError
