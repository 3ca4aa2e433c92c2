'use strict'
// What the Node binding's sync path adds to the core, measured in the same
// run (`node bench.js --binding-cost`). Per algorithm, 64 distinct tokens and
// one policy are written to files; the core's own time per call comes from
// target/release/percall (a Rust binary verifying the same tokens the same
// way, `verify(token)` on the system clock, timed on its thread's CPU time),
// the binding's from `Verifier.verify` timed on this process's CPU time.
// Rounds are interleaved so a change in machine load hits both alike;
// medians of the rounds are reported.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const readline = require('node:readline')
const { execFileSync, spawn } = require('node:child_process')

const jwtgate = require('jwtgate')

const REPO = path.resolve(__dirname, '..', '..')
const TOKENS = 64
const ISS = 'https://idp.example.com/'
const AUD = 'api://orders'

/** Builds the core's per-call binary (bench profile: thin LTO, as the addon's release build). */
function percallPath() {
  execFileSync('cargo', ['build', '--quiet', '--profile', 'bench', '-p', 'jwtgate-benches', '--bin', 'percall'], {
    cwd: REPO,
    stdio: 'inherit',
  })
  return path.join(process.env.CARGO_TARGET_DIR || path.join(REPO, 'target'), 'release', 'percall')
}

/** The percall binary serving one policy and token set: `nsPerCall(seconds)`. */
function core(exe, policy, tokens, dir, name) {
  const policyFile = path.join(dir, `${name}.policy.json`)
  const tokensFile = path.join(dir, `${name}.tokens.txt`)
  fs.writeFileSync(policyFile, JSON.stringify(policy))
  fs.writeFileSync(tokensFile, `${tokens.join('\n')}\n`)
  const child = spawn(exe, [policyFile, tokensFile], { stdio: ['pipe', 'pipe', 'inherit'] })
  const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  return {
    async nsPerCall(seconds) {
      child.stdin.write(`${seconds}\n`)
      const { value } = await lines.next()
      const [calls, ns] = value.split(' ').map(Number)
      return ns / calls
    },
    close() {
      child.stdin.end()
    },
  }
}

/** CPU time of this process per call of `fn` over the tokens in turn. */
function nodeNsPerCall(fn, tokens, seconds) {
  let calls = 0
  const cpu0 = process.cpuUsage()
  const end = performance.now() + seconds * 1000
  while (performance.now() < end) {
    for (const t of tokens) fn(t)
    calls += tokens.length
  }
  const cpu = process.cpuUsage(cpu0)
  return ((cpu.user + cpu.system) * 1000) / calls
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const ns = (x) => Math.round(x).toLocaleString('en-US')
const signed = (x) => `${x >= 0 ? '+' : '−'}${ns(Math.abs(x))}`

async function run(algs, seconds, rounds) {
  const exe = percallPath()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jwtgate-cost-'))
  const load = [os.loadavg()[0]]
  const rows = []
  try {
    for (const alg of algs) {
      const key = jwtgate.generateKey(alg, { kid: 'bench' })
      const signer = jwtgate.Signer.fromKey(key)
      const now = Math.floor(Date.now() / 1000)
      const tokens = Array.from({ length: TOKENS }, (_, i) =>
        signer.sign({ iss: ISS, aud: AUD, sub: `user_${i}`, iat: now, exp: now + 3600, scope: 'orders:read orders:write', roles: ['admin', 'dev'] }),
      )
      const keys = alg === 'HS256' ? { hmac_secret: key.privateKey } : { jwks: { keys: [key.publicJwk] } }
      const policy = (entries) => ({
        issuers: [{ issuer: ISS, audiences: [AUD], algorithms: [alg], keys, require: ['exp'] }],
        cache: { max_entries: entries },
      })
      const off = new jwtgate.Verifier(policy(0))
      const on = new jwtgate.Verifier(policy(10000))
      for (const t of tokens) {
        if (!off.verify(t).claims.sub.startsWith('user_')) throw new Error('claims')
        on.verify(t)
      }
      const cores = { off: core(exe, policy(0), tokens, dir, `${alg}-off`), on: core(exe, policy(10000), tokens, dir, `${alg}-on`) }
      const contenders = {
        core: () => cores.off.nsPerCall(seconds),
        node: () => nodeNsPerCall((t) => off.verify(t), tokens, seconds),
        nodeClaims: () => nodeNsPerCall((t) => off.verify(t).claims, tokens, seconds),
        coreHit: () => cores.on.nsPerCall(seconds),
        nodeHit: () => nodeNsPerCall((t) => on.verify(t), tokens, seconds),
      }
      const series = {}
      for (const fn of Object.values(contenders)) await fn() // warm up
      for (let r = 0; r < rounds; r++) {
        for (const [name, fn] of Object.entries(contenders)) (series[name] ??= []).push(await fn())
        load.push(os.loadavg()[0])
      }
      for (const c of Object.values(cores)) c.close()
      const m = Object.fromEntries(Object.entries(series).map(([k, v]) => [k, median(v)]))
      console.log(`${alg}: ${Object.entries(m).map(([k, v]) => `${k} ${ns(v)}`).join(', ')}`)
      rows.push(
        `| ${alg} | ${ns(m.core)} | ${ns(m.node)} | **${signed(m.node - m.core)}** | ${(m.node / m.core).toFixed(2)}x | ` +
          `${ns(m.nodeClaims)} | ${ns(m.coreHit)} | ${ns(m.nodeHit)} | **${signed(m.nodeHit - m.coreHit)}** |`,
      )
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
  return [
    `jwtgate ${jwtgate.version}, node ${process.version}; ${os.availableParallelism()} cores; 1-minute load average during the run ` +
      `${Math.min(...load).toFixed(1)}-${Math.max(...load).toFixed(1)}; ${rounds} interleaved rounds of ${seconds} s per figure, medians.`,
    '',
    'Nanoseconds per call (core: CPU time of its thread; Node: CPU time of the process), cache off unless marked hit:',
    '',
    '| alg | core `verify` | Node `verify` (sync) | binding adds | Node / core | Node `verify(t).claims` | core, cache hit | Node, cache hit | binding adds (hit) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
  ]
}

module.exports = { run }
