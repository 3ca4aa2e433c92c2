'use strict'
// The type declarations compile under `tsc --strict` against the README's
// usage (test/types/usage.ts), including @ts-expect-error lines that must fail.

const test = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const path = require('node:path')

test('index.d.ts, express.d.ts and fastify.d.ts compile with tsc --strict', () => {
  const tsc = require.resolve('typescript/bin/tsc')
  const result = spawnSync(process.execPath, [tsc, '-p', path.join(__dirname, 'types')], { encoding: 'utf8', timeout: 120000 })
  assert.equal(result.status, 0, `${result.stdout}${result.stderr}`)
})
