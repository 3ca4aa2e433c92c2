'use strict'
// jwtgate for Node.js: JSON Web Token verification for API gateways.
//
// The package's entry point: the API (api.js) and, loaded on first use so
// that requiring the API does not load them, the Express and Fastify
// integrations (`require('jwtgate').express`, or `require('jwtgate/express')`).

const api = require('./api.js')

// The API's public names (its internals for the integrations stay there).
module.exports = { ...api }
Object.defineProperty(module.exports, 'express', {
  enumerable: true,
  get: () => require('./express.js'),
})
Object.defineProperty(module.exports, 'fastify', {
  enumerable: true,
  get: () => require('./fastify.js'),
})
