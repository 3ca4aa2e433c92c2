#!/usr/bin/env node
'use strict'
// Install-time build of the native addon, with no dependency beyond node
// and cargo (no napi CLI, no devDependencies, so `npm install <dir>` from
// another project works). Order:
//   1. JWTGATE_SKIP_BUILD=1: do nothing.
//   2. A prebuilt platform package (jwtgate-<triple>) that loads: done.
//   3. Inside the jwtgate Cargo workspace: `cargo build -p jwtgate-node
//      --release` (incremental: a no-op when nothing changed) and copy the
//      library to jwtgate.<triple>.node.
//   4. Outside it, a jwtgate.<triple>.node already here is used as is.

const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const root = path.resolve(__dirname, '..')
const workspace = path.resolve(root, '..')
const manifest = path.join(workspace, 'Cargo.toml')

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

function prebuiltPackage(suffix) {
  try {
    require(`jwtgate-${suffix}`)
    return true
  } catch {
    return false
  }
}

function isWorkspace() {
  try {
    return (
      fs.readFileSync(manifest, 'utf8').includes('[workspace]') &&
      fs.existsSync(path.join(root, 'Cargo.toml'))
    )
  } catch {
    return false
  }
}

function targetDir() {
  if (process.env.CARGO_TARGET_DIR) return path.resolve(workspace, process.env.CARGO_TARGET_DIR)
  const out = execFileSync(
    'cargo',
    ['metadata', '--format-version', '1', '--no-deps', '--manifest-path', manifest],
    { encoding: 'utf8', maxBuffer: 64 << 20 },
  )
  return JSON.parse(out).target_directory
}

function libraryName() {
  if (process.platform === 'win32') return 'jwtgate_node.dll'
  if (process.platform === 'darwin') return 'libjwtgate_node.dylib'
  return 'libjwtgate_node.so'
}

function main() {
  const suffix = triple()
  const dest = path.join(root, `jwtgate.${suffix}.node`)
  if (process.env.JWTGATE_SKIP_BUILD === '1') {
    log('JWTGATE_SKIP_BUILD=1, not building')
    return
  }
  if (prebuiltPackage(suffix)) {
    log(`using the prebuilt jwtgate-${suffix}`)
    return
  }
  if (!isWorkspace()) {
    if (fs.existsSync(dest)) {
      log(`using the prebuilt ${path.basename(dest)}`)
      return
    }
    throw new Error(`no prebuilt binary for ${suffix} and no Cargo workspace at ${workspace} to build one`)
  }
  log(`building the addon with cargo (${manifest})`)
  execFileSync('cargo', ['build', '-p', 'jwtgate-node', '--release', '--manifest-path', manifest], {
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  const built = path.join(targetDir(), 'release', libraryName())
  // Copy then rename: a process that has the old addon loaded keeps its
  // mapping intact, and nobody ever loads a half-written file.
  const tmp = `${dest}.${process.pid}.tmp`
  fs.copyFileSync(built, tmp)
  fs.renameSync(tmp, dest)
  log(`wrote ${dest}`)
}

try {
  main()
} catch (e) {
  log(e && e.message ? e.message : String(e))
  process.exit(1)
}
