// ESM entry point of jwtgate/fastify.
import jwtgate from './fastify.js'

export const { JwtError } = jwtgate
export { jwtgate }
export default jwtgate
