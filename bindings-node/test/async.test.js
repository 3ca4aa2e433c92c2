'use strict'
// verifyAsync runs on the libuv pool: the event loop keeps ticking while a
// large batch is verified, where the same work done synchronously blocks it.

const test = require('node:test')
const assert = require('node:assert/strict')
const { Verifier, Signer, generateKey } = require('..')

const key = generateKey('ES256', { kid: 'k' })
const signer = Signer.fromKey(key)
// No cache, so every verification does the signature work.
const verifier = new Verifier({ issuers: [{ algorithms: ['ES256'], keys: { jwks: { keys: [key.publicJwk] } } }], cache: { max_entries: 0 } })
const token = signer.sign({ sub: 'ada' }, { lifetimeS: 600 })
const BATCH = 4000

/** Runs `work` while a 1 ms interval counts ticks; returns ticks, longest gap and duration. */
async function measure(work) {
  let ticks = 0
  let last = performance.now()
  let maxGap = 0
  const timer = setInterval(() => {
    const t = performance.now()
    maxGap = Math.max(maxGap, t - last)
    last = t
    ticks++
  }, 1)
  // Let the interval start.
  await new Promise((resolve) => setTimeout(resolve, 5))
  ticks = 0
  maxGap = 0
  last = performance.now()
  const start = performance.now()
  const result = await work()
  const duration = performance.now() - start
  maxGap = Math.max(maxGap, performance.now() - last)
  clearInterval(timer)
  return { ticks, maxGap, duration, result }
}

test('a large async batch leaves the event loop ticking; the sync one does not', async () => {
  assert.equal(verifier.stats().cached_tokens, 0)
  const sync = await measure(async () => {
    let n = 0
    for (let i = 0; i < BATCH; i++) n += verifier.verify(token).claims.sub === 'ada' ? 1 : 0
    return n
  })
  assert.equal(sync.result, BATCH)
  assert.equal(sync.ticks, 0, 'the sync batch blocks the loop (so the measure can tell)')

  const results = await measure(() => Promise.all(Array.from({ length: BATCH }, () => verifier.verifyAsync(token))))
  assert.equal(results.result.length, BATCH)
  assert.ok(results.result.every((v) => v.claims.sub === 'ada'))
  // Loose bounds: the machine may be busy; the sync batch gets none at all.
  assert.ok(results.ticks >= 3, `only ${results.ticks} ticks in ${results.duration.toFixed(0)} ms`)
  assert.equal(verifier.stats().verifications.valid, 2 * BATCH)
})

test('async rejections and results keep their order and identity', async () => {
  const tokens = Array.from({ length: 200 }, (_, i) => (i % 3 === 0 ? `${token}x` : signer.sign({ sub: `u${i}` }, { lifetimeS: 60 })))
  const settled = await Promise.allSettled(tokens.map((t) => verifier.verifyAsync(t)))
  settled.forEach((s, i) => {
    if (i % 3 === 0) {
      assert.equal(s.status, 'rejected')
      assert.equal(s.reason.code, 'signature')
    } else {
      assert.equal(s.status, 'fulfilled')
      assert.equal(s.value.claims.sub, `u${i}`)
    }
  })
})

test('verifyAsync works while the key set is served by this same event loop; sync verify cannot', async () => {
  const { serveJwks } = require('../../tests/support/node')
  const idp = await serveJwks({ keys: [key.publicJwk] })
  try {
    const keys = { jwks_uri: idp.url, allow_http: true, initial_wait_ms: 1500, timeout_ms: 1500 }
    // Sync: the loop that would answer the fetch is blocked inside verify.
    const blocked = new Verifier({ issuers: [{ algorithms: ['ES256'], keys }] })
    assert.throws(() => blocked.verify(token), { code: 'jwks_unavailable' })
    // Async: the fetch happens on a pool thread and this loop answers it.
    const free = new Verifier({ issuers: [{ algorithms: ['ES256'], keys }] })
    const v = await free.verifyAsync(token)
    assert.equal(v.claims.sub, 'ada')
    assert.ok(idp.hits() >= 1)
  } finally {
    await idp.close()
  }
})
