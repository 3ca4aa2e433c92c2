//! Node.js addon for jwtgate.
