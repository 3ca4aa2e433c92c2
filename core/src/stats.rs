//! Counters every runtime can read: verifications by result code, cache
//! hits and misses, and the state of every remote key set.
//!
//! Counting happens on the hot path of every thread, so counters are
//! striped: each thread adds to its own cache-line-aligned stripe and a
//! snapshot sums them, instead of all cores fighting over one atomic.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use serde::Serialize;

use crate::error::ErrorKind;
use crate::jwks::RemoteStats;

const STRIPES: usize = 8;
/// Slot 0: valid; then one slot per error kind; then cache hit and miss,
/// then report-only decisions that would have rejected.
const SLOTS: usize = ErrorKind::ALL.len() + 4;
const OK: usize = 0;
const CACHE_HIT: usize = ErrorKind::ALL.len() + 1;
const CACHE_MISS: usize = ErrorKind::ALL.len() + 2;
const REPORT_ONLY: usize = ErrorKind::ALL.len() + 3;

#[repr(align(128))]
struct Stripe([AtomicU64; SLOTS]);

pub(crate) struct Counters {
    stripes: [Stripe; STRIPES],
}

static NEXT_STRIPE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static MY_STRIPE: Cell<usize> = const { Cell::new(usize::MAX) };
}

fn my_stripe() -> usize {
    MY_STRIPE.with(|s| {
        if s.get() == usize::MAX {
            s.set(NEXT_STRIPE.fetch_add(1, Ordering::Relaxed) % STRIPES);
        }
        s.get()
    })
}

impl Counters {
    pub(crate) fn new() -> Counters {
        Counters { stripes: std::array::from_fn(|_| Stripe(std::array::from_fn(|_| AtomicU64::new(0)))) }
    }

    fn add(&self, slot: usize) {
        self.stripes[my_stripe()].0[slot].fetch_add(1, Ordering::Relaxed);
    }

    fn sum(&self, slot: usize) -> u64 {
        self.stripes.iter().map(|s| s.0[slot].load(Ordering::Relaxed)).sum()
    }

    pub(crate) fn result(&self, error: Option<ErrorKind>) {
        self.add(error.map_or(OK, |k| k as usize + 1));
    }

    /// A `report_only` decision that let through a request it would have rejected.
    pub(crate) fn report_only(&self) {
        self.add(REPORT_ONLY);
    }

    pub(crate) fn cache(&self, hit: bool) {
        self.add(if hit { CACHE_HIT } else { CACHE_MISS });
    }

    pub(crate) fn snapshot(&self, cached_tokens: usize, key_sets: Vec<KeySetStats>) -> Stats {
        let mut verifications = BTreeMap::new();
        verifications.insert("valid", self.sum(OK));
        for kind in ErrorKind::ALL {
            verifications.insert(kind.code(), self.sum(kind as usize + 1));
        }
        Stats {
            verifications,
            cache_hits: self.sum(CACHE_HIT),
            cache_misses: self.sum(CACHE_MISS),
            report_only_rejections: self.sum(REPORT_ONLY),
            cached_tokens,
            key_sets,
        }
    }
}

/// A snapshot of a verifier's counters.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    /// Verifications by outcome: `valid` or an error code.
    pub verifications: BTreeMap<&'static str, u64>,
    /// Verifications answered from the verified-token cache.
    pub cache_hits: u64,
    /// Verifications that missed the cache (cache on only).
    pub cache_misses: u64,
    /// Requests that mode `report_only` let through although they would
    /// have been rejected (their codes are counted under `verifications`,
    /// or are `missing_token` / `invalid_request`, which never reach one).
    pub report_only_rejections: u64,
    /// Tokens in the cache now.
    pub cached_tokens: usize,
    /// Every remote key set (`jwks_uri`, `discovery`, allowed `jku`).
    pub key_sets: Vec<KeySetStats>,
}

/// The state of one remote key set.
#[derive(Debug, Clone, Serialize)]
pub struct KeySetStats {
    /// The issuer it belongs to.
    pub issuer: Option<String>,
    /// Its counters and current keys.
    #[serde(flatten)]
    pub remote: RemoteStats,
}
