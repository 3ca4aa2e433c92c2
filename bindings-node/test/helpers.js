'use strict'
// Keys, a policy and tokens for every outcome, all made here with the
// addon's own Signer and generated keys.

const { Signer, generateKey } = require('..')
const { freePort } = require('../../tests/support/node')

const ISSUER = 'https://idp.test/'
const AUDIENCE = 'api://orders'

function b64(value) {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')
}

function fixtures() {
  const key = generateKey('ES256', { kid: 'k1' })
  const signer = Signer.fromKey(key)
  const stranger = Signer.fromKey(generateKey('ES256', { kid: 'k1' }))
  const unknownKid = Signer.fromKey(generateKey('ES256', { kid: 'nobody' }))
  const hmac = Signer.fromSecret('HS256', Buffer.alloc(32, 7), { kid: 'k1' })
  const policy = {
    issuers: [
      {
        issuer: ISSUER,
        audiences: [AUDIENCE],
        algorithms: ['ES256'],
        keys: { jwks: { keys: [key.publicJwk] } },
        require: ['exp', 'sub'],
        claims: { dept: { equals: 'IT', required: true } },
        forward: { claims_to_headers: { sub: 'X-User', dept: 'X-Dept' }, payload_header: 'X-JWT-Payload' },
      },
    ],
    token_sources: [{ header: 'Authorization', scheme: 'Bearer' }, { cookie: 'access_token' }, { query: 'access_token' }],
    max_token_bytes: 4096,
  }
  const now = () => Math.floor(Date.now() / 1000)
  const claims = (extra = {}) => ({ iss: ISSUER, aud: AUDIENCE, sub: 'ada', dept: 'IT', ...extra })
  const good = (extra) => signer.sign(claims(extra), { lifetimeS: 600 })
  const withHeader = (header, payload) => {
    const input = `${b64(header)}.${b64(payload)}`
    return `${input}.${signer.signBytes(input).toString('base64url')}`
  }
  /** A token for every rejection a request can get, by code. */
  const rejects = () => ({
    malformed: 'not-a.token',
    too_large: `${'a'.repeat(3000)}.${'b'.repeat(1500)}.c`,
    header: withHeader({ alg: 'ES256', kid: 'k1', crit: ['x-unknown'], 'x-unknown': 1 }, { ...claims(), exp: now() + 600 }),
    algorithm: hmac.sign(claims(), { lifetimeS: 600 }),
    key_not_found: unknownKid.sign(claims(), { lifetimeS: 600 }),
    signature: stranger.sign(claims(), { lifetimeS: 600 }),
    expired: signer.sign(claims(), { lifetimeS: 60, now: now() - 7200 }),
    not_yet_valid: signer.sign(claims({ nbf: now() + 3600 }), { lifetimeS: 7200 }),
    issuer: signer.sign(claims({ iss: 'https://evil.test/' }), { lifetimeS: 600 }),
    audience: signer.sign(claims({ aud: 'api://other' }), { lifetimeS: 600 }),
    claim: signer.sign(claims({ dept: 'HR' }), { lifetimeS: 600 }),
  })
  return { key, signer, policy, good, rejects, claims, ISSUER, AUDIENCE }
}

/** A policy whose keys come from an endpoint nobody listens on. */
async function unreachableJwksPolicy() {
  const port = await freePort()
  return {
    issuers: [
      {
        issuer: ISSUER,
        algorithms: ['ES256'],
        keys: { jwks_uri: `http://127.0.0.1:${port}/jwks.json`, allow_http: true, timeout_ms: 1000, initial_wait_ms: 1000 },
      },
    ],
  }
}

/** fetch with a bounded timeout. */
function get(url, headers = {}) {
  return fetch(url, { headers, signal: AbortSignal.timeout(10000) })
}

// Status and blamed claim of each rejection the fixtures' tokens provoke.
const EXPECTED_REJECTIONS = {
  malformed: [401, null],
  too_large: [401, null],
  header: [401, null],
  algorithm: [401, null],
  key_not_found: [401, null],
  signature: [401, null],
  expired: [401, 'exp'],
  not_yet_valid: [401, null],
  issuer: [401, 'iss'],
  audience: [401, 'aud'],
  claim: [403, 'dept'],
}

module.exports = { fixtures, unreachableJwksPolicy, get, b64, ISSUER, AUDIENCE, EXPECTED_REJECTIONS }
