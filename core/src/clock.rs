//! The system clock, at the bottom of the crate: every time check takes an
//! injectable `now` (unix seconds) and falls back to this.

use std::time::{SystemTime, UNIX_EPOCH};

/// The current time in unix seconds.
pub fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}
