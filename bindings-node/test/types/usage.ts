// Compiled (not run) by test/types.test.js with `tsc --strict`: the public
// types accept what the README shows and reject what they should.
import { Verifier, Signer, JwtError, generateKey, jwks, Verified, CODES, type ErrorCode } from 'jwtgate'
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
const claims: Record<string, unknown> = result.claims
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

const auth = jwtgateExpress(verifier, { exclude: ['/health', /^\/public/], onError: (err, _req, res) => res.status(err.status ?? 500).end() })
const route: jwtgateExpress.JwtgateMiddleware = auth.require({ subscribedAPIs: { contains_all: ['orders'] } })
const fastifyOptions: jwtgateFastify.FastifyJwtgateOptions = { policy: 'policy.json', async: true }

// @ts-expect-error an algorithm name that does not exist
generateKey('none')
// @ts-expect-error claims must be an object
signer.sign('sub')
// @ts-expect-error a policy needs issuers
new Verifier({ token_sources: [] })

console.log(claims, issuer, forwarded, batch, found, narrowed, hits, codes, run, route, fastifyOptions)
