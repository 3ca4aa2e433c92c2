//! Python extension for jwtgate.
