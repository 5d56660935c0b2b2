//! The JSON-RPC request id: a string or an integer within the i64/u64 range, compared by
//! value and written back exactly as the client sent it.

use std::fmt;

use serde::{Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

/// A JSON-RPC request id, written back exactly as the client sent it.
#[derive(Clone)]
pub struct Id(Repr);

#[derive(Clone)]
enum Repr {
    /// An integer. Only the decimal form is accepted (no sign but `-`, no leading zeros, no
    /// fraction or exponent), so its text is its value's: it is held inline, unallocated.
    Int(Int),
    /// A string: its JSON text as sent (escapes kept), and what it says.
    Str { raw: Box<RawValue>, text: String },
}

/// An integer id and its decimal text (at most 20 bytes: `-9223372036854775808` and
/// `18446744073709551615`).
#[derive(Clone, Copy)]
struct Int {
    magnitude: u64,
    negative: bool,
    len: u8,
    text: [u8; 20],
}

impl Int {
    /// `text` is the id's JSON text, already checked to be `value` in decimal.
    fn new(value: i128, text: &str) -> Option<Self> {
        let mut int = Self {
            magnitude: u64::try_from(value.unsigned_abs()).ok()?,
            negative: value < 0,
            len: u8::try_from(text.len()).ok()?,
            text: [0; 20],
        };
        int.text.get_mut(..text.len())?.copy_from_slice(text.as_bytes());
        Some(int)
    }

    fn value(&self) -> i128 {
        let magnitude = i128::from(self.magnitude);
        if self.negative { -magnitude } else { magnitude }
    }

    fn as_str(&self) -> &str {
        let bytes = self.text.get(..usize::from(self.len)).unwrap_or_default();
        std::str::from_utf8(bytes).unwrap_or_default()
    }
}

/// What an id compares by: strings by content, integers by value, every string before
/// every integer.
#[derive(PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Key<'a> {
    Str(&'a str),
    Int(i128),
}

impl Id {
    /// Parses an id from its raw JSON text; `None` for null, floats, objects, arrays, bools
    /// and integers outside the i64/u64 range.
    pub fn from_raw(raw: &RawValue) -> Option<Self> {
        let text = raw.get();
        if text.starts_with('"') {
            let value = serde_json::from_str::<String>(text).ok()?;
            return Some(Self(Repr::Str {
                raw: raw.to_owned(),
                text: value,
            }));
        }
        Int::new(parse_integer(text)?, text).map(|int| Self(Repr::Int(int)))
    }

    /// Creates a string id (for requests the server itself sends).
    pub fn from_string(value: &str) -> Self {
        let json = serde_json::to_string(value).unwrap_or_else(|_| String::from("\"\""));
        Self(Repr::Str {
            raw: RawValue::from_string(json).unwrap_or_default(),
            text: value.to_owned(),
        })
    }

    /// Creates an integer id.
    pub fn from_i64(value: i64) -> Self {
        Self::integer(i128::from(value))
    }

    /// Creates an unsigned integer id.
    pub fn from_u64(value: u64) -> Self {
        Self::integer(i128::from(value))
    }

    fn integer(value: i128) -> Self {
        let text = value.to_string();
        // An i64 or u64 has at most 20 characters.
        let int = Int::new(value, &text).unwrap_or(Int {
            magnitude: 0,
            negative: false,
            len: 1,
            text: [b'0'; 20],
        });
        Self(Repr::Int(int))
    }

    fn key(&self) -> Key<'_> {
        match &self.0 {
            Repr::Int(int) => Key::Int(int.value()),
            Repr::Str { text, .. } => Key::Str(text),
        }
    }

    /// Returns the id as an unsigned integer, if it is one.
    pub fn as_u64(&self) -> Option<u64> {
        match &self.0 {
            Repr::Int(int) => u64::try_from(int.value()).ok(),
            Repr::Str { .. } => None,
        }
    }

    /// Returns the id as a JSON value (a string or an integer).
    pub fn to_value(&self) -> Value {
        match &self.0 {
            Repr::Str { text, .. } => Value::String(text.clone()),
            Repr::Int(int) => i64::try_from(int.value()).map_or_else(
                |_| u64::try_from(int.value()).map_or(Value::Null, Value::from),
                Value::from,
            ),
        }
    }

    /// Returns the id's JSON text exactly as received.
    pub fn as_json(&self) -> &str {
        match &self.0 {
            Repr::Int(int) => int.as_str(),
            Repr::Str { raw, .. } => raw.get(),
        }
    }

    /// Appends the id's JSON text to `out`.
    pub(crate) fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_json().as_bytes());
    }
}

/// Accepts `-?(0|[1-9][0-9]*)` within the i64/u64 range.
fn parse_integer(text: &str) -> Option<i128> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let well_formed = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
        && digits.len() <= 20;
    if !well_formed {
        return None;
    }
    let value: i128 = text.parse().ok()?;
    let in_range = value >= i128::from(i64::MIN) && value <= i128::from(u64::MAX);
    in_range.then_some(value)
}

impl Serialize for Id {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Repr::Str { raw, .. } => raw.serialize(serializer),
            // `-0` is the one text a number does not write back as it was sent.
            Repr::Int(int) if int.value() == 0 && int.as_str() != "0" => {
                let raw: &RawValue = serde_json::from_str(int.as_str()).map_err(serde::ser::Error::custom)?;
                raw.serialize(serializer)
            }
            Repr::Int(int) => match i64::try_from(int.value()) {
                Ok(value) => serializer.serialize_i64(value),
                Err(_) => serializer.serialize_u64(u64::try_from(int.value()).unwrap_or_default()),
            },
        }
    }
}

impl PartialEq for Id {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Id {}

impl PartialOrd for Id {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Id {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

impl std::hash::Hash for Id {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key().hash(state);
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_json())
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_json())
    }
}

#[cfg(test)]
mod tests;
