'use strict'
// Loads the native addon: a platform package (`jwtgate-<triple>`, published
// with prebuilt binaries), or the `jwtgate.<triple>.node` file that
// scripts/build.js places next to this file. Laid out as napi-rs does.

const { existsSync, readFileSync } = require('node:fs')
const { join } = require('node:path')

function isMusl() {
  if (process.platform !== 'linux') return false
  try {
    return readFileSync('/usr/bin/ldd', 'utf8').includes('musl')
  } catch {
    const report = typeof process.report?.getReport === 'function' ? process.report.getReport() : null
    return !!report && !report.header?.glibcVersionRuntime
  }
}

/** The napi-rs triple suffix of this platform, e.g. `linux-x64-gnu`. */
function triple() {
  const { platform, arch } = process
  if (platform === 'linux') return `linux-${arch}-${isMusl() ? 'musl' : 'gnu'}`
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}

function load() {
  const suffix = triple()
  const local = join(__dirname, `jwtgate.${suffix}.node`)
  const errors = []
  if (process.env.JWTGATE_NATIVE_PATH) {
    return require(process.env.JWTGATE_NATIVE_PATH)
  }
  if (existsSync(local)) {
    try {
      return require(local)
    } catch (e) {
      errors.push(e)
    }
  }
  try {
    return require(`jwtgate-${suffix}`)
  } catch (e) {
    errors.push(e)
  }
  const detail = errors.map((e) => e.message).join('; ')
  throw new Error(
    `jwtgate: no native addon for ${suffix}. Reinstall the package on a machine with Rust ` +
      `(the install script builds it with cargo), or install jwtgate-${suffix}. ${detail}`,
  )
}

module.exports = load()
module.exports.__triple = triple
