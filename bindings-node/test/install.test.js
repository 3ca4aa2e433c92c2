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
