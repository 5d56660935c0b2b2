//! A validator of its own for the simple schemas most tools declare, so that a server whose
//! schemas are all simple never compiles (nor loads) the general JSON Schema validator.
//!
//! A schema is simple when every keyword in it, at every depth, is one of `type`,
//! `properties`, `required`, `additionalProperties`, `items`, `enum`, `const`, `minimum`,
//! `maximum`, `exclusiveMinimum`, `exclusiveMaximum`, `minLength`, `maxLength`, `minItems`,
//! `maxItems`, an annotation (`title`, `description`, `default`, `examples`, an `x-`
//! extension, a numeric `format` that schemars writes and no validator knows, `$schema`
//! naming 2020-12 at the root), and each has the shape the 2020-12 meta-schema demands.
//! Anything else is left to `jsonschema`, with its own errors.
//!
//! The validator gives the same verdict as `jsonschema` for every instance, and the same
//! first error (message and path): the checks of a schema run in `jsonschema`'s order
//! (cheap ones first), with its fusions of keywords that move a check (`required` of one
//! name in a closed object is checked after its members; `type: "array"` with `items` after
//! the other keywords). The differential property test in `differential.rs` holds it to that.

mod number;
mod walk;

#[cfg(test)]
mod differential;
#[cfg(test)]
mod tests;

use serde_json::{Map, Value};

pub(crate) use walk::Failure;

/// The dialect URI as schemars writes it: the only `$schema` a simple schema may name.
const DRAFT_2020_12: &str = "https://json-schema.org/draft/2020-12/schema";

/// The `format`s schemars writes for numbers, which no validator knows (so they assert
/// nothing).
const NUMERIC_FORMATS: [&str; 14] = [
    "int8", "int16", "int32", "int64", "int128", "uint8", "uint16", "uint32", "uint64", "uint128", "int",
    "uint", "float", "double",
];

/// The JSON type names, in the order `jsonschema` lists them in an error.
const TYPE_NAMES: [&str; 7] = [
    "null", "boolean", "integer", "number", "string", "array", "object",
];

/// A compiled simple schema.
#[derive(Debug)]
pub(crate) struct Schema {
    root: Node,
}

impl Schema {
    /// Compiles `schema` if it is simple; `None` leaves it to `jsonschema`.
    pub(crate) fn compile(schema: &Value) -> Option<Self> {
        node(schema, true).map(|root| Self { root })
    }

    /// Checks `instance`, returning the first error as `jsonschema` reports it.
    pub(crate) fn validate(&self, instance: &Value) -> Result<(), Failure> {
        walk::validate(&self.root, instance)
    }
}

/// One (sub)schema: a boolean schema or its checks, in the order they run.
#[derive(Debug)]
enum Node {
    /// `true` (anything) or `false` (nothing).
    Bool(bool),
    /// An object schema's checks, sorted by `jsonschema`'s priority.
    Checks(Box<[Check]>),
}

/// The types a `type` keyword names: a bit per entry of [`TYPE_NAMES`].
#[derive(Debug, Clone, Copy)]
struct Types {
    bits: u8,
    /// Whether the keyword named one type (the error then names it alone).
    single: bool,
}

/// A bound on numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    Minimum,
    Maximum,
    ExclusiveMinimum,
    ExclusiveMaximum,
}

/// A bound on a count: characters of a string, items of an array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Count {
    MinLength,
    MaxLength,
    MinItems,
    MaxItems,
}

/// A check of one keyword (or of keywords `jsonschema` fuses into one).
#[derive(Debug)]
enum Check {
    Type(Types),
    Const(Value),
    /// The `enum` array as written (its message lists the options).
    Enum(Vec<Value>),
    Number(Bound, serde_json::Number),
    Count(Count, u64),
    Required(Box<[String]>),
    /// `properties` alone (or with `additionalProperties: true`).
    Properties(Properties),
    /// `additionalProperties: false`: an undeclared member is an error; `required` of one
    /// name, fused in, is checked after the members.
    Closed(Properties, Option<String>),
    /// `additionalProperties` as a schema: undeclared members are checked against it.
    Additional(Properties, Node),
    /// `additionalProperties: false` without `properties`.
    Empty,
    Items(Node),
    /// `type: "array"` with `items` (and the item counts): checked together, in that order.
    ArrayShape {
        min: u64,
        max: u64,
        items: Node,
    },
}

/// Declared members, sorted by name (the order of a `serde_json` map).
type Properties = Box<[(String, Node)]>;

/// Compiles one (sub)schema, or returns `None` if it is not simple.
fn node(schema: &Value, root: bool) -> Option<Node> {
    let object = match schema {
        Value::Bool(value) => return Some(Node::Bool(*value)),
        Value::Object(object) => object,
        _ => return None,
    };
    if !object
        .iter()
        .all(|(keyword, value)| well_formed(keyword, value, root))
    {
        return None;
    }
    let array_shape = matches!(object.get("items"), Some(Value::Object(_) | Value::Bool(false)))
        && object.get("type").and_then(Value::as_str) == Some("array");
    // Each check with the priority `jsonschema` gives its keyword: its checks run by it.
    let mut checks: Vec<(u8, Check)> = Vec::new();
    for (keyword, value) in object {
        let check = match keyword.as_str() {
            "type" if !array_shape => (1, Check::Type(types(value)?)),
            "const" => (5, Check::Const(value.clone())),
            "enum" => (6, Check::Enum(value.as_array()?.clone())),
            "minimum" => (10, Check::Number(Bound::Minimum, value.as_number()?.clone())),
            "maximum" => (11, Check::Number(Bound::Maximum, value.as_number()?.clone())),
            "exclusiveMinimum" => (
                12,
                Check::Number(Bound::ExclusiveMinimum, value.as_number()?.clone()),
            ),
            "exclusiveMaximum" => (
                13,
                Check::Number(Bound::ExclusiveMaximum, value.as_number()?.clone()),
            ),
            "minLength" => (20, Check::Count(Count::MinLength, value.as_u64()?)),
            "maxLength" => (21, Check::Count(Count::MaxLength, value.as_u64()?)),
            "minItems" if !array_shape => (22, Check::Count(Count::MinItems, value.as_u64()?)),
            "maxItems" if !array_shape => (23, Check::Count(Count::MaxItems, value.as_u64()?)),
            "required" if !required_fused(object) => (26, Check::Required(names(value)?)),
            // Beside `additionalProperties` (but `true`), `properties` is checked by its walk.
            "properties" if matches!(object.get("additionalProperties"), None | Some(Value::Bool(true))) => {
                (40, Check::Properties(properties(value)?))
            }
            "additionalProperties" => match additional(object, value)? {
                Some(check) => (42, check),
                None => continue,
            },
            "items" if array_shape => (44, array_shape_check(object, value)?),
            "items" => match value {
                Value::Bool(true) => continue,
                _ => (44, Check::Items(node(value, false)?)),
            },
            _ => continue,
        };
        checks.push(check);
    }
    checks.sort_by_key(|(priority, _)| *priority);
    Some(Node::Checks(checks.into_iter().map(|(_, check)| check).collect()))
}

/// Returns whether `keyword` is one a simple schema may hold, with `value` in the shape the
/// 2020-12 meta-schema demands (subschemas are checked as they compile).
fn well_formed(keyword: &str, value: &Value, root: bool) -> bool {
    match keyword {
        "type" => types(value).is_some(),
        "properties" => value.is_object(),
        "required" => names(value).is_some(),
        "additionalProperties" | "items" => value.is_object() || value.is_boolean(),
        "enum" => value.as_array().is_some_and(|options| !options.is_empty()),
        "const" | "default" => true,
        "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" => value.is_number(),
        "minLength" | "maxLength" | "minItems" | "maxItems" => value.as_u64().is_some(),
        "title" | "description" => value.is_string(),
        "examples" => value.is_array(),
        "format" => value
            .as_str()
            .is_some_and(|format| NUMERIC_FORMATS.contains(&format)),
        "$schema" => root && value.as_str() == Some(DRAFT_2020_12),
        _ => keyword.starts_with("x-"),
    }
}

/// Reads `type`: one name, or a non-empty array of distinct names.
fn types(value: &Value) -> Option<Types> {
    let bit = |name: &Value| {
        let index = TYPE_NAMES
            .iter()
            .position(|known| Some(*known) == name.as_str())?;
        Some(1u8 << index)
    };
    match value {
        Value::Array(names) if names.is_empty() => None,
        Value::Array(names) => {
            let mut bits = 0;
            for name in names {
                let one = bit(name)?;
                if bits & one != 0 {
                    return None;
                }
                bits |= one;
            }
            Some(Types {
                bits,
                single: names.len() == 1,
            })
        }
        name => Some(Types {
            bits: bit(name)?,
            single: true,
        }),
    }
}

/// Reads `required`: an array of distinct strings.
fn names(value: &Value) -> Option<Box<[String]>> {
    let items = value.as_array()?;
    let mut names: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        let name = item.as_str()?;
        if names.iter().any(|seen| seen == name) {
            return None;
        }
        names.push(name.to_owned());
    }
    Some(names.into_boxed_slice())
}

/// Compiles the subschemas of `properties`.
fn properties(value: &Value) -> Option<Properties> {
    let map: &Map<String, Value> = value.as_object()?;
    map.iter()
        .map(|(name, schema)| Some((name.clone(), node(schema, false)?)))
        .collect()
}

/// Whether `required` has one name and is checked by a closed object's walk, after its
/// members (`jsonschema` fuses the two).
fn required_fused(object: &Map<String, Value>) -> bool {
    object.get("additionalProperties") == Some(&Value::Bool(false))
        && object.contains_key("properties")
        && object
            .get("required")
            .and_then(Value::as_array)
            .is_some_and(|names| names.len() == 1)
}

/// Compiles `additionalProperties` (with the `properties` beside it); `Some(None)` when it
/// adds no check (`true`).
fn additional(object: &Map<String, Value>, value: &Value) -> Option<Option<Check>> {
    let declared = match object.get("properties") {
        Some(map) => Some(properties(map)?),
        None => None,
    };
    Some(match (value, declared) {
        (Value::Bool(true), _) => None,
        (Value::Bool(false), None) => Some(Check::Empty),
        (Value::Bool(false), Some(declared)) => {
            let fused = match required_fused(object) {
                true => names(object.get("required")?)?.first().cloned(),
                false => None,
            };
            Some(Check::Closed(declared, fused))
        }
        (schema, declared) => Some(Check::Additional(
            declared.unwrap_or_default(),
            node(schema, false)?,
        )),
    })
}

/// Compiles `type: "array"` with `items` and the item counts as one check.
fn array_shape_check(object: &Map<String, Value>, items: &Value) -> Option<Check> {
    let count = |keyword: &str, default: u64| match object.get(keyword) {
        Some(value) => value.as_u64(),
        None => Some(default),
    };
    Some(Check::ArrayShape {
        min: count("minItems", 0)?,
        max: count("maxItems", u64::MAX)?,
        items: node(items, false)?,
    })
}
