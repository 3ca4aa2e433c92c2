'use strict'
// The type declarations compile under `tsc --strict` against the README's
// usage (test/types/usage.ts), including @ts-expect-error lines that must
// fail; jwtgate/mcp against the MCP SDK's own types (test/types/mcp/).

const test = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const path = require('node:path')

function tsc(project) {
  const bin = require.resolve('typescript/bin/tsc')
  const result = spawnSync(process.execPath, [bin, '-p', project], { encoding: 'utf8', timeout: 120000 })
  assert.equal(result.status, 0, `${result.stdout}${result.stderr}`)
}

test('index.d.ts, express.d.ts and fastify.d.ts compile with tsc --strict', () => {
  tsc(path.join(__dirname, 'types'))
})

test('mcp.d.ts compiles with tsc --strict against @modelcontextprotocol/sdk', () => {
  tsc(path.join(__dirname, 'types', 'mcp'))
})
