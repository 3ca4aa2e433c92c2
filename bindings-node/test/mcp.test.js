'use strict'
// MCP servers on jwtgate: jwtgate/mcp with the official TypeScript SDK.
// examples/mcp-server.js runs as a real process on 127.0.0.1, once with a
// Bearer policy (the SDK's requireBearerAuth asks jwtgate's verifier) and
// once with DPoP required (jwtgate's middleware in front). The SDK's own
// client calls its tools; the SDK's client-side discovery reads the RFC 9728
// document jwtgate serves; a missing, bad or under-scoped token gets the
// SDK's 401 or 403 with resource_metadata. The verifier itself: claims to
// AuthInfo, the SDK's error classes (CommonJS and ES module builds), keys
// out of reach as the SDK's server error.

const test = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const fs = require('node:fs')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')
const readline = require('node:readline')
const { spawn } = require('node:child_process')
const { Client } = require('@modelcontextprotocol/sdk/client/index.js')
const { StreamableHTTPClientTransport } = require('@modelcontextprotocol/sdk/client/streamableHttp.js')
const { discoverOAuthProtectedResourceMetadata, extractWWWAuthenticateParams } = require('@modelcontextprotocol/sdk/client/auth.js')
const errors = require('@modelcontextprotocol/sdk/server/auth/errors.js')
const { Signer, generateKey } = require('..')
const { tokenVerifier, authInfo, JwtTokenVerifier } = require('../mcp.js')

const keys = path.join(__dirname, '..', '..', 'tests', 'keys')
const read = (name) => fs.readFileSync(path.join(keys, name), 'utf8')
const EXAMPLE = path.join(__dirname, '..', 'examples', 'mcp-server.js')
const ISSUER = 'https://idp.example.com/'
const RESOURCE = 'https://mcp.example.com/mcp'
const METADATA_PATH = '/.well-known/oauth-protected-resource/mcp'
const INITIALIZE = {
  jsonrpc: '2.0', id: 1, method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'test', version: '1' } },
}

const idp = Signer.fromPem('ES256', read('ecp256.pem'), { kid: 'idp-1' })
const other = Signer.fromKey(generateKey('ES256'))

function policy(issuer = {}) {
  return {
    issuers: [{ issuer: ISSUER, algorithms: ['ES256'], keys: { pem: read('ecp256.pub.pem') }, require: ['exp'], ...issuer }],
    resource: { uri: RESOURCE, scopes_supported: ['orders:read'] },
  }
}

function token(changes = {}, signer = idp) {
  const claims = { iss: ISSUER, aud: RESOURCE, sub: 'ada', client_id: 'shop', scope: 'orders:read profile', ...changes }
  return signer.sign(claims, 'exp' in changes ? {} : { lifetimeS: 600 })
}

// DPoP proofs (RFC 9449) made here with the client's RSA key.
const clientKey = crypto.createPrivateKey(read('rsa.pem'))
const clientJwk = (({ kty, n, e }) => ({ kty, n, e }))(crypto.createPublicKey(clientKey).export({ format: 'jwk' }))
const jkt = crypto.createHash('sha256').update(JSON.stringify({ e: clientJwk.e, kty: 'RSA', n: clientJwk.n })).digest('base64url')
const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url')

function proof(method, access) {
  const ath = crypto.createHash('sha256').update(access).digest('base64url')
  const input = `${b64({ typ: 'dpop+jwt', alg: 'RS256', jwk: clientJwk })}.${b64({
    htm: method, htu: RESOURCE, iat: Math.floor(Date.now() / 1000), jti: crypto.randomUUID(), ath,
  })}`
  return `${input}.${crypto.sign('sha256', Buffer.from(input), clientKey).toString('base64url')}`
}

/** Starts the example on a policy; resolves {url, close} once it prints its URL. */
async function start(doc) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jwtgate-mcp-'))
  const file = path.join(dir, 'policy.json')
  fs.writeFileSync(file, JSON.stringify(doc))
  const child = spawn(process.execPath, [EXAMPLE, file, '0'], { stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the example did not start')), 30000)
    readline.createInterface({ input: child.stdout }).once('line', (line) => {
      clearTimeout(timer)
      resolve(new URL(line.trim()))
    })
    child.once('exit', (code) => reject(new Error(`the example exited with ${code}`)))
  })
  return {
    url,
    close: async () => {
      child.kill()
      await exited
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}

function post(url, headers = {}) {
  return fetch(url, {
    method: 'POST',
    headers: { accept: 'application/json, text/event-stream', 'content-type': 'application/json', ...headers },
    body: JSON.stringify(INITIALIZE),
    signal: AbortSignal.timeout(10000),
  })
}

/** The SDK's client: connect over streamable HTTP and call the whoami tool. */
async function whoami(url, transportOptions) {
  const client = new Client({ name: 'test', version: '1' })
  await client.connect(new StreamableHTTPClientTransport(url, transportOptions))
  try {
    const result = await client.callTool({ name: 'whoami', arguments: {} })
    assert.ok(!result.isError, JSON.stringify(result))
    return result.structuredContent
  } finally {
    await client.close()
  }
}

test.describe('the example MCP server with Bearer tokens (requireBearerAuth + jwtgate/mcp)', () => {
  let server
  test.before(async () => {
    server = await start(policy())
  })
  test.after(() => server.close())

  test.it('the SDK client calls a tool with a valid token', async () => {
    const seen = await whoami(server.url, { requestInit: { headers: { authorization: `Bearer ${token()}` } } })
    assert.deepStrictEqual(seen, { client_id: 'shop', subject: 'ada', scopes: ['orders:read', 'profile'] })
  })

  test.it('no token: 401 naming the metadata URL', async () => {
    const res = await post(server.url)
    assert.equal(res.status, 401)
    const { resourceMetadataUrl, error } = extractWWWAuthenticateParams(res)
    assert.equal(error, 'invalid_token')
    assert.equal(resourceMetadataUrl?.href, `https://mcp.example.com${METADATA_PATH}`)
  })

  const bad = {
    malformed: 'not.a.token',
    expired: token({ exp: Math.floor(Date.now() / 1000) - 60 }),
    signature: token({}, other),
    audience: token({ aud: 'https://other.example.com/mcp' }),
    'DPoP-bound': token({ cnf: { jkt } }),
    'certificate-bound': token({ cnf: { 'x5t#S256': jkt } }),
  }
  for (const [name, value] of Object.entries(bad)) {
    test.it(`a bad token (${name}): 401 invalid_token`, async () => {
      const res = await post(server.url, { authorization: `Bearer ${value}` })
      assert.equal(res.status, 401)
      assert.equal((await res.json()).error, 'invalid_token')
      assert.match(res.headers.get('www-authenticate'), /resource_metadata="https:\/\/mcp\.example\.com\//)
    })
  }

  for (const joined of ['profile\u00a0orders:read', 'profile\torders:read']) {
    test.it(`scopes split on spaces only: ${JSON.stringify(joined)} lacks orders:read (403)`, async () => {
      const res = await post(server.url, { authorization: `Bearer ${token({ scope: joined })}` })
      assert.equal(res.status, 403)
      assert.equal((await res.json()).error, 'insufficient_scope')
    })
  }

  test.it('a token without the scope: 403 insufficient_scope', async () => {
    const res = await post(server.url, { authorization: `Bearer ${token({ scope: 'profile' })}` })
    assert.equal(res.status, 403)
    assert.equal((await res.json()).error, 'insufficient_scope')
    assert.match(res.headers.get('www-authenticate'), /^Bearer error="insufficient_scope"/)
  })

  test.it("the SDK's discovery reads the metadata jwtgate serves", async () => {
    // The server's own address: TLS ends in front of it in production.
    const found = await discoverOAuthProtectedResourceMetadata(server.url)
    assert.deepStrictEqual(found, {
      resource: RESOURCE,
      authorization_servers: [ISSUER],
      scopes_supported: ['orders:read'],
      bearer_methods_supported: ['header'],
      tls_client_certificate_bound_access_tokens: false,
    })
    const { resourceMetadataUrl } = extractWWWAuthenticateParams(await post(server.url))
    const served = await fetch(new URL(resourceMetadataUrl.pathname, server.url))
    assert.equal(served.status, 200)
    assert.deepStrictEqual(await served.json(), found)
  })
})

test.describe('the example MCP server with DPoP required (jwtgate middleware in front)', () => {
  let server
  test.before(async () => {
    server = await start(policy({ dpop: 'required' }))
  })
  test.after(() => server.close())

  test.it('the SDK client calls a tool with a proof per request', async () => {
    const bound = token({ cnf: { jkt } })
    const withProof = (url, init = {}) => {
      const headers = new Headers(init.headers)
      headers.set('authorization', `DPoP ${bound}`)
      headers.set('dpop', proof(init.method ?? 'GET', bound))
      return fetch(url, { ...init, headers })
    }
    const seen = await whoami(server.url, { fetch: withProof })
    assert.deepStrictEqual(seen, { client_id: 'shop', subject: 'ada', scopes: ['orders:read', 'profile'] })
  })

  test.it('refusals name both schemes and the metadata; proofs are used once', async () => {
    const bound = token({ cnf: { jkt } })
    const none = await post(server.url)
    assert.equal(none.status, 401)
    const challenge = none.headers.get('www-authenticate')
    assert.match(challenge, /^Bearer .*DPoP algs="/)
    assert.equal(challenge.split(`resource_metadata="https://mcp.example.com${METADATA_PATH}"`).length, 3, challenge)
    const asBearer = await post(server.url, { authorization: `Bearer ${bound}` })
    assert.deepStrictEqual([asBearer.status, (await asBearer.json()).error], [401, 'dpop_binding'])
    const once = proof('POST', bound)
    const first = await post(server.url, { authorization: `DPoP ${bound}`, dpop: once })
    assert.equal(first.status, 200, await first.text())
    const again = await post(server.url, { authorization: `DPoP ${bound}`, dpop: once })
    assert.deepStrictEqual([again.status, (await again.json()).error], [401, 'invalid_dpop_proof'])
    const narrow = token({ cnf: { jkt }, scope: 'profile' })
    const scoped = await post(server.url, { authorization: `DPoP ${narrow}`, dpop: proof('POST', narrow) })
    assert.deepStrictEqual([scoped.status, (await scoped.json()).error], [403, 'claim'])
  })
})

test('claims become the SDK AuthInfo', () => {
  const claims = { sub: 'ada', azp: 'shop', scp: ['a', 'b'], exp: 1700000000, aud: ['https://other.example.com', `${RESOURCE}/`] }
  assert.deepStrictEqual(authInfo('t', claims, RESOURCE), {
    token: 't', clientId: 'shop', scopes: ['a', 'b'], expiresAt: 1700000000,
    resource: new URL(`${RESOURCE}/`), extra: { subject: 'ada', claims },
  })
  assert.deepStrictEqual(authInfo('t', { sub: 'ada', scope: 'x  y', aud: 'orders' }), {
    token: 't', clientId: 'ada', scopes: ['x', 'y'], extra: { subject: 'ada', claims: { sub: 'ada', scope: 'x  y', aud: 'orders' } },
  })
})

test("rejections are the SDK's errors, from its CommonJS and ES module builds alike", async () => {
  const verifier = tokenVerifier(policy({ dpop: 'allowed' }), { route: { scopes: ['orders:write'] } })
  assert.ok(verifier instanceof JwtTokenVerifier)
  assert.equal(verifier.resource, RESOURCE)
  await assert.rejects(verifier.verifyAccessToken(token()), errors.InsufficientScopeError)
  const writer = token({ scope: 'orders:write' })
  assert.equal((await verifier.verifyAccessToken(writer)).clientId, 'shop')
  await assert.rejects(verifier.verifyAccessToken(token({ scope: 'orders:write', cnf: { jkt } })), errors.InvalidTokenError)
  await assert.rejects(verifier.verifyAccessToken('x'.repeat(2 << 20)), errors.InvalidTokenError)
  // A description the SDK can put between quotes in its challenge.
  await assert.rejects(verifier.verifyAccessToken('a"b\u00e9'), (e) => e instanceof errors.InvalidTokenError && /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/.test(e.message))
  const esm = await import('../mcp.mjs')
  const sdk = await import('@modelcontextprotocol/sdk/server/auth/errors.js')
  await assert.rejects(esm.tokenVerifier(policy()).verifyAccessToken('not.a.token'), sdk.InvalidTokenError)
  assert.throws(() => tokenVerifier(policy(), { requiredScopes: ['x'] }), TypeError)
})

test("keys out of reach: the SDK's server error, the event loop free meanwhile", async () => {
  // A key endpoint that accepts the connection and never answers.
  const hanging = net.createServer(() => {})
  await new Promise((resolve) => hanging.listen(0, '127.0.0.1', resolve))
  const verifier = tokenVerifier({
    issuers: [{
      issuer: ISSUER, algorithms: ['ES256'],
      keys: { jwks_uri: `http://127.0.0.1:${hanging.address().port}/jwks`, allow_http: true, initial_wait_ms: 300, timeout_ms: 2000 },
    }],
  })
  let ticks = 0
  const timer = setInterval(() => ticks++, 10)
  try {
    await assert.rejects(verifier.verifyAccessToken(token()), errors.ServerError)
  } finally {
    clearInterval(timer)
    hanging.close()
  }
  assert.ok(ticks >= 10, `the event loop ran ${ticks} times while keys were fetched`)
})
