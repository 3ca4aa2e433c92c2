//! The verified-token cache: repeat tokens cost a hash lookup instead of a
//! public-key operation.
//!
//! Keyed by the whole token (hashed with a per-process random seed, then
//! compared byte for byte), bounded by `cache.max_entries`, and sharded by
//! quick_cache so threads do not contend on one lock. Only tokens that
//! verified are stored; every hit re-checks the time window against `now`.
//!
//! `clear` is a barrier: a verification that started before it cannot put
//! its result into the cache after it (its generation is stale), so after
//! `clear` returns every token is verified in full again, even one whose
//! verification was in flight on another thread.

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};

use quick_cache::sync::Cache;

use crate::verified::Verified;

pub(crate) struct TokenCache {
    entries: Cache<Box<[u8]>, Verified>,
    /// Bumped by every `clear`.
    generation: AtomicU64,
}

impl TokenCache {
    /// A cache of at most `max_entries` tokens; `None` when 0 (off).
    pub(crate) fn new(max_entries: usize) -> Option<TokenCache> {
        (max_entries > 0)
            .then(|| TokenCache { entries: Cache::new(max_entries), generation: AtomicU64::new(0) })
    }

    pub(crate) fn get(&self, token: &[u8]) -> Option<Verified> {
        self.entries.get(token)
    }

    /// The generation to pass to `insert` for a verification starting now.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(SeqCst)
    }

    /// Stores a result, unless a `clear` happened since `generation` was
    /// read. Checked again after the insert: a `clear` that bumped the
    /// generation in between may have emptied the cache before the insert
    /// landed, so the entry is taken out again.
    pub(crate) fn insert(&self, token: &[u8], verified: Verified, generation: u64) {
        if self.generation.load(SeqCst) != generation {
            return;
        }
        self.entries.insert(token.into(), verified);
        if self.generation.load(SeqCst) != generation {
            self.entries.remove(token);
        }
    }

    pub(crate) fn remove(&self, token: &[u8]) {
        self.entries.remove(token);
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn clear(&self) {
        self.generation.fetch_add(1, SeqCst);
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{Algorithm, Signer, Verifier, base64url_encode};

    #[test]
    fn a_result_from_before_a_clear_is_not_stored() {
        let secret = [42u8; 32];
        let verifier = Verifier::from_value(json!({
            "issuers": [{"algorithms": ["HS256"], "keys": {"hmac_secret": base64url_encode(secret)}}],
            "cache": {"max_entries": 0}
        }))
        .unwrap();
        let signer = Signer::from_secret(Algorithm::HS256, &secret, None).unwrap();
        let token = signer.sign(&json!({"sub": "ada"}), None, None).unwrap();
        let verified = verifier.verify(&token, None).unwrap();

        let cache = TokenCache::new(16).unwrap();
        let before = cache.generation();
        cache.clear(); // another thread clears while this verification runs
        cache.insert(token.as_bytes(), verified.clone(), before);
        assert!(cache.get(token.as_bytes()).is_none(), "a stale result must not be stored");

        cache.insert(token.as_bytes(), verified, cache.generation());
        assert!(cache.get(token.as_bytes()).is_some());
    }
}
