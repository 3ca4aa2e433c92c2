// ESM entry point of jwtgate/mcp: the same verifier over the SDK's ES module
// build, whose error classes requireBearerAuth checks when the application
// imports the SDK.
import * as errors from '@modelcontextprotocol/sdk/server/auth/errors.js'
import mcpAdapter from './mcp-adapter.js'

const mcp = mcpAdapter.adapter(errors)
export const { JwtTokenVerifier, tokenVerifier, authInfo } = mcp
