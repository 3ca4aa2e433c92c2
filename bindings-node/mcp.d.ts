import type { OAuthTokenVerifier } from '@modelcontextprotocol/sdk/server/auth/provider.js'
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js'
import type { Claims, Policy, Route, RouteDoc, Verifier } from './index'

export interface TokenVerifierOptions {
  /** Requirements on top of the policy (`claims`, `scopes`, ...): a route document or a Route. */
  route?: RouteDoc | Route
}

/**
 * The MCP SDK's token verifier over a jwtgate policy: `verifyAccessToken`
 * resolves with the AuthInfo of a token the policy accepts as a Bearer
 * token, and rejects with the SDK's InvalidTokenError (401),
 * InsufficientScopeError (403) or ServerError (500).
 */
export declare class JwtTokenVerifier implements OAuthTokenVerifier {
  constructor(policy: Policy | string | Verifier, options?: TokenVerifierOptions)
  readonly verifier: Verifier
  /** The route every token is decided with (the caller's, Bearer only, mode `required`). */
  readonly route: Route
  /** The policy's `resource.uri`, or null. */
  readonly resource: string | null
  verifyAccessToken(token: string): Promise<AuthInfo>
}

/** `new JwtTokenVerifier(policy, options)`. */
export declare function tokenVerifier(policy: Policy | string | Verifier, options?: TokenVerifierOptions): JwtTokenVerifier

/**
 * The SDK's AuthInfo for verified claims: `clientId` from `client_id`, `azp`
 * or `sub`; `scopes` from `scope` or `scp`; `expiresAt` from `exp`;
 * `resource` from `aud` (the entry equal to `resource` in an array);
 * `extra.subject` and `extra.claims`.
 */
export declare function authInfo(token: string, claims: Claims, resource?: string | null): AuthInfo
