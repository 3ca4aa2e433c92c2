import type { Claims, Decision, JwtError, Policy, Route, RouteDoc, Verifier } from './index'
import type { MiddlewareOptions } from './express'

declare function jwtgate(fastify: any, options: jwtgate.FastifyJwtgateOptions, done: (err?: Error) => void): void
declare namespace jwtgate {
  export interface FastifyJwtgateOptions extends MiddlewareOptions<any> {
    policy: Policy | string | Verifier
    /** Send a reply yourself; when it does not, the default rejection is sent. */
    onError?: (err: JwtError & { decision: Decision }, request: any, reply: any) => void | Promise<void>
  }

  /** Per-route `config.jwtgate`: false decides in mode `off`; a route document or a Route is merged on top. */
  export type JwtgateRouteConfig = false | RouteDoc | Route
  export { jwtgate, JwtError }
}
declare module 'fastify' {
  interface FastifyRequest {
    /** The verified claims; null without identity. */
    auth: Claims | null
    /** The decision applied to this request. */
    jwtgate: Decision | null
  }
  interface FastifyInstance {
    jwtgate: Verifier
  }
  interface FastifyContextConfig {
    jwtgate?: jwtgate.JwtgateRouteConfig
  }
}
export = jwtgate
