// ESM entry point: the CommonJS module re-exported.
import jwtgate from './index.js'

export const { Verifier, Verified, Route, Decision, Signer, JwtError, CODES, generateKey, jwks, version } = jwtgate
export default jwtgate
