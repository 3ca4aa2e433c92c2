//! Strict JSON for token headers and payloads.
//!
//! Tokens come from strangers, so their JSON is held to more than
//! `serde_json` checks by default: member names must be unique in every
//! object (RFC 8725 section 3.10 warns about parsers that keep the first or
//! the last of a duplicate), and nesting is bounded by [`MAX_DEPTH`].
//!
//! The verify hot path does not build a `serde_json::Value` for the whole
//! payload: [`scan_object`] validates every byte but builds values only for
//! the members the policy reads. The full claims are parsed lazily when a
//! caller asks for them.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use smallvec::SmallVec;

/// Deepest nesting of arrays and objects accepted in a header or payload.
pub const MAX_DEPTH: usize = 32;

/// The value of a member a scan kept. Strings, the common case (`iss`,
/// `sub`, `aud`, most custom claims), borrow the payload text when they hold
/// no escapes instead of becoming a `Value::String` of their own; every
/// other value is a `Value`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Member<'a> {
    Str(Cow<'a, str>),
    Json(Value),
}

impl<'a> Member<'a> {
    /// A view of the value, as the claim engine reads it.
    pub(crate) fn claim(&self) -> ClaimRef<'_> {
        match self {
            Member::Str(s) => ClaimRef::Str(s),
            Member::Json(v) => ClaimRef::from(v),
        }
    }

    /// The value as an owned `Value` (for the header, which is parsed once
    /// per distinct header and then cached).
    pub(crate) fn into_value(self) -> Value {
        match self {
            Member::Str(s) => Value::String(s.into_owned()),
            Member::Json(v) => v,
        }
    }
}

/// A claim value found in a token: a string, or any other JSON value.
/// Strings are always `Str`, whether they came from the top level of the
/// payload or from inside an object or array.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ClaimRef<'v> {
    Str(&'v str),
    Json(&'v Value),
}

impl<'v> From<&'v Value> for ClaimRef<'v> {
    fn from(value: &'v Value) -> ClaimRef<'v> {
        match value {
            Value::String(s) => ClaimRef::Str(s),
            other => ClaimRef::Json(other),
        }
    }
}

impl<'v> ClaimRef<'v> {
    pub(crate) fn as_str(self) -> Option<&'v str> {
        match self {
            ClaimRef::Str(s) => Some(s),
            ClaimRef::Json(_) => None,
        }
    }

    pub(crate) fn as_json(self) -> Option<&'v Value> {
        match self {
            ClaimRef::Str(_) => None,
            ClaimRef::Json(v) => Some(v),
        }
    }
}

/// The members a scan kept: name and value, in document order.
pub(crate) type Members<'a> = SmallVec<[(Cow<'a, str>, Member<'a>); 8]>;

/// Parses `text` as one JSON object, rejecting duplicate names and deep
/// nesting anywhere in it, and returns the top-level members for which
/// `wanted` is true.
pub(crate) fn scan_object<'a>(
    text: &'a str,
    wanted: &dyn Fn(&str) -> bool,
) -> Result<Members<'a>, serde_json::Error> {
    let mut members = Members::new();
    scan_object_into(text, wanted, &mut members)?;
    Ok(members)
}

/// [`scan_object`] into a caller's `Members`, which the verify path keeps
/// on its stack: the list is a few hundred bytes, and returning it through
/// serde's visitor layers would copy it at every level.
pub(crate) fn scan_object_into<'a>(
    text: &'a str,
    wanted: &dyn Fn(&str) -> bool,
    members: &mut Members<'a>,
) -> Result<(), serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    de.deserialize_map(ObjectScan { wanted, kept: members })?;
    de.end()
}

/// Parses `text` into a `Value` with the same strictness as [`scan_object`].
pub fn parse_strict(text: &str) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = StrictValue { depth: MAX_DEPTH }.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

fn too_deep<E: de::Error>() -> E {
    E::custom(format_args!("JSON nested deeper than {MAX_DEPTH} levels"))
}

fn duplicate<E: de::Error>(name: &str) -> E {
    E::custom(format_args!("duplicate member name {name:?}"))
}

/// Member names, borrowed from the input when they hold no escapes.
struct Name;

impl<'de> DeserializeSeed<'de> for Name {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Name {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a member name")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

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

/// Objects with more names than this switch from a linear scan to a hash
/// set, so a payload of thousands of members costs linear time, not
/// quadratic (the check runs before the signature is known to be good).
const LINEAR_NAMES: usize = 32;

/// Names seen so far in one object: a linear scan at the sizes tokens
/// usually have, a hash set for large objects.
#[derive(Default)]
struct SeenNames<'de> {
    few: SmallVec<[Cow<'de, str>; 16]>,
    filter: NameFilter,
    many: Option<HashSet<Cow<'de, str>>>,
}

impl<'de> SeenNames<'de> {
    fn insert<E: de::Error>(&mut self, name: Cow<'de, str>) -> Result<(), E> {
        if let Some(many) = &mut self.many {
            if many.contains(&name) {
                return Err(duplicate(&name));
            }
            many.insert(name);
            return Ok(());
        }
        if self.filter.may_contain(&name) && self.few.iter().any(|n| short_eq(n, &name)) {
            return Err(duplicate(&name));
        }
        self.filter.insert(&name);
        self.few.push(name);
        if self.few.len() > LINEAR_NAMES {
            self.many = Some(self.few.drain(..).collect());
        }
        Ok(())
    }
}

/// The top-level object of a header or payload.
struct ObjectScan<'w, 'de> {
    wanted: &'w dyn Fn(&str) -> bool,
    kept: &'w mut Members<'de>,
}

impl<'de> Visitor<'de> for ObjectScan<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = SeenNames::default();
        while let Some(name) = map.next_key_seed(Name)? {
            if (self.wanted)(&name) {
                let value = map.next_value_seed(MemberValue { depth: MAX_DEPTH - 1 })?;
                seen.insert(name.clone())?;
                self.kept.push((name, value));
            } else {
                map.next_value_seed(Skip { depth: MAX_DEPTH - 1 })?;
                seen.insert(name)?;
            }
        }
        Ok(())
    }
}

/// A kept member's value: strings borrowed where they can be, the rest
/// built by [`StrictValue`].
#[derive(Clone, Copy)]
struct MemberValue {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for MemberValue {
    type Value = Member<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Member<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for MemberValue {
    type Value = Member<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Member<'de>, E> {
        Ok(Member::Json(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Member<'de>, E> {
        Ok(Member::Json(Value::Number(v.into())))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Member<'de>, E> {
        Ok(Member::Json(Value::Number(v.into())))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Member<'de>, E> {
        StrictValue { depth: self.depth }.visit_f64(v).map(Member::Json)
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Member<'de>, E> {
        Ok(Member::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Member<'de>, E> {
        Ok(Member::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Member<'de>, E> {
        Ok(Member::Str(Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<Member<'de>, E> {
        Ok(Member::Json(Value::Null))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Member<'de>, A::Error> {
        StrictValue { depth: self.depth }.visit_seq(seq).map(Member::Json)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Member<'de>, A::Error> {
        StrictValue { depth: self.depth }.visit_map(map).map(Member::Json)
    }
}

/// Validates a value (duplicates, depth) without building it.
#[derive(Clone, Copy)]
struct Skip {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let inner = Skip { depth: self.depth.checked_sub(1).ok_or_else(too_deep)? };
        while seq.next_element_seed(inner)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let inner = Skip { depth: self.depth.checked_sub(1).ok_or_else(too_deep)? };
        let mut seen = SeenNames::default();
        while let Some(name) = map.next_key_seed(Name)? {
            map.next_value_seed(inner)?;
            seen.insert(name)?;
        }
        Ok(())
    }
}

/// Builds a `Value`, rejecting duplicates and deep nesting.
#[derive(Clone, Copy)]
struct StrictValue {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v).map(Value::Number).ok_or_else(|| E::custom("non-finite number"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let inner = StrictValue { depth: self.depth.checked_sub(1).ok_or_else(too_deep)? };
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(v) = seq.next_element_seed(inner)? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let inner = StrictValue { depth: self.depth.checked_sub(1).ok_or_else(too_deep)? };
        let mut out = Map::new();
        while let Some(name) = map.next_key_seed(Name)? {
            let value = map.next_value_seed(inner)?;
            if out.contains_key(name.as_ref()) {
                return Err(duplicate(&name));
            }
            out.insert(name.into_owned(), value);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(_: &str) -> bool {
        true
    }
    fn none(_: &str) -> bool {
        false
    }

    #[test]
    fn keeps_only_wanted_members() {
        let m = scan_object(r#"{"a":1,"b":{"c":[true]},"d":"x"}"#, &|n| n != "b").unwrap();
        let names: Vec<_> = m.iter().map(|(n, _)| n.as_ref()).collect();
        assert_eq!(names, ["a", "d"]);
        assert_eq!(m[1].1, Member::Str("x".into()));
        assert_eq!(m[0].1, Member::Json(Value::from(1)));
    }

    #[test]
    fn rejects_duplicates_at_every_level_and_after_unescaping() {
        for text in [
            r#"{"a":1,"a":2}"#,
            r#"{"a":1,"\u0061":2}"#,
            r#"{"x":{"b":1,"b":1}}"#,
            r#"{"x":[{"b":1,"b":1}]}"#,
        ] {
            assert!(scan_object(text, &all).is_err(), "{text}");
            assert!(scan_object(text, &none).is_err(), "{text}");
            assert!(parse_strict(text).is_err(), "{text}");
        }
    }

    #[test]
    fn large_objects_still_find_duplicates() {
        let members: Vec<String> = (0..5000).map(|i| format!("\"m{i}\":{i}")).collect();
        let ok = format!("{{{}}}", members.join(","));
        assert!(scan_object(&ok, &none).is_ok());
        let dup = format!("{{{},\"m4999\":0}}", members.join(","));
        assert!(scan_object(&dup, &none).is_err());
        assert!(scan_object(&dup, &all).is_err());
        let early = format!("{{\"m3\":0,{}}}", members.join(","));
        assert!(parse_strict(&early).is_err());
    }

    #[test]
    fn bounds_nesting() {
        let ok = format!("{{\"a\":{}1{}}}", "[".repeat(MAX_DEPTH - 1), "]".repeat(MAX_DEPTH - 1));
        assert!(scan_object(&ok, &none).is_ok());
        assert!(scan_object(&ok, &all).is_ok());
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(scan_object(&deep, &none).is_err());
        assert!(scan_object(&deep, &all).is_err());
        let bomb = "[".repeat(100_000);
        assert!(parse_strict(&bomb).is_err());
    }

    #[test]
    fn rejects_non_objects_and_trailing_data() {
        for text in ["[]", "1", "\"s\"", "null", "{} {}", "{", ""] {
            assert!(scan_object(text, &all).is_err(), "{text}");
        }
    }

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

    #[test]
    fn rejects_lone_surrogates() {
        assert!(scan_object(r#"{"a":"\ud800"}"#, &none).is_err());
    }
}
