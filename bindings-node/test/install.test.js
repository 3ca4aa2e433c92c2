'use strict'
// `npm install <path to bindings-node>` from another project: the install
// script builds (or finds) the addon with no devDependencies and no napi CLI,
// and the CommonJS, ESM and middleware entry points all load.

const test = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const pkg = path.resolve(__dirname, '..')

test('npm install <dir> from another project', { timeout: 600000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jwtgate-install-'))
  try {
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }))
    const env = { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false' }
    execFileSync('npm', ['install', '--no-audit', '--no-fund', pkg], { cwd: dir, env, stdio: 'pipe', timeout: 600000 })
    const cjs = `
      const j = require('jwtgate')
      const k = j.generateKey('EdDSA')
      const v = new j.Verifier({ issuers: [{ algorithms: ['EdDSA'], keys: { jwks: { keys: [k.publicJwk] } } }] })
      const t = j.Signer.fromKey(k).sign({ sub: 'x' }, { lifetimeS: 60 })
      if (v.verify(t).claims.sub !== 'x') process.exit(2)
      if (typeof require('jwtgate/express') !== 'function' || typeof require('jwtgate/fastify') !== 'function') process.exit(3)
      console.log('cjs ok')`
    assert.equal(execFileSync('node', ['-e', cjs], { cwd: dir, encoding: 'utf8' }).trim(), 'cjs ok')
    const esm = `
      import { Verifier, JwtError } from 'jwtgate'
      import express from 'jwtgate/express'
      import fastify from 'jwtgate/fastify'
      if (typeof Verifier !== 'function' || typeof express !== 'function' || typeof fastify !== 'function') process.exit(2)
      try { new Verifier({ issuers: [] , x: 1 }) } catch (e) { if (!(e instanceof JwtError) || e.code !== 'policy') process.exit(3) }
      console.log('esm ok')`
    assert.equal(execFileSync('node', ['--input-type=module', '-e', esm], { cwd: dir, encoding: 'utf8' }).trim(), 'esm ok')
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

// A folder install copied (`--install-links`), and a plain one (a symlink,
// whose declarations would resolve `fastify` from this source tree) with
// the README's `paths` mapping.
for (const linked of [false, true]) {
  const how = linked ? 'npm install <dir> (a symlink) with "paths"' : 'npm install --install-links <dir>'
  test(`${how}: the Fastify and Express request types reach the consumer`, { timeout: 600000 }, () => {
    typesReachTheConsumer(linked)
  })
}

function typesReachTheConsumer (linked) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jwtgate-types-'))
  try {
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }))
    const env = { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false' }
    const args = linked ? ['install', '--no-audit', '--no-fund', pkg] : ['install', '--install-links', '--no-audit', '--no-fund', pkg]
    execFileSync('npm', args, { cwd: dir, env, stdio: 'pipe', timeout: 600000 })
    assert.equal(fs.lstatSync(path.join(dir, 'node_modules', 'jwtgate')).isSymbolicLink(), linked)
    // The consumer's own packages, taken from this package's dev
    // dependencies (no network in a test): Fastify as a copy of its own, as
    // in a real project, the others linked.
    for (const name of devPackages()) {
      const from = path.join(pkg, 'node_modules', name)
      const to = path.join(dir, 'node_modules', name)
      if (fs.existsSync(to)) continue
      fs.mkdirSync(path.dirname(to), { recursive: true })
      if (name === 'fastify') fs.cpSync(from, to, { recursive: true })
      else fs.symlinkSync(from, to)
    }
    fs.writeFileSync(
      path.join(dir, 'app.ts'),
      `import Fastify from 'fastify'
import jwtgate = require('jwtgate/fastify')
import type { Claims, Decision } from 'jwtgate'
const app = Fastify()
app.register(jwtgate, { policy: 'policy.json', mode: 'report_only' })
app.get('/', { config: { jwtgate: { scopes: ['orders:read'] } } }, async (request) => {
  const claims: Claims | null = request.auth
  const decision: Decision | null = request.jwtgate
  const sub: string | undefined = request.auth?.sub
  return { claims, sub, mode: decision?.mode }
})
// @ts-expect-error the augmentation is typed, not any
const wrong: number = app.jwtgate
console.log(wrong)
`,
    )
    const tsc = (paths) => {
      fs.writeFileSync(
        path.join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            strict: true, noEmit: true, module: 'node16', moduleResolution: 'node16', target: 'es2022', types: ['node'],
            ...(paths ? { baseUrl: '.', paths: { fastify: ['./node_modules/fastify'] } } : {}),
          },
          files: ['app.ts'],
        }),
      )
      const bin = path.join(dir, 'node_modules', 'typescript', 'bin', 'tsc')
      return require('node:child_process').spawnSync(process.execPath, [bin, '-p', dir], { encoding: 'utf8', timeout: 120000 })
    }
    if (linked) {
      // Without the mapping the augmentation lands on the source tree's
      // Fastify: what the README's advice is for.
      const unmapped = tsc(false)
      assert.notEqual(unmapped.status, 0)
      assert.match(unmapped.stdout, /Property '(auth|jwtgate)' does not exist/)
    }
    const result = tsc(linked)
    assert.equal(result.status, 0, `${result.stdout}${result.stderr}`)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

/** Every package in this package's node_modules (scoped ones by full name). */
function devPackages () {
  const root = path.join(pkg, 'node_modules')
  const names = []
  for (const entry of fs.readdirSync(root)) {
    if (entry.startsWith('.')) continue
    if (entry.startsWith('@')) {
      for (const sub of fs.readdirSync(path.join(root, entry))) names.push(`${entry}/${sub}`)
    } else {
      names.push(entry)
    }
  }
  return names
}
