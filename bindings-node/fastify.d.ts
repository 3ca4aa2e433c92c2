import type { ClaimRule, JwtError, Policy, Verified, Verifier } from './index'
import type { MiddlewareOptions } from './express'

declare function jwtgate(fastify: any, options: jwtgate.FastifyJwtgateOptions, done: (err?: Error) => void): void
declare namespace jwtgate {
  export interface FastifyJwtgateOptions extends MiddlewareOptions<any> {
    policy: Policy | string | Verifier
    /** Send a reply yourself; when it does not, the default rejection is sent. */
    onError?: (err: JwtError, request: any, reply: any) => void | Promise<void>
  }

  /** Per-route `config.jwtgate`: false opts out, `{claims}` adds rules. */
  export type JwtgateRouteConfig = false | { claims?: Record<string, ClaimRule> }
  export { jwtgate, JwtError }
}
declare module 'fastify' {
  interface FastifyRequest {
    auth: Record<string, unknown> | null
    jwtgate: Verified | null
  }
  interface FastifyInstance {
    jwtgate: Verifier
  }
  interface FastifyContextConfig {
    jwtgate?: jwtgate.JwtgateRouteConfig
  }
}
export = jwtgate
