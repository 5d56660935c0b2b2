//! JSON Schema's equality of values and order of numbers: exact, whatever the number's
//! representation (`1`, `1.0` and `1e0` are one number; `2^63` and `2^63 + 1` are two).

use std::cmp::Ordering;

use serde_json::{Number, Value};

/// Returns whether `left` and `right` are equal as JSON Schema's `const` and `enum` see it:
/// numbers by value, arrays item by item, objects member by member.
pub(super) fn equal(left: &Value, right: &Value) -> bool {
    match (left, right) {
        (Value::Number(left), Value::Number(right)) => compare(left, right) == Ordering::Equal,
        (Value::Array(left), Value::Array(right)) => {
            left.len() == right.len() && left.iter().zip(right).all(|(left, right)| equal(left, right))
        }
        (Value::Object(left), Value::Object(right)) => {
            left.len() == right.len()
                && left
                    .iter()
                    .all(|(name, value)| right.get(name).is_some_and(|other| equal(value, other)))
        }
        (left, right) => left == right,
    }
}

/// Orders two numbers by value, exactly.
pub(super) fn compare(left: &Number, right: &Number) -> Ordering {
    match (integer(left), integer(right)) {
        (Some(left), Some(right)) => left.cmp(&right),
        (Some(left), None) => integer_to_float(left, float(right)),
        (None, Some(right)) => integer_to_float(right, float(left)).reverse(),
        (None, None) => float(left).partial_cmp(&float(right)).unwrap_or(Ordering::Equal),
    }
}

/// Returns whether `number` has no fractional part (`1.0` is an integer).
pub(super) fn is_integer(number: &Number) -> bool {
    integer(number).is_some() || float(number).fract() == 0.0
}

fn integer(number: &Number) -> Option<i128> {
    match number.as_i64() {
        Some(value) => Some(i128::from(value)),
        None => number.as_u64().map(i128::from),
    }
}

fn float(number: &Number) -> f64 {
    number.as_f64().unwrap_or(f64::NAN)
}

/// Orders an integer (within the range of `i64` and `u64`) and a finite float exactly.
fn integer_to_float(integer: i128, float: f64) -> Ordering {
    // 2^64: every integer here is below it, and every float from it up is above them all.
    const TWO_TO_64: f64 = 18_446_744_073_709_551_616.0;
    if float >= TWO_TO_64 {
        return Ordering::Less;
    }
    if float < -TWO_TO_64 {
        return Ordering::Greater;
    }
    // Within (-2^64, 2^64) the whole part of a float is exact as an i128.
    let whole = float.trunc();
    match integer.cmp(&(whole as i128)) {
        Ordering::Equal => 0.0_f64.partial_cmp(&(float - whole)).unwrap_or(Ordering::Equal),
        order => order,
    }
}
