//! C ABI for jwtgate (see include/jwtgate.h).
