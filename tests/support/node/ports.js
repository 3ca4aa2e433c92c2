'use strict'
// Ports on 127.0.0.1 for the servers a test or bench starts.

const net = require('node:net')

/** Listens on 127.0.0.1 with an ephemeral port; returns the base URL. */
function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${server.address().port}`))
  })
}

/** A local port nothing listens on (bound, then released). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

module.exports = { listen, freePort }
