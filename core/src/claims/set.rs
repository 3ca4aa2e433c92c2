//! A rule section as compiled: the rules of `claims`, which must all hold,
//! and groups of `any_of` alternatives, each group needing one alternative
//! that holds in full. An issuer has at most one group; a route has one per
//! level that writes `any_of` (nested levels only add).

use crate::error::Error;
use crate::json::ClaimRef;
use crate::policy::ClaimRulesDoc;

use super::{ClaimPath, Rule};

/// Compiled `claims` plus `any_of`.
#[derive(Debug, Clone, Default)]
pub(crate) struct RuleSet {
    rules: Vec<Rule>,
    any_of: Vec<Vec<Vec<Rule>>>,
}

impl RuleSet {
    /// Compiles an issuer's or a route's rule section.
    pub(crate) fn compile(
        claims: &ClaimRulesDoc,
        any_of: Option<&[ClaimRulesDoc]>,
    ) -> Result<RuleSet, Error> {
        let mut set = RuleSet::default();
        for (name, rule) in claims {
            set.rules.push(Rule::compile("claims", name, rule)?);
        }
        if let Some(any_of) = any_of {
            set.add_any_of(any_of)?;
        }
        Ok(set)
    }

    /// Adds one more rule that must hold.
    pub(crate) fn push(&mut self, rule: Rule) {
        self.rules.push(rule);
    }

    /// Adds a group of alternatives, of which one must hold in full. An
    /// empty list (a generated list that came out empty must not turn into
    /// "no requirement") or an alternative without rules (it would always
    /// hold) is a policy error; nothing is added then.
    pub(crate) fn add_any_of(&mut self, any_of: &[ClaimRulesDoc]) -> Result<(), Error> {
        if any_of.is_empty() {
            return Err(Error::policy("any_of: list at least one alternative"));
        }
        let mut group = Vec::with_capacity(any_of.len());
        for (i, alternative) in any_of.iter().enumerate() {
            if alternative.is_empty() {
                return Err(Error::policy(format!(
                    "any_of[{i}]: an alternative without rules always holds; list its rules"
                )));
            }
            let place = format!("any_of[{i}]");
            let rules = alternative
                .iter()
                .map(|(name, rule)| Rule::compile_in(&place, name, rule, true))
                .collect::<Result<Vec<_>, _>>()?;
            group.push(rules);
        }
        self.any_of.push(group);
        Ok(())
    }

    /// This set followed by `other`'s rules and groups.
    pub(crate) fn extend(&mut self, other: &RuleSet) {
        self.rules.extend(other.rules.iter().cloned());
        self.any_of.extend(other.any_of.iter().cloned());
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.any_of.is_empty()
    }

    /// Every claim a rule of the set reads.
    pub(crate) fn paths(&self) -> impl Iterator<Item = &ClaimPath> {
        let grouped = self.any_of.iter().flatten().flatten();
        self.rules.iter().chain(grouped).map(Rule::path)
    }

    /// Checks the claims `lookup` finds (`None`: absent or null). The
    /// rules of `claims` come first, in order; then each `any_of` group.
    /// When no alternative of a group holds, the error is the first
    /// alternative's first failing rule (its claim, status and scope), with
    /// a message that cites every alternative's failure in order.
    pub(crate) fn check<'v>(&self, lookup: impl Fn(&ClaimPath) -> Option<ClaimRef<'v>>) -> Result<(), Error> {
        let check = |rules: &[Rule]| rules.iter().try_for_each(|r| r.check(lookup(r.path())));
        check(&self.rules)?;
        for group in &self.any_of {
            // Errors are built only when no alternative holds.
            if group.iter().any(|rules| rules.iter().all(|r| r.holds(lookup(r.path())))) {
                continue;
            }
            let mut failures: Vec<Error> = group.iter().filter_map(|rules| check(rules).err()).collect();
            let cited: Vec<&str> = failures.iter().map(Error::message).collect();
            let message = format!("no any_of alternative holds: {}", cited.join("; "));
            let first = failures.swap_remove(0);
            return Err(first.with_message(message));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use serde_json::{Value, json};

    fn set(claims: Value, any_of: Value) -> Result<RuleSet, Error> {
        let any_of: Option<Vec<ClaimRulesDoc>> = serde_json::from_value(any_of).unwrap();
        RuleSet::compile(&serde_json::from_value(claims).unwrap(), any_of.as_deref())
    }

    fn check(set: &RuleSet, claims: Value) -> Result<(), Error> {
        set.check(|p| p.lookup_value(&claims).filter(|v| !v.is_null()).map(Into::into))
    }

    #[test]
    fn one_alternative_in_full_is_enough() {
        let s = set(
            json!({}),
            json!([{"roles": {"contains_any": ["admin"]}}, {"scope": {"contains_any": ["orders:write"]}, "tier": {"equals": "gold"}}]),
        )
        .unwrap();
        assert!(check(&s, json!({"roles": ["admin"]})).is_ok());
        assert!(check(&s, json!({"scope": "orders:write", "tier": "gold"})).is_ok());
        let e = check(&s, json!({"roles": ["user"], "scope": "orders:write", "tier": "silver"})).unwrap_err();
        assert_eq!((e.kind(), e.claim(), e.http_status()), (ErrorKind::Claim, Some("roles"), Some(403)));
        assert!(e.message().contains("claim roles") && e.message().contains("claim tier"), "{}", e.message());
    }

    #[test]
    fn an_absent_claim_satisfies_no_alternative() {
        let s = set(
            json!({}),
            json!([{"roles": {"contains_any": ["admin"]}}, {"scope": {"contains_any": ["orders:write"]}}]),
        )
        .unwrap();
        let e = check(&s, json!({"sub": "x"})).unwrap_err();
        assert_eq!(
            e.message(),
            "no any_of alternative holds: claim roles is required; claim scope is required"
        );
        assert!(check(&s, json!({"scope": "profile orders:write"})).is_ok());
        let optional =
            set(json!({}), json!([{"roles": {"contains_any": ["admin"], "required": false}}])).unwrap();
        assert!(check(&optional, json!({})).is_ok(), "unless the alternative says the claim is optional");
    }

    #[test]
    fn claims_and_every_group_hold_together() {
        let mut s =
            set(json!({"dept": {"equals": "IT"}}), json!([{"a": {"equals": 1}}, {"b": {"equals": 1}}]))
                .unwrap();
        s.extend(&set(json!({}), json!([{"c": {"equals": 1}}])).unwrap());
        assert!(check(&s, json!({"dept": "IT", "a": 1, "c": 1})).is_ok());
        assert_eq!(check(&s, json!({"dept": "IT", "a": 1})).unwrap_err().claim(), Some("c"));
        assert_eq!(check(&s, json!({"dept": "HR", "a": 1, "c": 1})).unwrap_err().claim(), Some("dept"));
        assert_eq!(s.paths().count(), 4);
    }

    #[test]
    fn the_first_alternative_sets_status_and_scope() {
        let s = set(
            json!({}),
            json!([{"scope": {"contains_all": ["orders:write"], "status": 401}}, {"roles": {"contains_any": ["admin"]}}]),
        )
        .unwrap();
        let e = check(&s, json!({"scope": "profile"})).unwrap_err();
        assert_eq!((e.claim(), e.http_status(), e.scope()), (Some("scope"), Some(401), Some("orders:write")));
    }

    #[test]
    fn bad_sections_name_the_rule() {
        let message = |r: Result<RuleSet, Error>| r.unwrap_err().message().to_owned();
        assert_eq!(
            message(set(json!({}), json!([{"a": {"equals": 1}}, {}]))),
            "any_of[1]: an alternative without rules always holds; list its rules"
        );
        assert!(message(set(json!({}), json!([{"a": {"regex": "("}}]))).starts_with("any_of[0].a.regex: "));
        assert_eq!(
            message(set(json!({}), json!([{"a": {"equals": 1, "status": 500}}]))),
            "any_of[0].a.status: must be 401 or 403, not 500"
        );
        assert_eq!(
            message(set(json!({"x": {"gt": 2, "lt": 1}}), Value::Null)),
            "claims.x: no number is greater than 2 and less than 1"
        );
        assert_eq!(message(set(json!({}), json!([]))), "any_of: list at least one alternative");
        assert!(set(json!({}), Value::Null).unwrap().is_empty());
    }
}
