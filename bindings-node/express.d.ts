import type { Claims, ClaimRule, Decision, JwtError, Mode, Policy, Route, RouteDoc, Verifier } from './index'

declare function jwtgate(policy: Policy | string | Verifier, options?: jwtgate.ExpressOptions): jwtgate.JwtgateMiddleware
declare namespace jwtgate {
  export interface MiddlewareOptions<Req> {
    /** Path prefixes (segment-wise, the route's `exclude`) or RegExps decided in mode `off`. */
    exclude?: string | RegExp | Array<string | RegExp>
    /** Return true to decide a request in mode `off`. */
    skip?: (req: Req) => boolean
    /** Claim rules on top of the policy's. */
    claims?: Record<string, ClaimRule>
    /** `required` (default), `optional`, `report_only` or `off`. */
    mode?: Mode
    /** Any other route document fields (`scopes`, `claims_to_headers`, `keep_query_token`, ...), or a Route. */
    route?: RouteDoc | Route
    /** Where the claims go on the request; defaults to `auth`. */
    requestProperty?: string
    /** Decide on the libuv pool; defaults to true only for remote key sets. */
    async?: boolean
    /** Sees every decision (report_only rollouts, logging). */
    onDecision?: (decision: Decision, req: Req) => void
    /**
     * The instant to decide at: unix seconds, a Date, or a function returning
     * one per request. Defaults to the system clock; for tests that replay
     * requests made at a known time (DPoP proofs carry their `iat`).
     */
    now?: number | Date | (() => number | Date)
  }

  export interface ExpressOptions extends MiddlewareOptions<any> {
    /** Answer rejections yourself; `err.decision` is the whole decision. */
    onError?: (err: JwtError & { decision: Decision }, req: any, res: any, next: (err?: unknown) => void) => void
  }

  export interface JwtgateMiddleware {
    (req: any, res: any, next: (err?: unknown) => void): void
    /** The same middleware with more exclusions. */
    unless(options: { exclude?: ExpressOptions['exclude']; skip?: ExpressOptions['skip'] }): JwtgateMiddleware
    /** A route middleware: `doc` on top of this one's route; reuses this middleware's verification of the request. */
    require(doc: RouteDoc | Route): JwtgateMiddleware
    readonly verifier: Verifier
    readonly route: Route
  }
  export { jwtgate, JwtError }
}
declare global {
  namespace Express {
    interface Request {
      /** The verified claims; null without identity. */
      auth?: Claims | null
      /** The decision applied to this request. */
      jwtgate?: Decision
    }
  }
}
export = jwtgate
