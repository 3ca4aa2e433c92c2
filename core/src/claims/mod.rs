//! The claim engine: claim names and JSON Pointers, and the typed rules of
//! the policy document, compiled once at load. Every place a rule is
//! written (an issuer, a route, an overlay, an Nginx directive) compiles it
//! here, so a rule means the same everywhere.

use std::borrow::Cow;

use regex::{Regex, RegexBuilder};
use serde_json::Value;

use crate::error::{Error, ErrorKind};
use crate::json::{ClaimRef, Member};
use crate::names::short_eq;
use crate::policy::ClaimRuleDoc;

mod number;
mod set;

use number::Bounds;
pub(crate) use set::RuleSet;

/// Largest compiled regex accepted in a policy, so a hostile or careless
/// pattern cannot take the process's memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Where a claim is: a top-level name (dots mean nothing, so
/// `https://example.com/roles` is one name) or, when it starts with `/`, a
/// JSON Pointer (RFC 6901) into nested claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimPath {
    display: String,
    root: String,
    rest: Option<String>,
}

impl ClaimPath {
    /// Parses a rule or forward name.
    pub fn parse(name: &str) -> Result<ClaimPath, String> {
        if name.is_empty() {
            return Err("empty claim name".into());
        }
        let Some(pointer) = name.strip_prefix('/') else {
            return Ok(ClaimPath { display: name.into(), root: name.into(), rest: None });
        };
        let (first, rest) = match pointer.find('/') {
            Some(i) => (&pointer[..i], Some(pointer[i..].to_owned())),
            None => (pointer, None),
        };
        for token in pointer.split('/') {
            let mut chars = token.chars();
            while let Some(c) = chars.next() {
                if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
                    return Err(format!("invalid JSON Pointer {name:?}: '~' must be followed by 0 or 1"));
                }
            }
        }
        Ok(ClaimPath { display: name.into(), root: first.replace("~1", "/").replace("~0", "~"), rest })
    }

    /// The name as written in the policy.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// The claim a failed rule names: the top-level name for a plain name
    /// and for a pointer to a top-level claim (`/dept` is `dept`), the
    /// pointer as written for a nested claim.
    pub fn claim_name(&self) -> &str {
        if self.rest.is_none() { &self.root } else { &self.display }
    }

    /// The top-level claim the path starts at.
    pub fn root(&self) -> &str {
        &self.root
    }

    /// Finds the claim among top-level members. A `null` claim is absent:
    /// it satisfies neither `require` nor a `required` rule, and is not
    /// forwarded.
    pub(crate) fn lookup<'v>(&self, members: &'v [(Cow<'_, str>, Member<'_>)]) -> Option<ClaimRef<'v>> {
        let top = members.iter().find(|(n, _)| short_eq(n, &self.root)).map(|(_, v)| v)?;
        let found = match &self.rest {
            None => top.claim(),
            Some(rest) => ClaimRef::from(top.claim().as_json()?.pointer(rest)?),
        };
        match found {
            ClaimRef::Json(Value::Null) => None,
            found => Some(found),
        }
    }

    /// Finds the claim in a claims object.
    pub fn lookup_value<'v>(&self, claims: &'v Value) -> Option<&'v Value> {
        let top = claims.get(&self.root)?;
        match &self.rest {
            None => Some(top),
            Some(rest) => top.pointer(rest),
        }
    }
}

/// JSON equality that keeps types apart (`"4"` is not `4`, `true` is not
/// `1`) but treats `4` and `4.0` as the same number; numbers compare by
/// their exact values (an integer beyond 2^53 is not the float nearest it).
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => number::compare(x, y).is_eq(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// [`json_eq`] for a claim found in a token.
fn claim_eq(claim: ClaimRef<'_>, expected: &Value) -> bool {
    match claim {
        ClaimRef::Str(s) => expected.as_str() == Some(s),
        ClaimRef::Json(v) => json_eq(v, expected),
    }
}

/// A compiled claim rule.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    path: ClaimPath,
    equals: Option<Value>,
    not_equals: Option<Value>,
    one_of: Option<Vec<Value>>,
    none_of: Option<Vec<Value>>,
    regex: Option<Regex>,
    contains_all: Option<Vec<Value>>,
    contains_any: Option<Vec<Value>>,
    bounds: Bounds,
    required: bool,
    /// The HTTP status of a failure when not the kind's own 403.
    status: Option<u16>,
}

impl Rule {
    /// Compiles the rule on claim `name` written under `place` (`claims`,
    /// `any_of[1]`); an invalid name, regex, bound or status is a policy
    /// error that names the rule (`claims.roles.status: ...`).
    pub(crate) fn compile(place: &str, name: &str, doc: &ClaimRuleDoc) -> Result<Rule, Error> {
        Rule::compile_in(place, name, doc, false)
    }

    /// [`Rule::compile`] where `alternative` says the rule is part of an
    /// `any_of` alternative: there `required` defaults to true, or a token
    /// without `roles` would satisfy `{"roles": {"contains_any": ["admin"]}}`
    /// and with it the whole `any_of`.
    pub(crate) fn compile_in(
        place: &str,
        name: &str,
        doc: &ClaimRuleDoc,
        alternative: bool,
    ) -> Result<Rule, Error> {
        let path = ClaimPath::parse(name).map_err(|e| Error::policy(format!("{place}: {e}")))?;
        let bad = |what: String| Error::policy(format!("{place}.{name}{what}"));
        let regex = match &doc.regex {
            None => None,
            // The whole value must match: `^admin|root$` alone would
            // accept `admin-evil` (alternation binds looser than anchors).
            Some(pattern) => Some(
                RegexBuilder::new(&format!("^(?:{pattern})$"))
                    .size_limit(REGEX_SIZE_LIMIT)
                    .build()
                    .map_err(|e| bad(format!(".regex: {e}")))?,
            ),
        };
        if doc.none_of.as_ref().is_some_and(Vec::is_empty) {
            return Err(bad(".none_of: list at least one value".into()));
        }
        let status = match doc.status {
            None | Some(403) => None,
            Some(401) => Some(401),
            Some(other) => return Err(bad(format!(".status: must be 401 or 403, not {other}"))),
        };
        let bounds = Bounds::compile(doc).map_err(|e| bad(format!(": {e}")))?;
        // A token without the claim must not slip past an exclusion or a
        // bound unless the policy says the claim is optional.
        let excludes = doc.not_equals.is_some() || doc.none_of.is_some() || !bounds.is_empty();
        let rule = Rule {
            path,
            equals: doc.equals.clone(),
            not_equals: doc.not_equals.clone(),
            one_of: doc.one_of.clone(),
            none_of: doc.none_of.clone(),
            regex,
            contains_all: doc.contains_all.clone(),
            contains_any: doc.contains_any.clone(),
            bounds,
            required: doc.required.unwrap_or(excludes || alternative),
            status,
        };
        if !excludes
            && rule.equals.is_none()
            && rule.one_of.is_none()
            && rule.regex.is_none()
            && rule.contains_all.is_none()
            && rule.contains_any.is_none()
            && !rule.required
        {
            return Err(bad(": the rule checks nothing".into()));
        }
        Ok(rule)
    }

    /// The claim the rule is about.
    pub(crate) fn path(&self) -> &ClaimPath {
        &self.path
    }

    /// Whether the claim's value (`None` when absent) passes the rule,
    /// without building an error: `any_of` tries alternatives this way.
    pub(crate) fn holds(&self, value: Option<ClaimRef<'_>>) -> bool {
        self.test(value).is_ok()
    }

    /// Checks the claim's value (`None` when absent); a failure names the
    /// claim and carries the rule's status.
    pub(crate) fn check(&self, value: Option<ClaimRef<'_>>) -> Result<(), Error> {
        self.test(value).map_err(|failure| self.error(failure))
    }

    fn test(&self, value: Option<ClaimRef<'_>>) -> Result<(), Failure<'_>> {
        let Some(value) = value else {
            return if self.required { Err(Failure::Absent) } else { Ok(()) };
        };
        if let Some(expected) = &self.equals
            && !claim_eq(value, expected)
        {
            return Err(Failure::NotEqual(expected));
        }
        if let Some(refused) = &self.not_equals
            && claim_eq(value, refused)
        {
            return Err(Failure::Equal(refused));
        }
        if let Some(options) = &self.one_of
            && !options.iter().any(|o| claim_eq(value, o))
        {
            return Err(Failure::NotOneOf);
        }
        if let Some(refused) = &self.none_of {
            // An exclusion looks at values and members only: a claim whose
            // members it cannot see (an object, nested arrays) fails rather
            // than slipping past it.
            if !is_flat(value) {
                return Err(Failure::NotFlat);
            }
            if let Some(hit) = refused.iter().find(|r| claim_eq(value, r) || collection_contains(value, r)) {
                return Err(Failure::Refused(hit));
            }
        }
        if let Some(regex) = &self.regex {
            match value.as_str() {
                Some(s) if regex.is_match(s) => {}
                Some(_) => return Err(Failure::NoMatch(regex)),
                None => return Err(Failure::NotString),
            }
        }
        if let Some(needles) = &self.contains_all {
            if !is_collection(value) {
                return Err(Failure::NotCollection);
            }
            if let Some(missing) = needles.iter().find(|n| !collection_contains(value, n)) {
                return Err(Failure::Lacks(missing, needles));
            }
        }
        if let Some(needles) = &self.contains_any {
            if !is_collection(value) {
                return Err(Failure::NotCollection);
            }
            if !needles.iter().any(|n| collection_contains(value, n)) {
                return Err(Failure::LacksAll(needles));
            }
        }
        if !self.bounds.is_empty() {
            self.bounds.check(value).map_err(Failure::Bound)?;
        }
        Ok(())
    }

    /// The error for a failure: the claim's name, a message, the rule's
    /// status and, for a containment rule on OAuth scopes (`scope`, `scp`),
    /// the scopes wanted for the challenge's `scope` attribute (RFC 6750
    /// section 3).
    fn error(&self, failure: Failure<'_>) -> Error {
        let name = self.path.claim_name();
        let what = match failure {
            Failure::Absent => "is required".to_owned(),
            Failure::NotEqual(expected) => format!("must equal {expected}"),
            Failure::Equal(refused) => format!("must not equal {refused}"),
            Failure::NotOneOf => "is not one of the allowed values".to_owned(),
            Failure::Refused(hit) => format!("holds the refused value {hit}"),
            Failure::NotFlat => {
                "must be a value or an array of values (not an object or nested arrays)".to_owned()
            }
            Failure::NoMatch(regex) => format!("does not match {}", regex.as_str()),
            Failure::NotString => "must be a string".to_owned(),
            Failure::NotCollection => "must be an array or a space-delimited string".to_owned(),
            Failure::Lacks(missing, _) => format!("must contain {missing}"),
            Failure::LacksAll(_) => "contains none of the required values".to_owned(),
            Failure::Bound(None) => "must be a number".to_owned(),
            Failure::Bound(Some((op, bound))) => format!("must be {} {bound}", op.words()),
        };
        let mut error = Error::with_claim(ErrorKind::Claim, name, format!("claim {name} {what}"));
        if let Failure::Lacks(_, needles) | Failure::LacksAll(needles) = failure
            && self.path.rest.is_none()
            && matches!(self.path.root(), "scope" | "scp")
        {
            let words: Vec<&str> = needles.iter().filter_map(Value::as_str).collect();
            if !words.is_empty() {
                error = error.with_scope(words.join(" "));
            }
        }
        match self.status {
            Some(status) => error.with_status(status),
            None => error,
        }
    }
}

/// Why a claim fails a rule, kept cheap until it becomes the answer.
#[derive(Clone, Copy)]
enum Failure<'r> {
    Absent,
    NotEqual(&'r Value),
    Equal(&'r Value),
    NotOneOf,
    Refused(&'r Value),
    /// An object, or an array holding arrays or objects, under `none_of`.
    NotFlat,
    NoMatch(&'r Regex),
    NotString,
    NotCollection,
    Lacks(&'r Value, &'r [Value]),
    LacksAll(&'r [Value]),
    /// A bound that fails (`None`: the value is not a number).
    Bound(Option<(number::Op, &'r serde_json::Number)>),
}

fn is_collection(value: ClaimRef<'_>) -> bool {
    matches!(value, ClaimRef::Str(_) | ClaimRef::Json(Value::Array(_)))
}

/// A value `none_of` can see all of: a scalar, a string, or an array of
/// scalars.
fn is_flat(value: ClaimRef<'_>) -> bool {
    match value {
        ClaimRef::Json(Value::Object(_)) => false,
        ClaimRef::Json(Value::Array(items)) => items.iter().all(|i| !i.is_array() && !i.is_object()),
        _ => true,
    }
}

/// Array membership, or word membership in a space-delimited string such as
/// OAuth's `scope`.
fn collection_contains(collection: ClaimRef<'_>, needle: &Value) -> bool {
    match collection {
        ClaimRef::Json(Value::Array(items)) => items.iter().any(|i| json_eq(i, needle)),
        ClaimRef::Str(words) => match needle {
            Value::String(n) => words.split(' ').any(|w| w == n),
            _ => false,
        },
        ClaimRef::Json(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(name: &str, doc: Value) -> Rule {
        Rule::compile("claims", name, &serde_json::from_value(doc).unwrap()).unwrap()
    }

    #[test]
    fn none_of_refuses_claims_whose_members_it_cannot_see() {
        let banned = rule("roles", json!({"none_of": ["banned"]}));
        for shape in [json!({"banned": true}), json!([["banned"]]), json!([{"role": "banned"}]), json!({})] {
            assert!(banned.check(Some(ClaimRef::Json(&shape))).is_err(), "{shape} passed none_of");
        }
        for fine in [json!(["user", "dev"]), json!("user dev"), json!(7), json!([])] {
            assert!(banned.check(Some(ClaimRef::Json(&fine))).is_ok(), "{fine} failed none_of");
        }
        assert!(banned.check(Some(ClaimRef::Json(&json!(["user", "banned"])))).is_err());
    }

    #[test]
    fn equality_of_large_integers_and_floats_is_exact() {
        assert!(!json_eq(&json!(9007199254740993u64), &json!(9007199254740992.0)));
        assert!(json_eq(&json!(9007199254740992u64), &json!(9007199254740992.0)));
        let big = rule("n", json!({"one_of": [9007199254740993u64]}));
        assert!(big.check(Some(ClaimRef::Json(&json!(9007199254740992.0)))).is_err());
    }

    #[test]
    fn equality_is_type_strict_but_numeric() {
        assert!(json_eq(&json!(4), &json!(4.0)));
        assert!(!json_eq(&json!("4"), &json!(4)));
        assert!(!json_eq(&json!(true), &json!(1)));
        assert!(json_eq(&json!({"a": [1, "x"]}), &json!({"a": [1.0, "x"]})));
    }

    #[test]
    fn pointers_reach_nested_claims_and_unescape() {
        let p = ClaimPath::parse("/realm_access/roles").unwrap();
        assert_eq!(p.root(), "realm_access");
        let claims = json!({"realm_access": {"roles": ["admin"]}, "a/b": 1});
        assert_eq!(p.lookup_value(&claims), Some(&json!(["admin"])));
        assert_eq!(ClaimPath::parse("/a~1b").unwrap().lookup_value(&claims), Some(&json!(1)));
        assert!(ClaimPath::parse("/a~2").is_err());
        let dotted = ClaimPath::parse("https://example.com/roles").unwrap();
        assert_eq!(dotted.root(), "https://example.com/roles");
    }

    #[test]
    fn rules_pass_and_fail_with_the_claim_named() {
        let r = rule("dept", json!({"equals": "IT", "required": true}));
        assert!(r.check(Some(ClaimRef::from(&json!("IT")))).is_ok());
        let e = r.check(Some(ClaimRef::from(&json!("HR")))).unwrap_err();
        assert_eq!((e.kind(), e.claim()), (ErrorKind::Claim, Some("dept")));
        assert!(r.check(None).is_err());

        let scope = rule("scope", json!({"contains_all": ["read", "write"]}));
        assert!(scope.check(Some(ClaimRef::from(&json!("read write admin")))).is_ok());
        assert!(scope.check(Some(ClaimRef::from(&json!("read")))).is_err());
        assert!(scope.check(Some(ClaimRef::from(&json!(["write", "read"])))).is_ok());
        assert!(scope.check(Some(ClaimRef::from(&json!(5)))).is_err());
        assert!(scope.check(None).is_ok(), "not required");

        let any = rule("roles", json!({"contains_any": ["a", "b"]}));
        assert!(any.check(Some(ClaimRef::from(&json!(["x", "b"])))).is_ok());
        assert!(any.check(Some(ClaimRef::from(&json!(["x"])))).is_err());

        let re = rule("sub", json!({"regex": "^[a-z]+$"}));
        assert!(re.check(Some(ClaimRef::from(&json!("abc")))).is_ok());
        assert!(re.check(Some(ClaimRef::from(&json!("ab1")))).is_err());
        assert!(re.check(Some(ClaimRef::from(&json!(1)))).is_err());

        let anchored = rule("role", json!({"regex": "^admin|root$"}));
        for ok in ["admin", "root"] {
            assert!(anchored.check(Some(ClaimRef::from(&json!(ok)))).is_ok(), "{ok}");
        }
        for bad in ["admin-evil", "evil-root", "xadmin", "rootx", "admin\nroot"] {
            assert!(anchored.check(Some(ClaimRef::from(&json!(bad)))).is_err(), "{bad}");
        }
        let bare = rule("sub", json!({"regex": "[a-z]+"}));
        assert!(bare.check(Some(ClaimRef::from(&json!("abc")))).is_ok());
        assert!(bare.check(Some(ClaimRef::from(&json!("abc1")))).is_err(), "whole value, not a search");

        let one = rule("tier", json!({"one_of": ["gold", 3]}));
        assert!(one.check(Some(ClaimRef::from(&json!(3)))).is_ok());
        assert!(one.check(Some(ClaimRef::from(&json!("3")))).is_err());
    }

    #[test]
    fn null_claims_are_absent() {
        let members: Vec<(Cow<'_, str>, Member<'_>)> = vec![
            ("dept".into(), Member::Json(Value::Null)),
            ("org".into(), Member::Json(json!({"name": null, "id": 7}))),
        ];
        let path = |p: &str| ClaimPath::parse(p).unwrap();
        assert!(path("dept").lookup(&members).is_none());
        assert!(path("/org/name").lookup(&members).is_none());
        assert!(path("/org/id").lookup(&members).is_some());
        let required = rule("dept", json!({"required": true}));
        let e = required.check(path("dept").lookup(&members)).unwrap_err();
        assert_eq!((e.kind(), e.claim()), (ErrorKind::Claim, Some("dept")));
        let optional = rule("dept", json!({"equals": "IT"}));
        assert!(optional.check(path("dept").lookup(&members)).is_ok(), "absent and not required");
    }

    #[test]
    fn empty_rules_and_bad_regexes_are_policy_errors() {
        let doc: ClaimRuleDoc = serde_json::from_value(json!({})).unwrap();
        assert_eq!(Rule::compile("claims", "x", &doc).unwrap_err().kind(), ErrorKind::Policy);
        let doc: ClaimRuleDoc = serde_json::from_value(json!({"regex": "("})).unwrap();
        assert_eq!(Rule::compile("claims", "x", &doc).unwrap_err().kind(), ErrorKind::Policy);
        let bad = |doc: Value| {
            let doc: ClaimRuleDoc = serde_json::from_value(doc).unwrap();
            Rule::compile("claims", "x", &doc).unwrap_err().message().to_owned()
        };
        assert_eq!(bad(json!({"equals": 1, "status": 400})), "claims.x.status: must be 401 or 403, not 400");
        assert_eq!(bad(json!({"none_of": []})), "claims.x.none_of: list at least one value");
        assert_eq!(bad(json!({"required": false})), "claims.x: the rule checks nothing");
        assert!(serde_json::from_value::<ClaimRuleDoc>(json!({"gt": "5"})).is_err(), "a bound is a number");
    }

    #[test]
    fn negations_refuse_values_and_absent_claims() {
        let ne = rule("tier", json!({"not_equals": "trial"}));
        assert!(ne.check(Some(ClaimRef::from(&json!("gold")))).is_ok());
        assert!(ne.check(Some(ClaimRef::from(&json!(["trial"])))).is_ok(), "the whole value, as equals");
        let e = ne.check(Some(ClaimRef::from(&json!("trial")))).unwrap_err();
        assert_eq!((e.claim(), e.http_status()), (Some("tier"), Some(403)));
        assert!(ne.check(None).is_err(), "absent: required unless the rule says otherwise");
        let optional = rule("tier", json!({"not_equals": "trial", "required": false}));
        assert!(optional.check(None).is_ok());

        let none = rule("roles", json!({"none_of": ["suspended", 0]}));
        for ok in [json!(["user"]), json!("user admin"), json!(1)] {
            assert!(none.check(Some(ClaimRef::from(&ok))).is_ok(), "{ok}");
        }
        for bad in [
            json!("suspended"),
            json!(["user", "suspended"]),
            json!("user suspended"),
            json!(0.0),
            json!([0]),
            json!([[0]]),
        ] {
            assert!(none.check(Some(ClaimRef::from(&bad))).is_err(), "{bad}");
        }
        assert!(none.check(None).is_err());
    }

    #[test]
    fn bounds_make_the_claim_required_and_status_is_per_rule() {
        let level = rule("level", json!({"ge": 2, "status": 401}));
        assert!(level.check(Some(ClaimRef::from(&json!(2.5)))).is_ok());
        for bad in [Some(json!(1)), Some(json!("3")), None] {
            let e = level.check(bad.as_ref().map(ClaimRef::from)).unwrap_err();
            assert_eq!(
                (e.kind(), e.http_status(), e.bearer_error()),
                (ErrorKind::Claim, Some(401), Some("invalid_token"))
            );
            assert!(
                e.www_authenticate().starts_with("Bearer error=\"invalid_token\""),
                "{}",
                e.www_authenticate()
            );
        }
        let optional = rule("level", json!({"lt": 5, "required": false}));
        assert!(optional.check(None).is_ok());
        let legacy = rule("dept", json!({"equals": "IT", "status": 403}));
        assert!(legacy.check(None).is_ok(), "equals alone keeps an absent claim optional");
        assert_eq!(legacy.check(Some(ClaimRef::from(&json!("HR")))).unwrap_err().http_status(), Some(403));
    }
}
