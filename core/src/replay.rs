//! Where DPoP proof identifiers are remembered so that a proof is accepted
//! once (RFC 9449 section 11.1).
//!
//! [`ReplayStore`] is the whole contract, so a binding can plug in a
//! backend of its own (shared memory between Nginx workers) with
//! [`crate::Verifier::set_replay_store`]. The core has two: [`MemoryStore`]
//! (in-process, bounded, the default) and [`RedisStore`] (shared by every
//! process that uses the same Redis).

use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasher;
use std::time::Duration;

use parking_lot::Mutex;

/// Why a store could not answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The store is full of entries that are still live: a new proof is
    /// refused rather than an old one forgotten.
    Full,
    /// The backend could not be reached or answered with an error.
    Unavailable(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Full => f.write_str("the replay store is full"),
            StoreError::Unavailable(why) => write!(f, "the replay store is unavailable: {why}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// A set of keys that each live until a given time.
pub trait ReplayStore: Send + Sync {
    /// Records `key` until `expires_at` (unix seconds) and returns `true`
    /// when it was not already recorded (and unexpired as of `now`), or
    /// `false` when it was: a replay. An entry is unexpired while
    /// `now <= expires_at`, the instants at which its proof is still
    /// accepted. Must be atomic across every verifier sharing the store.
    fn insert_once(&self, key: &str, expires_at: f64, now: f64) -> Result<bool, StoreError>;
}

const SHARDS: usize = 16;

/// The in-process store: bounded, sharded, entries kept until they expire.
/// When a shard is full of live entries, new keys are refused
/// ([`StoreError::Full`]) rather than live ones evicted, which would let
/// their proofs be replayed.
pub struct MemoryStore {
    shards: Box<[Mutex<Shard>]>,
    per_shard: usize,
    hasher: std::collections::hash_map::RandomState,
}

#[derive(Default)]
struct Shard {
    entries: HashMap<Box<str>, f64>,
    /// The earliest expiry among the entries: no sweep can free anything
    /// before then.
    earliest: f64,
}

impl MemoryStore {
    /// A store of at most `max_entries` keys (at least one per shard).
    pub fn new(max_entries: usize) -> MemoryStore {
        let per_shard = max_entries.div_ceil(SHARDS).max(1);
        MemoryStore {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            per_shard,
            hasher: Default::default(),
        }
    }

    /// Number of keys held (expired ones included until swept).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().entries.len()).sum()
    }

    /// Whether the store holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore").field("per_shard", &self.per_shard).finish()
    }
}

impl ReplayStore for MemoryStore {
    fn insert_once(&self, key: &str, expires_at: f64, now: f64) -> Result<bool, StoreError> {
        let mut shard = self.shards[self.hasher.hash_one(key) as usize % SHARDS].lock();
        if let Some(until) = shard.entries.get(key) {
            if *until >= now {
                return Ok(false);
            }
            shard.entries.remove(key);
        }
        if shard.entries.len() >= self.per_shard {
            if now <= shard.earliest {
                return Err(StoreError::Full);
            }
            shard.entries.retain(|_, until| *until >= now);
            shard.earliest = shard.entries.values().copied().fold(f64::INFINITY, f64::min);
            if shard.entries.len() >= self.per_shard {
                return Err(StoreError::Full);
            }
        }
        if shard.entries.is_empty() || expires_at < shard.earliest {
            shard.earliest = expires_at;
        }
        shard.entries.insert(key.into(), expires_at);
        Ok(true)
    }
}

/// Most idle Redis connections a process keeps.
const MAX_IDLE: usize = 16;

/// A Redis-backed store: `SET key 1 NX PX ttl` on synchronous connections
/// with short timeouts. A request takes an idle connection (or makes one),
/// so concurrent requests do not wait on each other; at most
/// [`MAX_IDLE`] are kept. Connections belong to one process id: after a
/// `fork()` the child never uses the parent's sockets and makes its own,
/// so a verifier made before forking works in every child.
pub struct RedisStore {
    client: redis::Client,
    timeout: Duration,
    idle: Mutex<(u32, Vec<redis::Connection>)>,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore").field("timeout", &self.timeout).finish()
    }
}

impl RedisStore {
    /// A store for a `redis://` URL. Nothing is connected yet.
    pub fn new(url: &str, timeout: Duration) -> Result<RedisStore, StoreError> {
        let client = redis::Client::open(url).map_err(|e| StoreError::Unavailable(e.to_string()))?;
        Ok(RedisStore { client, timeout, idle: Mutex::new((std::process::id(), Vec::new())) })
    }

    fn connect(&self) -> Result<redis::Connection, StoreError> {
        let conn = self
            .client
            .get_connection_with_timeout(self.timeout)
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        conn.set_read_timeout(Some(self.timeout)).map_err(|e| StoreError::Unavailable(e.to_string()))?;
        conn.set_write_timeout(Some(self.timeout)).map_err(|e| StoreError::Unavailable(e.to_string()))?;
        Ok(conn)
    }

    /// An idle connection of this process, if any.
    fn take_idle(&self, pid: u32) -> Option<redis::Connection> {
        let mut idle = self.idle.lock();
        if idle.0 != pid {
            // Made in the parent before fork(): the sockets are shared with
            // it, so they are never used, nor closed, here.
            for conn in idle.1.drain(..) {
                std::mem::forget(conn);
            }
            idle.0 = pid;
        }
        idle.1.pop()
    }

    fn put_back(&self, pid: u32, conn: redis::Connection) {
        let mut idle = self.idle.lock();
        if idle.0 == pid && idle.1.len() < MAX_IDLE {
            idle.1.push(conn);
        }
    }
}

impl ReplayStore for RedisStore {
    fn insert_once(&self, key: &str, expires_at: f64, now: f64) -> Result<bool, StoreError> {
        let ttl_ms = ((expires_at - now) * 1000.0).ceil();
        if ttl_ms.is_nan() || ttl_ms < 0.0 {
            // Already past: nothing to remember, and nothing can replay it.
            return Ok(true);
        }
        // At its last instant a proof is still accepted: keep it 1 ms.
        let ttl_ms = ttl_ms.max(1.0);
        let pid = std::process::id();
        let mut conn = self.take_idle(pid);
        // A connection kept from an earlier request may have been closed by
        // a server restart: on such an error a new one is tried once.
        let mut reused = conn.is_some();
        loop {
            let mut current = match conn.take() {
                Some(c) => c,
                None => self.connect()?,
            };
            let reply: redis::RedisResult<Option<String>> =
                redis::cmd("SET").arg(key).arg(1).arg("NX").arg("PX").arg(ttl_ms as u64).query(&mut current);
            match reply {
                Ok(set) => {
                    self.put_back(pid, current);
                    return Ok(set.is_some());
                }
                Err(e) => {
                    drop(current);
                    if !reused || !(e.is_io_error() || e.is_connection_dropped()) {
                        return Err(StoreError::Unavailable(e.to_string()));
                    }
                    reused = false;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_store_accepts_once_and_forgets_only_expired_keys() {
        let store = MemoryStore::new(SHARDS);
        assert_eq!(store.insert_once("a", 110.0, 100.0), Ok(true));
        assert_eq!(store.insert_once("a", 110.0, 105.0), Ok(false));
        assert_eq!(store.insert_once("a", 110.0, 110.0), Ok(false), "live through its last instant");
        assert_eq!(store.insert_once("a", 130.0, 120.0), Ok(true), "expired entries are forgotten");
        // One entry per shard: fill every shard with live keys.
        let mut refused = 0;
        for i in 0..200 {
            if store.insert_once(&format!("k{i}"), 200.0, 120.0) == Err(StoreError::Full) {
                refused += 1;
            }
        }
        assert!(refused > 0, "a full store refuses");
        assert!(store.len() <= SHARDS);
        // Once they expire, room is made again.
        assert_eq!(store.insert_once("late", 300.0, 250.0), Ok(true));
    }
}
