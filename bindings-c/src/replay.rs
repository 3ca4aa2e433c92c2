//! A DPoP replay store supplied by the C side (the Nginx module's shared
//! memory zone): a callback the core calls through its `ReplayStore` trait.

use std::ffi::{c_char, c_void};
use std::sync::Arc;

use jwtgate::{ReplayStore, StoreError};

use crate::error::jwtgate_code;
use crate::ffi::handle;
use crate::verifier::jwtgate_verifier;

/// What a replay store's `insert_once` answers.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum jwtgate_replay_verdict {
    /// The key was not recorded (or had expired): it is recorded now, until
    /// `expires_at`. The proof is accepted.
    JWTGATE_REPLAY_FRESH = 0,
    /// The key is recorded and unexpired: the proof is a replay
    /// (`invalid_dpop_proof`).
    JWTGATE_REPLAY_SEEN = 1,
    /// No room for the key without forgetting unexpired ones: the proof is
    /// refused (`replay_store_unavailable`, 503, whatever
    /// `replay_store.on_error` says). A store must never evict unexpired
    /// keys to make room: their proofs could be replayed.
    JWTGATE_REPLAY_FULL = 2,
    /// The store could not answer: `replay_store.on_error` decides
    /// (`fail_closed` by default). Any value the callback returns outside
    /// this enum counts as this one.
    JWTGATE_REPLAY_UNAVAILABLE = 3,
}

/// Records `key` (`key_len` bytes, `key_len >= 1`, not NUL-terminated,
/// valid only during the call) until `expires_at` unless it is already
/// recorded and unexpired as of `now` (both unix seconds; `now` is the
/// decision's clock, pinned or the system's). Returns a
/// `jwtgate_replay_verdict` value. It must be atomic across every process
/// and thread sharing the store, may be called from any thread that calls
/// `jwtgate_verifier_decide` with the verifier (several at once), must not
/// block for long and must not unwind (throw) into the library.
pub type jwtgate_replay_insert_once = Option<
    unsafe extern "C" fn(
        ctx: *mut c_void,
        key: *const c_char,
        key_len: usize,
        expires_at: f64,
        now: f64,
    ) -> u32,
>;

/// Releases a replay store's `ctx` once no verifier can call
/// `insert_once` with it any more. Called at most once, from whichever
/// thread drops the last use.
pub type jwtgate_replay_free = Option<unsafe extern "C" fn(ctx: *mut c_void)>;

/// The callback as a core store. Dropped when the last verifier using it is
/// freed or given another store, and no decision is using it.
struct ExternalStore {
    insert_once: unsafe extern "C" fn(*mut c_void, *const c_char, usize, f64, f64) -> u32,
    ctx: *mut c_void,
    free_ctx: jwtgate_replay_free,
}

// SAFETY: `ctx` is only handed back to the caller's own callbacks, which
// `jwtgate_verifier_set_replay_store` requires to be callable from any
// thread, concurrently (insert_once) or once from any thread (free_ctx).
unsafe impl Send for ExternalStore {}
// SAFETY: as for Send: the callbacks are thread-safe by contract.
unsafe impl Sync for ExternalStore {}

impl ReplayStore for ExternalStore {
    fn insert_once(&self, key: &str, expires_at: f64, now: f64) -> Result<bool, StoreError> {
        // SAFETY: key points at key.len() bytes that live for the call; the
        // caller of set_replay_store promised a callback of this signature
        // that does not unwind.
        let verdict =
            unsafe { (self.insert_once)(self.ctx, key.as_ptr().cast(), key.len(), expires_at, now) };
        match verdict {
            v if v == jwtgate_replay_verdict::JWTGATE_REPLAY_FRESH as u32 => Ok(true),
            v if v == jwtgate_replay_verdict::JWTGATE_REPLAY_SEEN as u32 => Ok(false),
            v if v == jwtgate_replay_verdict::JWTGATE_REPLAY_FULL as u32 => Err(StoreError::Full),
            v => Err(StoreError::Unavailable(format!("the external replay store answered {v}"))),
        }
    }
}

impl Drop for ExternalStore {
    fn drop(&mut self) {
        if let Some(free_ctx) = self.free_ctx {
            // SAFETY: the last use of ctx is over; the caller's callback
            // releases it, once.
            unsafe { free_ctx(self.ctx) };
        }
    }
}

/// Replaces the verifier's DPoP replay store (the policy's in-process one,
/// or Redis) with the caller's: `insert_once(ctx, ...)` is called once per
/// DPoP proof that passes every other check. The store applies to every
/// verifier derived from the same policy. Call it before the verifier
/// decides requests; calling it while other threads decide is safe (they
/// use the old store or the new one).
///
/// Ownership: on `JWTGATE_OK`, `ctx` belongs to the verifier, which calls
/// `free_ctx(ctx)` (when not NULL) once nothing can call `insert_once`
/// any more: after `jwtgate_verifier_free`, or after a later call of this
/// function replaced the store. On any other code nothing is kept and
/// `free_ctx` is not called: `ctx` stays the caller's.
///
/// Returns `JWTGATE_NULL_PARAMETER` when `verifier` or `insert_once` is
/// NULL.
///
/// # Safety
/// `verifier` must be NULL or a live verifier. `insert_once` and `free_ctx`
/// must follow their contracts (thread-safe, no unwinding), and `ctx` must
/// stay valid until `free_ctx` is called (or, with no `free_ctx`, as long
/// as the verifier and its decisions live).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_verifier_set_replay_store(
    verifier: *const jwtgate_verifier,
    insert_once: jwtgate_replay_insert_once,
    ctx: *mut c_void,
    free_ctx: jwtgate_replay_free,
) -> jwtgate_code {
    ffi_boundary! {
        // SAFETY: the caller passes NULL or a live verifier.
        let Ok(verifier) = (unsafe { handle(verifier, "verifier") }) else {
            return jwtgate_code::JWTGATE_NULL_PARAMETER;
        };
        let Some(insert_once) = insert_once else { return jwtgate_code::JWTGATE_NULL_PARAMETER };
        verifier.inner.set_replay_store(Arc::new(ExternalStore { insert_once, ctx, free_ctx }));
        jwtgate_code::JWTGATE_OK
    }
}

/// Whether the verifier remembers DPoP proofs in this process alone: an
/// issuer accepts DPoP and the policy names no shared store
/// (`replay_store.redis`). A server that runs the policy in several
/// processes (Nginx workers) gives such a verifier a store they share
/// with `jwtgate_verifier_set_replay_store`; otherwise a proof replayed to
/// another process is accepted there. Stays true after a store was set.
/// False when `verifier` is NULL.
///
/// # Safety
/// `verifier` must be NULL or a live verifier.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jwtgate_verifier_replay_store_in_process(verifier: *const jwtgate_verifier) -> bool {
    ffi_boundary! {
        // SAFETY: the caller passes NULL or a live verifier.
        unsafe { handle(verifier, "verifier") }.is_ok_and(|v| v.inner.replay_store_in_process())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    /// ctx: [answer, calls, frees].
    unsafe extern "C" fn answer(ctx: *mut c_void, key: *const c_char, key_len: usize, _: f64, _: f64) -> u32 {
        // SAFETY: the tests pass a live [AtomicU32; 3] and a key of key_len bytes.
        let state = unsafe { &*(ctx as *const [AtomicU32; 3]) };
        // SAFETY: as above.
        assert_eq!(unsafe { std::slice::from_raw_parts(key.cast::<u8>(), key_len) }, b"k:1");
        state[1].fetch_add(1, Ordering::SeqCst);
        state[0].load(Ordering::SeqCst)
    }

    unsafe extern "C" fn release(ctx: *mut c_void) {
        // SAFETY: as for answer.
        let state = unsafe { &*(ctx as *const [AtomicU32; 3]) };
        state[2].fetch_add(1, Ordering::SeqCst);
    }

    #[test]
    fn verdicts_map_to_the_core_and_the_context_is_released_once() {
        let state: [AtomicU32; 3] = Default::default();
        let ctx = &state as *const _ as *mut c_void;
        let store = ExternalStore { insert_once: answer, ctx, free_ctx: Some(release) };
        let answers = [(0, Ok(true)), (1, Ok(false)), (2, Err(StoreError::Full))];
        for (verdict, want) in answers {
            state[0].store(verdict, Ordering::SeqCst);
            assert_eq!(store.insert_once("k:1", 2.0, 1.0), want);
        }
        for verdict in [3, 4, u32::MAX] {
            state[0].store(verdict, Ordering::SeqCst);
            assert!(matches!(store.insert_once("k:1", 2.0, 1.0), Err(StoreError::Unavailable(_))));
        }
        assert_eq!(state[1].load(Ordering::SeqCst), 6);
        assert_eq!(state[2].load(Ordering::SeqCst), 0);
        drop(store);
        assert_eq!(state[2].load(Ordering::SeqCst), 1);
    }

    #[test]
    fn null_arguments_keep_nothing() {
        let state: [AtomicU32; 3] = Default::default();
        let ctx = &state as *const _ as *mut c_void;
        // SAFETY: NULL verifier; the callbacks follow their contract.
        let code =
            unsafe { jwtgate_verifier_set_replay_store(std::ptr::null(), Some(answer), ctx, Some(release)) };
        assert_eq!(code, jwtgate_code::JWTGATE_NULL_PARAMETER);
        assert_eq!(state[2].load(Ordering::SeqCst), 0, "ctx stays the caller's");
        // SAFETY: NULL verifier.
        assert!(!unsafe { jwtgate_verifier_replay_store_in_process(std::ptr::null()) });
    }
}
