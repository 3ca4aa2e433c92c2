// Compiled (not run) by test/types.test.js with `tsc --strict`, apart from
// ../usage.ts and with `skipLibCheck` (tsc --init's default): the MCP SDK
// and jwtgate/express both declare Express's `req.auth` (the SDK's AuthInfo,
// jwtgate's claims), and @types/express then finds the two at odds. The
// expected errors below fail the build if the SDK's types did not resolve.
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js'
import { Signer, Verifier, generateKey, jwks, type Policy } from 'jwtgate'
import { tokenVerifier, authInfo, JwtTokenVerifier } from 'jwtgate/mcp'

const signer = Signer.fromKey(generateKey('ES256', { kid: 'k' }), { typ: 'at+jwt' })
const policy: Policy = {
  issuers: [{ issuer: 'https://idp/', algorithms: ['ES256'], keys: { jwks: jwks([signer]) } }],
  resource: { uri: 'https://api.example.com/mcp', scopes_supported: ['mcp'] },
}
// The verifier is the SDK's OAuthTokenVerifier.
const verifier: JwtTokenVerifier = tokenVerifier(new Verifier(policy), { route: { scopes: ['mcp'] } })
const bearer = requireBearerAuth({ verifier, requiredScopes: ['mcp'] })
const resource: string | null = verifier.resource
async function run(token: string): Promise<void> {
  const info = await verifier.verifyAccessToken(token)
  const clientId: string = info.clientId
  const scopes: string[] = info.scopes
  const expires: number | undefined = info.expiresAt
  console.log(clientId, scopes, expires, authInfo(token, { sub: 'ada' }).extra)
  // @ts-expect-error clientId is the SDK's string
  const wrong: number = info.clientId
  console.log(wrong)
}
// @ts-expect-error requireBearerAuth wants an OAuthTokenVerifier
requireBearerAuth({ verifier: {} })
console.log(bearer, resource, run, new JwtTokenVerifier('policy.json'))
// @ts-expect-error the options hold a route only
tokenVerifier(policy, { requiredScopes: ['mcp'] })
