//! Strict JSON for token headers and payloads.
//!
//! Tokens come from strangers, so their JSON is held to more than
//! `serde_json` checks by default: member names must be unique in every
//! object (RFC 8725 section 3.10 warns about parsers that keep the first or
//! the last of a duplicate), and nesting is bounded by [`MAX_DEPTH`].
//!
//! The verify hot path does not build a `serde_json::Value` for the whole
//! payload: `scan_object` validates every byte but builds values only for
//! the members the policy reads. The full claims are parsed lazily when a
//! caller asks for them.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use smallvec::SmallVec;

use crate::names::{NameFilter, short_eq};

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

/// Parses `text` into a `Value` with the same strictness as `scan_object`.
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
    fn rejects_lone_surrogates() {
        assert!(scan_object(r#"{"a":"\ud800"}"#, &none).is_err());
    }
}
