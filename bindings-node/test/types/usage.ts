// Compiled (not run) by test/types.test.js with `tsc --strict`: the public
// types accept what the README shows and reject what they should.
import { Verifier, Signer, JwtError, generateKey, jwks, Verified, CODES, Decision, Route, type ErrorCode, type Claims, type RouteDoc, type Policy } from 'jwtgate'
import jwtgateExpress = require('jwtgate/express')
import jwtgateFastify = require('jwtgate/fastify')

const key = generateKey('ES256', { kid: 'k' })
const signer = Signer.fromKey(key, { typ: 'at+jwt' })
const verifier = new Verifier({
  issuers: [{ issuer: 'https://i/', audiences: ['a'], algorithms: ['ES256'], keys: { jwks: jwks([signer]) } }],
  token_sources: [{ header: 'Authorization', scheme: 'Bearer' }, { cookie: 'access_token' }],
})
const token: string = signer.sign({ sub: 'ada' }, { lifetimeS: 60, now: new Date() })
const result: Verified = verifier.verify(token, { now: 1700000000 })
const claims: Claims = result.claims
const subject: string | undefined = result.claims.sub
const audience: string | string[] | undefined = result.claims.aud
const expires: number | undefined = result.claims.exp
const custom: unknown = result.claims.roles
const issuer: string | null = result.issuer
const forwarded: Record<string, string> = result.headers
const batch: Array<Verified | JwtError> = verifier.verifyMany([token, Buffer.from(token)])
const found: string | null = verifier.findToken({ authorization: `Bearer ${token}` }, 'a=b')
const narrowed: Verifier = verifier.withClaims({ roles: { contains_all: ['admin'], required: true } })
const hits: number = verifier.stats().cache_hits
const codes: readonly ErrorCode[] = CODES
async function run(): Promise<void> {
  try {
    await verifier.verifyAsync(token)
  } catch (e) {
    if (e instanceof JwtError) {
      const fields: [string, number | null, string | null, string] = [e.code, e.status, e.claim, e.wwwAuthenticate]
      console.log(fields)
    }
  }
}

const auth = jwtgateExpress(verifier, {
  exclude: ['/health', /^\/public/],
  mode: 'required',
  onError: (err, _req, res) => res.status(err.status ?? 500).end(),
  onDecision: (d: Decision) => console.log(d.code, d.mode),
})
const route: jwtgateExpress.JwtgateMiddleware = auth.require({ claims: { subscribedAPIs: { contains_all: ['orders'] } }, scopes: ['orders:read'] })
const doc: RouteDoc = { scopes: ['a'], claims_to_headers: { tenant: 'X-Tenant' }, mode: 'report_only', keep_query_token: false, exclude: ['/h'] }
const alternatives: RouteDoc = {
  claims: { level: { ge: 2, lt: 10.5, status: 401 }, tier: { not_equals: 'trial', required: false }, roles: { none_of: ['banned'] } },
  any_of: [{ roles: { contains_any: ['admin'] } }, { scope: { contains_any: ['orders:write'] } }],
}
verifier.route(alternatives)
// @ts-expect-error a rule's status is 401 or 403
verifier.route({ claims: { level: { ge: 2, status: 500 } } })
// @ts-expect-error a bound is a number
verifier.route({ claims: { level: { gt: '2' } } })
const compiled: Route = verifier.route(doc).merge(verifier.route({ mode: 'optional' }))
const decision: Decision = verifier.decide({ method: 'GET', url: '/x', headers: { authorization: 'Bearer t', cookie: ['a=1'] } }, compiled)
const fields: [boolean, number, ErrorCode | null, Claims | null, Array<[string, string]>, string[], string | null] = [
  decision.allow, decision.status, decision.code, decision.claims, decision.setHeaders, decision.removeHeaders, decision.upstreamUrl,
]
async function gateway(): Promise<Decision> {
  const first = await verifier.decideAsync({ url: '/x', headers: [['Authorization', 'Bearer t']], peer: '10.0.0.1' })
  return verifier.decideAfter(first, { url: '/x', headers: ['Authorization', 'Bearer t'] }, { scopes: ['b'] })
}
const fastifyOptions: jwtgateFastify.FastifyJwtgateOptions = { policy: 'policy.json', async: true }

// @ts-expect-error an algorithm name that does not exist
generateKey('none')
// @ts-expect-error claims must be an object
signer.sign('sub')
// @ts-expect-error a policy needs issuers
new Verifier({ token_sources: [] })
// The algorithms of RFC 8812, RFC 9864 and FIPS 204, and the low-S rule.
new Verifier({
  issuers: [{ algorithms: ['ES256K', 'Ed25519', 'EdDSA', 'ML-DSA-44', 'ML-DSA-65', 'ML-DSA-87'], es256k_low_s: true, keys: { jwks_file: 'k.json' } }],
})
// @ts-expect-error ML-DSA names carry their hyphens
new Verifier({ issuers: [{ algorithms: ['MLDSA44'], keys: { jwks_file: 'k.json' } }] })
// @ts-expect-error a typo inside an issuer (leway_s)
new Verifier({ issuers: [{ algorithms: ['ES256'], keys: { jwks_file: 'k.json' }, leway_s: 5 }] })
// @ts-expect-error a typo inside the keys of a remote set
new Verifier({ issuers: [{ algorithms: ['ES256'], keys: { jwks_uri: 'https://i/jwks', initial_wait: 5 } }] })
// @ts-expect-error a typo at the top level
new Verifier({ issuers: [], token_source: [] })
// @ts-expect-error an unknown mode
verifier.route({ mode: 'sometimes' })
// @ts-expect-error a typo in a route document
verifier.route({ scope: ['a'] })
// @ts-expect-error a registered claim has its registered type
const badExp: string | undefined = result.claims.exp

console.log(claims, subject, audience, expires, custom, issuer, forwarded, batch, found, narrowed, hits, codes, run, route, fastifyOptions, fields, gateway, badExp)

// Sender-constrained tokens and the protected resource: every field typed.
const senderPolicy: Policy = {
  issuers: [
    {
      issuer: 'https://idp/',
      algorithms: ['ES256'],
      keys: { jwks_uri: 'https://idp/jwks' },
      dpop: { mode: 'required', iat_window_s: 30, nonce: { secret: 'c2VjcmV0', window_s: 120 }, algorithms: ['ES256'] },
      mtls_binding: 'allowed',
    },
    { issuer: 'https://idp2/', algorithms: ['RS256'], keys: { pem_file: 'k.pem' }, dpop: 'allowed' },
  ],
  resource: { uri: 'https://api.example.com/mcp', scopes_supported: ['mcp'], max_age_s: 60 },
  trusted_proxies: ['10.0.0.0/8'],
  client_cert_header: 'X-Client-Cert',
  replay_store: { redis: 'redis://127.0.0.1:6379/0', on_error: 'fail_closed', timeout_ms: 100 },
}
console.log(senderPolicy)
// @ts-expect-error a typo inside the DPoP settings (iat_window)
new Verifier({ issuers: [{ algorithms: ['ES256'], keys: { jwks_file: 'k.json' }, dpop: { iat_window: 30 } }] })
// @ts-expect-error an unknown binding mode
new Verifier({ issuers: [{ algorithms: ['ES256'], keys: { jwks_file: 'k.json' }, mtls_binding: 'sometimes' }] })
// @ts-expect-error the replay store's on_error has two values
new Verifier({ issuers: [], replay_store: { on_error: 'retry' } })

// The middleware's clock (tests that replay requests made at a known time).
jwtgateExpress(verifier, { now: 1700000000 })
jwtgateExpress(verifier, { now: () => new Date() })
// @ts-expect-error now is an instant or a function returning one
jwtgateExpress(verifier, { now: '1700000000' })

