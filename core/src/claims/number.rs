//! Numeric bounds of a claim rule (`gt`, `ge`, `lt`, `le`).
//!
//! Both sides are JSON numbers. Integers compare exactly (also beyond
//! 2^53, where a float would round); as soon as either side has a fraction
//! or an exponent, both compare as 64-bit floats. A value that is not a
//! number (a string `"5"`, a boolean, an array) fails every bound.

use std::cmp::Ordering;

use serde_json::{Number, Value};

use crate::json::ClaimRef;
use crate::policy::ClaimRuleDoc;

/// The bounds of one rule; empty when it has none.
#[derive(Debug, Clone, Default)]
pub(crate) struct Bounds {
    checks: Vec<(Op, Number)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    fn holds(self, order: Ordering) -> bool {
        match self {
            Op::Gt => order == Ordering::Greater,
            Op::Ge => order != Ordering::Less,
            Op::Lt => order == Ordering::Less,
            Op::Le => order != Ordering::Greater,
        }
    }

    pub(crate) fn words(self) -> &'static str {
        match self {
            Op::Gt => "greater than",
            Op::Ge => "at least",
            Op::Lt => "less than",
            Op::Le => "at most",
        }
    }
}

impl Bounds {
    /// The bounds a rule document sets. Bounds no number can meet
    /// (`gt: 5` with `lt: 3`, `gt: 5` with `le: 5`) are refused.
    pub(crate) fn compile(doc: &ClaimRuleDoc) -> Result<Bounds, String> {
        let given = [(Op::Gt, &doc.gt), (Op::Ge, &doc.ge), (Op::Lt, &doc.lt), (Op::Le, &doc.le)];
        let checks: Vec<(Op, Number)> =
            given.into_iter().filter_map(|(op, n)| n.as_ref().map(|n| (op, n.clone()))).collect();
        for (low_op, low) in checks.iter().filter(|(op, _)| matches!(op, Op::Gt | Op::Ge)) {
            for (high_op, high) in checks.iter().filter(|(op, _)| matches!(op, Op::Lt | Op::Le)) {
                let order = compare(low, high);
                let inclusive = *low_op == Op::Ge && *high_op == Op::Le;
                if order == Ordering::Greater || (order == Ordering::Equal && !inclusive) {
                    return Err(format!(
                        "no number is {} {low} and {} {high}",
                        low_op.words(),
                        high_op.words()
                    ));
                }
            }
        }
        Ok(Bounds { checks })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.checks.is_empty()
    }

    /// Checks a present claim: the failing bound, or `None` when the
    /// value is not a number.
    pub(crate) fn check(&self, value: ClaimRef<'_>) -> Result<(), Option<(Op, &Number)>> {
        let ClaimRef::Json(Value::Number(n)) = value else {
            return Err(None);
        };
        match self.checks.iter().find(|(op, bound)| !op.holds(compare(n, bound))) {
            None => Ok(()),
            Some((op, bound)) => Err(Some((*op, bound))),
        }
    }
}

/// The order of two JSON numbers by their exact values: integers with
/// each other and with floats exactly (`9007199254740993` is above
/// `9007199254740992.0`, which 64-bit floats cannot tell apart), two floats
/// as floats. serde_json numbers are never NaN or infinite, so the order is
/// total.
pub(crate) fn compare(a: &Number, b: &Number) -> Ordering {
    match (integer(a), integer(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(x), None) => integer_against_float(x, b.as_f64().unwrap_or(0.0)),
        (None, Some(y)) => integer_against_float(y, a.as_f64().unwrap_or(0.0)).reverse(),
        (None, None) => {
            let (x, y) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
            x.partial_cmp(&y).unwrap_or(Ordering::Equal)
        }
    }
}

/// A JSON integer (i64 or u64) widened so both fit.
fn integer(n: &Number) -> Option<i128> {
    n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from))
}

/// The order of integer `i` against the finite float `f`, exactly.
fn integer_against_float(i: i128, f: f64) -> Ordering {
    // Beyond i128 (2^127) every JSON integer is on one side.
    const LIMIT: f64 = 170_141_183_460_469_231_731_687_303_715_884_105_728.0;
    if f >= LIMIT {
        return Ordering::Less;
    }
    if f < -LIMIT {
        return Ordering::Greater;
    }
    let whole = f.trunc();
    // In range and integral: the cast is exact.
    match i.cmp(&(whole as i128)) {
        Ordering::Equal => whole.partial_cmp(&f).unwrap_or(Ordering::Equal),
        order => order,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bounds(doc: Value) -> Result<Bounds, String> {
        Bounds::compile(&serde_json::from_value(doc).unwrap())
    }

    fn holds(b: &Bounds, v: Value) -> bool {
        b.check(ClaimRef::from(&v)).is_ok()
    }

    #[test]
    fn integers_and_floats_compare_as_numbers() {
        let b = bounds(json!({"ge": 2, "lt": 4.5})).unwrap();
        for ok in [json!(2), json!(2.0), json!(3), json!(4.4999), json!(4)] {
            assert!(holds(&b, ok.clone()), "{ok}");
        }
        for bad in [json!(1), json!(1.999), json!(4.5), json!(5), json!(-3), json!(1e300)] {
            assert!(!holds(&b, bad.clone()), "{bad}");
        }
        let strict = bounds(json!({"gt": 0})).unwrap();
        assert!(!holds(&strict, json!(0)) && !holds(&strict, json!(0.0)) && !holds(&strict, json!(-0.0)));
        assert!(holds(&strict, json!(5e-324)));
    }

    #[test]
    fn integers_compare_exactly_against_floats() {
        let n = |v: Value| v.as_number().unwrap().clone();
        assert_eq!(compare(&n(json!(9007199254740993u64)), &n(json!(9007199254740992.0))), Ordering::Greater);
        assert_eq!(compare(&n(json!(9007199254740992u64)), &n(json!(9007199254740992.0))), Ordering::Equal);
        assert_eq!(compare(&n(json!(-3)), &n(json!(-2.5))), Ordering::Less);
        assert_eq!(compare(&n(json!(-2)), &n(json!(-2.5))), Ordering::Greater);
        assert_eq!(compare(&n(json!(2)), &n(json!(2.5))), Ordering::Less);
        assert_eq!(compare(&n(json!(3)), &n(json!(2.5))), Ordering::Greater);
        assert_eq!(compare(&n(json!(u64::MAX)), &n(json!(1e300))), Ordering::Less);
        assert_eq!(compare(&n(json!(i64::MIN)), &n(json!(-1e300))), Ordering::Greater);
        assert_eq!(compare(&n(json!(2.5)), &n(json!(2))), Ordering::Greater);
        assert!(!holds(&bounds(json!({"ge": 9007199254740993u64})).unwrap(), json!(9007199254740992.0)));
    }

    #[test]
    fn large_integers_compare_exactly() {
        let b = bounds(json!({"gt": 9_007_199_254_740_992u64})).unwrap();
        assert!(holds(&b, json!(9_007_199_254_740_993u64)), "2^53 + 1 rounds to 2^53 as a float");
        assert!(!holds(&b, json!(9_007_199_254_740_992u64)));
        let max = bounds(json!({"lt": u64::MAX})).unwrap();
        assert!(
            holds(&max, json!(i64::MIN)) && holds(&max, json!(u64::MAX - 1)) && !holds(&max, json!(u64::MAX))
        );
        let neg = bounds(json!({"le": -1})).unwrap();
        assert!(!holds(&neg, json!(u64::MAX)) && holds(&neg, json!(i64::MIN)));
    }

    #[test]
    fn other_values_fail_every_bound() {
        let b = bounds(json!({"ge": 0})).unwrap();
        for bad in [json!("5"), json!(true), json!(null), json!([1]), json!({"n": 1})] {
            assert_eq!(b.check(ClaimRef::from(&bad)), Err(None), "{bad}");
        }
        assert!(b.check(ClaimRef::Str("7")).is_err());
    }

    #[test]
    fn bounds_no_number_meets_are_refused() {
        for doc in [
            json!({"gt": 5, "lt": 3}),
            json!({"gt": 5, "le": 5}),
            json!({"ge": 5, "lt": 5}),
            json!({"ge": 5.5, "le": 5}),
        ] {
            assert!(bounds(doc.clone()).is_err(), "{doc}");
        }
        assert!(bounds(json!({"ge": 5, "le": 5})).is_ok());
        assert!(bounds(json!({"gt": 1, "ge": 2, "lt": 9, "le": 8})).is_ok());
    }
}
