'use strict'
// The package's modules require one another without circles: index.js (the
// entry point) over express.js / fastify.js over middleware.js over api.js
// over binding.js. A circle would hand some module a half-built exports
// object, depending on which file a user requires first.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')

const root = path.join(__dirname, '..')

/** The package's own modules each top-level .js file requires. */
function graph() {
  const edges = {}
  for (const file of fs.readdirSync(root).filter((f) => f.endsWith('.js'))) {
    const text = fs.readFileSync(path.join(root, file), 'utf8')
    edges[file] = [...text.matchAll(/require\('\.\/([^']+)'\)/g)].map((m) => m[1])
  }
  return edges
}

test('no module requires one that requires it back', () => {
  const edges = graph()
  assert.ok(edges['index.js'].includes('api.js') && edges['middleware.js'].includes('api.js'))
  const state = {}
  const walk = (file, trail) => {
    if (state[file] === 'done') return
    assert.notEqual(state[file], 'open', `circle: ${[...trail, file].join(' -> ')}`)
    state[file] = 'open'
    for (const next of edges[file] ?? []) walk(next, [...trail, file])
    state[file] = 'done'
  }
  for (const file of Object.keys(edges)) walk(file, [])
})

test('the entry point exports the API and, lazily, the integrations', () => {
  const jwtgate = require('..')
  const api = require('../api.js')
  for (const name of ['Verifier', 'Verified', 'Route', 'Decision', 'Signer', 'JwtError', 'CODES', 'generateKey', 'jwks', 'version']) {
    assert.equal(jwtgate[name], api[name], name)
  }
  assert.equal(jwtgate._decideWith, undefined, 'internals stay in api.js')
  assert.equal(typeof jwtgate.express, 'function')
  assert.equal(jwtgate.fastify, require('../fastify.js'))
})
