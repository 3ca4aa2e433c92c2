#!/usr/bin/env node
'use strict'
// Install-time step of the native addon, with no dependency beyond node (no
// napi CLI, no devDependencies, so `npm install <dir>` works from another
// project). Order:
//   1. JWTGATE_SKIP_BUILD=1: do nothing.
//   2. The prebuilt platform package (@jwtgate/<triple>, an optional
//      dependency) loads here: done.
//   3. A Cargo workspace to build from: the jwtgate checkout this folder
//      sits in, or the sources a published package carries under rust/.
//      `cargo build -p jwtgate-node --release` (cargo's progress shows under
//      `npm install --foreground-scripts`), then the library is copied to
//      jwtgate.<triple>.node. Without cargo: one line saying what to install.
//   4. No sources to build: a jwtgate.<triple>.node already here is used.

const { execFileSync, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const root = path.resolve(__dirname, '..')

function triple() {
  const { platform, arch } = process
  if (platform === 'linux') {
    let musl = false
    try {
      musl = fs.readFileSync('/usr/bin/ldd', 'utf8').includes('musl')
    } catch {}
    return `linux-${arch}-${musl ? 'musl' : 'gnu'}`
  }
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}

function log(message) {
  process.stderr.write(`jwtgate: ${message}\n`)
}

/** Why the prebuilt package does not load here, or null when it does. */
function prebuiltProblem(suffix) {
  try {
    require(`@jwtgate/${suffix}`)
    return null
  } catch (e) {
    return e && e.code === 'MODULE_NOT_FOUND' ? 'not installed' : String(e && e.message).split('\n')[0]
  }
}

function isWorkspace(dir) {
  try {
    return (
      fs.readFileSync(path.join(dir, 'Cargo.toml'), 'utf8').includes('[workspace]') &&
      fs.existsSync(path.join(dir, 'bindings-node', 'Cargo.toml'))
    )
  } catch {
    return false
  }
}

/** The workspace to build from: the checkout around this folder, or rust/. */
function workspace() {
  for (const dir of [path.resolve(root, '..'), path.join(root, 'rust')]) {
    if (isWorkspace(dir)) return dir
  }
  return null
}

function targetDir(ws) {
  if (process.env.CARGO_TARGET_DIR) return path.resolve(ws, process.env.CARGO_TARGET_DIR)
  const out = execFileSync(
    'cargo',
    ['metadata', '--format-version', '1', '--no-deps', '--manifest-path', path.join(ws, 'Cargo.toml')],
    { encoding: 'utf8', maxBuffer: 64 << 20 },
  )
  return JSON.parse(out).target_directory
}

function libraryName() {
  if (process.platform === 'win32') return 'jwtgate_node.dll'
  if (process.platform === 'darwin') return 'libjwtgate_node.dylib'
  return 'libjwtgate_node.so'
}

function hasCargo() {
  const probe = spawnSync('cargo', ['--version'], { stdio: 'ignore' })
  return !probe.error && probe.status === 0
}

function fail(message) {
  log(message)
  process.exit(1)
}

function main() {
  const suffix = triple()
  const dest = path.join(root, `jwtgate.${suffix}.node`)
  if (process.env.JWTGATE_SKIP_BUILD === '1') {
    log('JWTGATE_SKIP_BUILD=1, not building')
    return
  }
  const problem = prebuiltProblem(suffix)
  if (problem === null) {
    log(`using the prebuilt @jwtgate/${suffix}`)
    return
  }
  const ws = workspace()
  if (ws === null) {
    if (fs.existsSync(dest)) {
      log(`using the prebuilt ${path.basename(dest)}`)
      return
    }
    fail(`no prebuilt binary for ${suffix} (@jwtgate/${suffix}: ${problem}) and no Rust sources to build one from`)
  }
  if (!hasCargo()) {
    fail(
      `no prebuilt binary for ${suffix} (@jwtgate/${suffix}: ${problem}) and no cargo on the PATH to build one: ` +
        'install Rust (https://rustup.rs) and a C compiler, then npm install again',
    )
  }
  const manifest = path.join(ws, 'Cargo.toml')
  log(`no prebuilt binary for ${suffix} (@jwtgate/${suffix}: ${problem}): building the addon with cargo (${manifest})`)
  log('this takes a few minutes; npm shows the progress with --foreground-scripts')
  const build = spawnSync('cargo', ['build', '-p', 'jwtgate-node', '--release', '--manifest-path', manifest], {
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  if (build.error || build.status !== 0) {
    fail(`cargo build -p jwtgate-node failed for ${suffix} (exit ${build.status ?? build.error})`)
  }
  const target = targetDir(ws)
  const built = path.join(target, 'release', libraryName())
  // Copy then rename: a process that has the old addon loaded keeps its
  // mapping intact, and nobody ever loads a half-written file.
  const tmp = `${dest}.${process.pid}.tmp`
  fs.copyFileSync(built, tmp)
  fs.renameSync(tmp, dest)
  log(`wrote ${dest}`)
  // A published package's own build tree is only scaffolding: drop it.
  if (ws === path.join(root, 'rust') && target === path.join(ws, 'target')) {
    fs.rmSync(target, { recursive: true, force: true })
  }
}

try {
  main()
} catch (e) {
  fail(e && e.message ? e.message : String(e))
}
