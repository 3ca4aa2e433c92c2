'use strict'
// The repository's shared Node test support (see ../README.md): ports and
// servers on 127.0.0.1 for bindings-node/test and benches/node.

module.exports = { ...require('./ports.js'), ...require('./jwks.js') }
