'use strict'
// Loads the native addon, in the order napi-rs's generated loader uses:
//   1. JWTGATE_NATIVE_PATH, when set (tests, unusual layouts);
//   2. jwtgate.<triple>.node next to this file (a source build by
//      scripts/build.js, or a checkout's development build);
//   3. the prebuilt platform package @jwtgate/<triple>, which npm installs
//      from this package's optionalDependencies on the platforms it fits.

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
  if (process.env.JWTGATE_NATIVE_PATH) {
    return require(process.env.JWTGATE_NATIVE_PATH)
  }
  const errors = []
  const local = join(__dirname, `jwtgate.${suffix}.node`)
  if (existsSync(local)) {
    try {
      return require(local)
    } catch (e) {
      errors.push(e)
    }
  }
  try {
    return require(`@jwtgate/${suffix}`)
  } catch (e) {
    errors.push(e)
  }
  const detail = errors.map((e) => e.message).join('; ')
  throw new Error(
    `jwtgate: no native addon for ${suffix}: install @jwtgate/${suffix} where it is published, ` +
      `or reinstall jwtgate with Rust on the PATH (https://rustup.rs) and its install script allowed ` +
      `("allowScripts": {"jwtgate": true} in package.json) to build it. ${detail}`,
  )
}

module.exports = load()
module.exports.__triple = triple
