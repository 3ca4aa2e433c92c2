import type { ClaimRule, JwtError, Policy, Verified, Verifier } from './index'

declare function jwtgate(policy: Policy | string | Verifier, options?: jwtgate.ExpressOptions): jwtgate.JwtgateMiddleware
declare namespace jwtgate {
  export interface MiddlewareOptions<Req> {
    /** Path prefixes (segment-wise) or RegExps that skip authentication. */
    exclude?: string | RegExp | Array<string | RegExp>
    /** Return true to let a request through unauthenticated. */
    skip?: (req: Req) => boolean
    /** Extra claim rules added to every issuer of the policy. */
    claims?: Record<string, ClaimRule>
    /** Where the claims go on the request; defaults to `auth`. */
    requestProperty?: string
    /** Set the policy's forward headers on the request; defaults to true. */
    forwardHeaders?: boolean
    /** Verify on the libuv pool; defaults to true only for remote key sets. */
    async?: boolean
  }

  export interface ExpressOptions extends MiddlewareOptions<any> {
    /** Answer rejections yourself; `err.code` is `missing_token` when no token was sent. */
    onError?: (err: JwtError, req: any, res: any, next: (err?: unknown) => void) => void
  }

  export interface JwtgateMiddleware {
    (req: any, res: any, next: (err?: unknown) => void): void
    /** The same middleware with more exclusions. */
    unless(options: { exclude?: ExpressOptions['exclude']; skip?: ExpressOptions['skip'] }): JwtgateMiddleware
    /** A route middleware that also enforces these claim rules (403 with the claim). */
    require(rules: Record<string, ClaimRule>): JwtgateMiddleware
    readonly verifier: Verifier
  }
  export { jwtgate, JwtError }
}
declare global {
  namespace Express {
    interface Request {
      auth?: Record<string, unknown>
      jwtgate?: Verified
    }
  }
}
export = jwtgate
