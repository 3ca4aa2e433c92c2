// ESM entry point of jwtgate/express.
import jwtgate from './express.js'

export const { JwtError } = jwtgate
export { jwtgate }
export default jwtgate
