'use strict'
// Express (4 and 5) middleware, in the spirit of express-jwt:
//
//   const jwtgate = require('jwtgate/express')
//   const auth = jwtgate(policy, { exclude: ['/health'] })
//   app.use(auth)
//   app.get('/orders', auth.require({ subscribedAPIs: { contains_all: ['orders'] } }), handler)
//
// The token comes from where the policy's `token_sources` say (header,
// cookie or query, found by the core). A verified request gets `req.auth`
// (the claims), `req.jwtgate` (the Verified result) and the policy's forward
// headers set on `req.headers` (any the client sent under those names are
// removed). A rejected one is answered 401/403/503 with `WWW-Authenticate`
// and `{"error": code, "message": ..., "claim"?: ...}`, or handed to
// `options.onError(err, req, res, next)`.

const { missingToken, settings, queryOf, pathOf, setForwardHeaders, rejection } = require('./middleware.js')
const { JwtError } = require('./index.js')

function reject(s, err, req, res, next) {
  if (s.onError) {
    try {
      return s.onError(err, req, res, next)
    } catch (e) {
      return next(e)
    }
  }
  const { status, challenge, body } = rejection(err)
  res.statusCode = status
  res.setHeader('WWW-Authenticate', challenge)
  res.setHeader('Content-Type', 'application/json; charset=utf-8')
  res.setHeader('Content-Length', Buffer.byteLength(body))
  res.end(body)
}

function accept(s, verified, req, next) {
  req[s.property] = verified.claims
  req.jwtgate = verified
  if (s.forwardHeaders && s.forwardNames.length > 0) setForwardHeaders(req.headers, s.forwardNames, verified)
  next()
}

function build(s) {
  function jwtgateMiddleware(req, res, next) {
    const url = req.originalUrl ?? req.url
    if (s.isExcluded(pathOf(url)) || (s.skip && s.skip(req))) {
      // Nothing vouches for these headers on an unauthenticated request.
      if (s.forwardHeaders) for (const name of s.forwardNames) delete req.headers[name]
      return next()
    }
    let token
    try {
      token = s.verifier.findToken(req.headers, queryOf(url))
    } catch (e) {
      return next(e)
    }
    if (token === null) return reject(s, missingToken(), req, res, next)
    if (s.offload) {
      s.verifier.verifyAsync(token).then(
        (verified) => accept(s, verified, req, next),
        (err) => (err instanceof JwtError ? reject(s, err, req, res, next) : next(err)),
      )
      return
    }
    let verified
    try {
      verified = s.verifier.verify(token)
    } catch (err) {
      return err instanceof JwtError ? reject(s, err, req, res, next) : next(err)
    }
    accept(s, verified, req, next)
  }
  /** The same middleware with extra options (e.g. `{exclude}` or `{skip}`); the verifier is kept. */
  jwtgateMiddleware.unless = (options = {}) => {
    const more = settings(s.verifier, { ...options, claims: undefined })
    const skip = (req) =>
      more.isExcluded(pathOf(req.originalUrl ?? req.url)) || (more.skip ? more.skip(req) : false)
    return build({ ...s, skip: s.skip ? (req) => s.skip(req) || skip(req) : skip })
  }
  /**
   * A middleware for one route that also enforces extra claim rules (the
   * policy's `claims` syntax), answered with 403 and the claim's name. The
   * derived verifier is built once, here, not per request.
   */
  jwtgateMiddleware.require = (rules) => {
    const verifier = s.verifier.withClaims(rules)
    return build({ ...s, verifier, isExcluded: () => false, skip: undefined })
  }
  jwtgateMiddleware.verifier = s.verifier
  return jwtgateMiddleware
}

/**
 * The middleware. `policy` is a Verifier, a policy object, JSON text or a
 * file path. Options:
 * - `exclude`: path prefixes or RegExps that skip authentication;
 * - `skip(req)`: return true to let a request through unauthenticated;
 * - `claims`: extra claim rules (policy syntax) added to every issuer;
 * - `requestProperty`: where the claims go (defaults to `auth`);
 * - `forwardHeaders`: set the policy's forward headers on `req.headers`
 *   (defaults to true);
 * - `async`: verify on the libuv pool (defaults to true only when keys
 *   come from the network, where a fetch would otherwise block the loop);
 * - `onError(err, req, res, next)`: answer rejections yourself; `err` is a
 *   JwtError (`code` `missing_token` when the request carries no token).
 */
function jwtgate(policy, options) {
  return build(settings(policy, options))
}

module.exports = jwtgate
module.exports.default = jwtgate
module.exports.jwtgate = jwtgate
module.exports.JwtError = JwtError
