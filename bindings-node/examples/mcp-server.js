'use strict'
// An MCP server (the official TypeScript SDK, @modelcontextprotocol/sdk)
// whose access tokens jwtgate checks, on the policy's `resource`:
//
//   node examples/mcp-server.js policy.json [port]   # 127.0.0.1:3000 by default; prints its /mcp URL
//
// The policy names the server as its protected resource, e.g.
// `"resource": {"uri": "https://mcp.example.com/mcp", "scopes_supported": ["orders:read"]}`
// (the public URL, behind the proxy that terminates TLS). jwtgate serves its
// RFC 9728 metadata at /.well-known/oauth-protected-resource/mcp, which the
// SDK's clients discover from the 401 challenge. The SDK refuses requests
// whose Host is not local (its DNS-rebinding protection): behind a proxy,
// name the public host in createMcpExpressApp's `allowedHosts`.
//
// - Bearer tokens: the SDK's requireBearerAuth asks jwtgate's token verifier
//   (the core decides) and checks the scopes (403 insufficient_scope);
//   jwtgate's middleware in mode `off` answers the metadata document and
//   checks nothing else.
// - DPoP or mTLS-bound tokens (an issuer with `dpop` or `mtls_binding`): the
//   SDK's hook sees only the token, not the proof or the certificate, so
//   jwtgate's middleware decides the whole request in front of /mcp, with
//   the same scopes, and hands the SDK the AuthInfo of the claims.

const { createMcpExpressApp } = require('@modelcontextprotocol/sdk/server/express.js')
const { McpServer } = require('@modelcontextprotocol/sdk/server/mcp.js')
const { StreamableHTTPServerTransport } = require('@modelcontextprotocol/sdk/server/streamableHttp.js')
const { requireBearerAuth } = require('@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js')
const { getOAuthProtectedResourceMetadataUrl } = require('@modelcontextprotocol/sdk/server/auth/router.js')
const { Verifier } = require('..')
const jwtgate = require('../express.js')
const { tokenVerifier, authInfo } = require('../mcp.js')

const SCOPES = ['orders:read']

/** Whether an issuer accepts DPoP or certificate-bound tokens. */
function senderConstrained(verifier) {
  return verifier.policy.issuers.some((i) => i.dpop != null || i.mtls_binding != null)
}

/** A stateless MCP server with two tools. */
function mcpServer() {
  const server = new McpServer({ name: 'orders', version: '1.0.0' })
  server.registerTool(
    'whoami',
    { description: 'The caller as the server sees it: client, subject and scopes' },
    async (extra) => {
      const info = extra.authInfo
      const seen = { client_id: info.clientId, subject: info.extra?.subject ?? null, scopes: info.scopes }
      return { content: [{ type: 'text', text: JSON.stringify(seen) }], structuredContent: seen }
    },
  )
  server.registerTool('list_orders', { description: "The caller's open orders" }, async () => ({
    content: [{ type: 'text', text: JSON.stringify([{ id: 1, item: 'tea', quantity: 2 }]) }],
  }))
  return server
}

function createApp(policy) {
  const verifier = policy instanceof Verifier ? policy : new Verifier(policy)
  const resource = verifier.policy.resource.uri
  const app = createMcpExpressApp({ host: '127.0.0.1' })
  if (senderConstrained(verifier)) {
    // The claims go to req.jwt; the SDK's transport reads req.auth as AuthInfo.
    app.use(jwtgate(verifier, { route: { scopes: SCOPES }, requestProperty: 'jwt' }))
    app.use((req, res, next) => {
      req.auth = authInfo('', req.jwt, resource)
      next()
    })
  } else {
    app.use(jwtgate(verifier, { mode: 'off' }))
    const resourceMetadataUrl = getOAuthProtectedResourceMetadataUrl(new URL(resource))
    app.use('/mcp', requireBearerAuth({ verifier: tokenVerifier(verifier), requiredScopes: SCOPES, resourceMetadataUrl }))
  }
  app.post('/mcp', async (req, res) => {
    const server = mcpServer()
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true })
    res.on('close', () => {
      transport.close()
      server.close()
    })
    await server.connect(transport)
    await transport.handleRequest(req, res, req.body)
  })
  // Stateless: no stream to open (GET) or session to end (DELETE).
  app.all('/mcp', (req, res) => res.status(405).set('Allow', 'POST').end())
  return app
}

if (require.main === module) {
  const [policy, port = '3000'] = process.argv.slice(2)
  if (!policy) {
    console.error('usage: node examples/mcp-server.js POLICY [PORT]')
    process.exit(2)
  }
  const server = createApp(policy).listen(Number(port), '127.0.0.1', () => {
    console.log(`http://127.0.0.1:${server.address().port}/mcp`)
  })
}

module.exports = { createApp }
