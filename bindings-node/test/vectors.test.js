'use strict'
// The shared vectors (tests/vectors/*.json) through the addon, as
// core/tests/vectors.rs runs them in Rust.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { Verifier, JwtError } = require('..')

const dir = path.join(__dirname, '..', '..', 'tests', 'vectors')
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort()

test('vector files exist', () => {
  assert.ok(files.length >= 4, `found ${files.join(', ')}`)
})

for (const file of files) {
  const doc = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'))
  test(file, async (t) => {
    assert.ok(doc.vectors.length > 0)
    for (const vector of doc.vectors) {
      await t.test(vector.name, () => {
        const policy = typeof vector.policy === 'string' ? doc.policies[vector.policy] : vector.policy
        const expect = vector.expect
        let verifier
        try {
          verifier = new Verifier(policy)
        } catch (e) {
          assert.ok(e instanceof JwtError, `policy failed with a non-JwtError: ${e}`)
          assert.equal(expect.code, 'policy', `policy failed to load: ${e.message}`)
          assert.equal(e.code, 'policy')
          return
        }
        assert.notEqual(expect.code, 'policy', 'policy loaded but should not have')
        const options = vector.now === undefined ? undefined : { now: vector.now }
        if (expect.valid) {
          const v = verifier.verify(vector.token, options)
          if ('claims' in expect) assert.deepStrictEqual(v.claims, expect.claims)
          if ('issuer' in expect) assert.equal(v.issuer, expect.issuer)
          if ('headers' in expect) assert.deepStrictEqual(v.headers, expect.headers)
        } else {
          assert.throws(
            () => verifier.verify(vector.token, options),
            (e) => {
              assert.ok(e instanceof JwtError, `not a JwtError: ${e}`)
              assert.equal(e.code, expect.code, e.message)
              if ('claim' in expect) assert.equal(e.claim, expect.claim)
              if ('status' in expect) assert.equal(e.status, expect.status)
              return true
            },
          )
        }
        // The batch path reaches the same decision.
        const [batch] = verifier.verifyMany([vector.token], options)
        if (expect.valid) assert.ok(!(batch instanceof JwtError), `verifyMany rejected: ${batch.message}`)
        else assert.equal(batch.code, expect.code)
      })
    }
  })
}
