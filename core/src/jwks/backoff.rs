//! When to try again: exponential backoff with jitter after failures, and
//! the jittered point in a set's lifetime at which it is refreshed.

/// A uniform random number in [0, 1).
fn random() -> f64 {
    let mut b = [0u8; 4];
    let _ = aws_lc_rs::rand::fill(&mut b);
    f64::from(u32::from_le_bytes(b)) / 4_294_967_296.0
}

/// A factor in [0.75, 0.9): when in a set's lifetime to refresh it, so a
/// fleet started together does not fetch together.
pub(crate) fn refresh_factor() -> f64 {
    0.75 + 0.15 * random()
}

/// Seconds to wait after the `failures`-th failure in a row: `min_s`
/// doubled per failure, times a random factor in [1, 1.5), clamped to
/// `[min_s, max_s]`; at least what the server asked for with
/// `Retry-After`, but never more than `max_s`.
pub(crate) fn delay_s(min_s: f64, max_s: f64, failures: u32, retry_after_s: Option<f64>) -> f64 {
    let doublings = failures.saturating_sub(1).min(40);
    let base = (min_s * 2f64.powi(doublings as i32)).min(max_s);
    let delay = (base * (1.0 + 0.5 * random())).clamp(min_s, max_s);
    match retry_after_s {
        Some(asked) => delay.max(asked.min(max_s)),
        None => delay,
    }
}

#[cfg(test)]
mod tests {
    use super::delay_s;

    #[test]
    fn doubles_within_bounds_and_honours_retry_after() {
        for _ in 0..100 {
            let first = delay_s(1.0, 300.0, 1, None);
            assert!((1.0..1.5).contains(&first), "{first}");
            let third = delay_s(1.0, 300.0, 3, None);
            assert!((4.0..6.0).contains(&third), "{third}");
            assert!(delay_s(1.0, 300.0, 30, None) <= 300.0);
            assert_eq!(delay_s(1.0, 300.0, u32::MAX, None), 300.0);
            assert!(delay_s(1.0, 300.0, 1, Some(30.0)) >= 30.0);
            assert_eq!(delay_s(1.0, 300.0, 1, Some(1e9)), 300.0);
        }
    }
}
