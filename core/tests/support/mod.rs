//! The test support every core integration test and the `benches` crate's
//! criterion benches share (`mod support;` here; `#[path]` in benches):
//! servers on 127.0.0.1 that a test starts and that stop when dropped, the
//! keys their tokens are signed with, forked children, and the shared
//! vectors' requests as `Request`s. A module rather
//! than a crate: a path crate depending on `jwtgate` would be a
//! dev-dependency cycle of the core, and `mod support;` in every test (in
//! this tree and on branches being written) keeps working.
//! tests/support/README.md lists the other languages' support.

// Each test binary uses part of it.
#![allow(dead_code, unused_imports)]

mod fork;
mod jwks_server;
mod keys;
mod redis;
mod vectors;

pub use fork::{in_child, wait_ok};
pub use jwks_server::{Behavior, JwksServer};
pub use keys::{Key, jwks, key, serve};
pub use redis::RedisServer;
pub use vectors::{decide, headers_of};
