'use strict'
// A JWKS endpoint on 127.0.0.1 that a test or bench starts and stops.

const http = require('node:http')
const { listen } = require('./ports.js')

/**
 * Serves `jwks` (an object, or a function returning one at each request,
 * so a test can rotate keys) at any path. Resolves to
 * { url, base, hits(), close() }: `url` is `${base}/jwks.json`, `hits()`
 * the requests answered so far, `close()` ends kept-alive connections and
 * stops the server.
 */
async function serveJwks(jwks) {
  let hits = 0
  const server = http.createServer((req, res) => {
    hits++
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify(typeof jwks === 'function' ? jwks() : jwks))
  })
  const base = await listen(server)
  return {
    url: `${base}/jwks.json`,
    base,
    hits: () => hits,
    close: () => {
      server.closeAllConnections()
      return new Promise((resolve) => server.close(resolve))
    },
  }
}

module.exports = { serveJwks }
