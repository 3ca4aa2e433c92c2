'use strict'
// Token verification for MCP servers built with the official TypeScript SDK
// (@modelcontextprotocol/sdk), which this module loads (install it next to
// jwtgate):
//
//   const { requireBearerAuth } = require('@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js')
//   const { tokenVerifier } = require('jwtgate/mcp')
//   app.use('/mcp', requireBearerAuth({ verifier: tokenVerifier(policy), requiredScopes, resourceMetadataUrl }))
//
// `tokenVerifier(policy, {route})` is the SDK's OAuthTokenVerifier:
// `verifyAccessToken(token)` resolves with the SDK's AuthInfo when the policy
// accepts the token as a Bearer token and rejects with the SDK's
// InvalidTokenError (401), InsufficientScopeError (403) or ServerError (500,
// keys that cannot be fetched) otherwise. See mcp-adapter.js.

const { adapter } = require('./mcp-adapter.js')

module.exports = adapter(require('@modelcontextprotocol/sdk/server/auth/errors.js'))
