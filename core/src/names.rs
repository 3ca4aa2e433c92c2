//! The claim-name index: which top-level payload members a policy reads.
//!
//! The verifier scans every payload member but builds values only for the
//! names a policy wants ([`NameSet`]); strict JSON uses the one-word
//! [`NameFilter`] to find duplicate member names without comparing every
//! pair. Both hash a name from its length and first and last bytes.

/// String equality for the short names of claims, inlined: most names
/// differ in length or first byte, and equal lengths are common (`iss`,
/// `sub`, `aud`, `exp`, `nbf`, `iat`), where a `memcmp` call would cost more
/// than the comparison.
#[inline]
pub(crate) fn short_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// A one-word summary of a set of names: one of 64 bits per name, picked
/// from its length and first and last bytes. Most names outside the set
/// miss its bits and are told apart without comparing strings; a hit still
/// needs the comparison.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NameFilter(u64);

/// Which of 64 buckets a name falls in, from its length and first and last
/// bytes (a multiplicative hash: cheap, and it spreads the registered claim
/// names over distinct buckets).
#[inline]
fn bucket(name: &str) -> usize {
    let b = name.as_bytes();
    let (first, last) = match b {
        [] => (0, 0),
        [f, .., l] => (*f, *l),
        [f] => (*f, *f),
    };
    let key = u64::from(first) | u64::from(last) << 8 | (b.len() as u64) << 16;
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as usize
}

impl NameFilter {
    #[inline]
    fn bit(name: &str) -> u64 {
        1 << bucket(name)
    }

    #[inline]
    pub(crate) fn insert(&mut self, name: &str) {
        self.0 |= Self::bit(name);
    }

    #[inline]
    pub(crate) fn may_contain(self, name: &str) -> bool {
        self.0 & Self::bit(name) != 0
    }
}

/// A fixed set of names (the claims a policy reads), asked once per payload
/// member. Each bucket remembers the one name that falls in it, so a lookup
/// is one hash and at most one comparison; buckets shared by several names
/// fall back to comparing with each.
#[derive(Debug, Clone)]
pub(crate) struct NameSet {
    names: Vec<String>,
    /// Per bucket: 0 for no name, `i + 1` for `names[i]` alone, `SHARED`.
    slots: [u8; 64],
}

impl NameSet {
    const SHARED: u8 = u8::MAX;

    pub(crate) fn new(names: Vec<String>) -> NameSet {
        let mut slots = [0u8; 64];
        for (i, name) in names.iter().enumerate() {
            let slot = &mut slots[bucket(name)];
            *slot = match (*slot, u8::try_from(i + 1)) {
                (0, Ok(index)) if index != Self::SHARED => index,
                _ => Self::SHARED,
            };
        }
        NameSet { names, slots }
    }

    #[inline]
    pub(crate) fn contains(&self, name: &str) -> bool {
        match self.slots[bucket(name)] {
            0 => false,
            Self::SHARED => self.names.iter().any(|n| short_eq(n, name)),
            index => short_eq(&self.names[usize::from(index) - 1], name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_filter_never_misses_a_member() {
        let names = ["", "a", "iss", "sub", "aud", "exp", "nbf", "iat", "jti", "https://example.com/roles"];
        let mut filter = NameFilter::default();
        for name in names {
            filter.insert(name);
        }
        assert!(names.iter().all(|n| filter.may_contain(n)));
        let registered = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"];
        let mut bits = registered.map(|n| NameFilter::bit(n).trailing_zeros());
        bits.sort_unstable();
        assert!(bits.windows(2).filter(|w| w[0] == w[1]).count() <= 1, "registered names spread: {bits:?}");
    }

    #[test]
    fn name_set_finds_exactly_its_names() {
        let mut names: Vec<String> = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "", "tenant"]
            .into_iter()
            .map(String::from)
            .collect();
        // More names than buckets: every bucket is shared by some.
        names.extend((0..300).map(|i| format!("claim{i}")));
        for count in [0, 1, 9, names.len()] {
            let set = NameSet::new(names[..count].to_vec());
            for (i, name) in names.iter().enumerate() {
                assert_eq!(set.contains(name), i < count, "{name} in the first {count}");
            }
            assert!(!set.contains("is"));
            assert!(!set.contains("isss"));
        }
    }
}
