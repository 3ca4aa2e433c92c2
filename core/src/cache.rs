//! The verified-token cache: repeat tokens cost a hash lookup instead of a
//! public-key operation.
//!
//! Keyed by the whole token (hashed with a per-process random seed, then
//! compared byte for byte), bounded by `cache.max_entries`, and sharded by
//! quick_cache so threads do not contend on one lock. Only tokens that
//! verified are stored; every hit re-checks the time window against `now`.

use quick_cache::sync::Cache;

use crate::verified::Verified;

pub(crate) struct TokenCache {
    entries: Cache<Box<[u8]>, Verified>,
}

impl TokenCache {
    /// A cache of at most `max_entries` tokens; `None` when 0 (off).
    pub(crate) fn new(max_entries: usize) -> Option<TokenCache> {
        (max_entries > 0).then(|| TokenCache { entries: Cache::new(max_entries) })
    }

    pub(crate) fn get(&self, token: &[u8]) -> Option<Verified> {
        self.entries.get(token)
    }

    pub(crate) fn insert(&self, token: &[u8], verified: Verified) {
        self.entries.insert(token.into(), verified);
    }

    pub(crate) fn remove(&self, token: &[u8]) {
        self.entries.remove(token);
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn clear(&self) {
        self.entries.clear();
    }
}
