'use strict'
// An issuer and a protected API in one Express app:
//   POST /token      client credentials (HTTP Basic) -> a signed access token
//   GET  /.well-known/jwks.json  the public keys
//   GET  /orders     protected by jwtgate/express; needs "orders" in subscribedAPIs
//
//   node examples/issuer.js            # listens on 127.0.0.1:3000 (PORT to change)
//   curl -s -u shop:s3cret -X POST localhost:3000/token
//   curl -s -H "Authorization: Bearer $TOKEN" localhost:3000/orders

const crypto = require('node:crypto')
const express = require('express')
const { Signer, generateKey, jwks } = require('..')
const jwtgate = require('../express.js')

const ISSUER = 'https://issuer.example/'
const AUDIENCE = 'api://orders'
// Demo clients; a real issuer keeps hashed secrets in a store.
const CLIENTS = { shop: { secret: 's3cret', apis: ['orders'] }, stats: { secret: 'n0pe', apis: ['reports'] } }

function createApp() {
  const key = generateKey('ES256', { kid: 'demo-1' })
  const signer = Signer.fromKey(key, { typ: 'at+jwt' })
  const auth = jwtgate(
    {
      issuers: [{
        issuer: ISSUER, audiences: [AUDIENCE], algorithms: ['ES256'], typ: 'at+jwt',
        keys: { jwks: jwks([signer]) }, require: ['exp', 'sub'],
        forward: { claims_to_headers: { sub: 'X-Client' } },
      }],
    },
    { exclude: ['/token', '/.well-known'] },
  )

  const app = express()
  app.use(auth)
  app.post('/token', (req, res) => {
    const [scheme, encoded] = (req.headers.authorization ?? '').split(' ')
    const [id, secret] = scheme === 'Basic' ? Buffer.from(encoded ?? '', 'base64').toString().split(':') : []
    const client = CLIENTS[id]
    const ok = client && secret && crypto.timingSafeEqual(
      crypto.createHash('sha256').update(secret).digest(),
      crypto.createHash('sha256').update(client.secret).digest(),
    )
    if (!ok) return res.status(401).set('WWW-Authenticate', 'Basic').json({ error: 'invalid_client' })
    const token = signer.sign({ iss: ISSUER, aud: AUDIENCE, sub: id, subscribedAPIs: client.apis }, { lifetimeS: 300 })
    res.json({ access_token: token, token_type: 'Bearer', expires_in: 300 })
  })
  app.get('/.well-known/jwks.json', (req, res) => res.json(jwks([signer])))
  const orders = auth.require({ claims: { subscribedAPIs: { contains_all: ['orders'], required: true } } })
  app.get('/orders', orders, (req, res) => res.json({ client: req.headers['x-client'], orders: [{ id: 1 }] }))
  return app
}

if (require.main === module) {
  const port = Number(process.env.PORT ?? 3000)
  createApp().listen(port, '127.0.0.1', () => console.log(`issuer and API on http://127.0.0.1:${port}`))
}

module.exports = { createApp }
