//! Walks an instance through a compiled simple schema, stopping at the first error, worded
//! as `jsonschema` words it.

use std::cmp::Ordering;
use std::fmt::Write;

use serde_json::{Map, Value};

use super::number::{compare, equal, is_integer};
use super::{Bound, Check, Count, Node, Properties, TYPE_NAMES, Types};

/// The first error: where it is (a JSON Pointer into the instance) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    /// The JSON Pointer to the failing value (`""` for the instance itself).
    pub(crate) pointer: String,
    /// The reason, as `jsonschema` displays it.
    pub(crate) message: String,
}

/// An error on its way out: the message, and the path from the innermost segment out.
struct Error<'i> {
    message: String,
    path: Vec<Segment<'i>>,
}

/// One step into the instance.
enum Segment<'i> {
    Name(&'i str),
    Index(usize),
}

impl<'i> Error<'i> {
    fn here(message: String) -> Self {
        Self {
            message,
            path: Vec::new(),
        }
    }

    fn within(mut self, segment: Segment<'i>) -> Self {
        self.path.push(segment);
        self
    }
}

/// Checks `instance` against `root`.
pub(super) fn validate(root: &Node, instance: &Value) -> Result<(), Failure> {
    node(root, instance).map_err(|error| {
        let mut pointer = String::new();
        for segment in error.path.iter().rev() {
            pointer.push('/');
            match segment {
                Segment::Name(name) => pointer.push_str(&name.replace('~', "~0").replace('/', "~1")),
                Segment::Index(index) => {
                    let _ = write!(pointer, "{index}");
                }
            }
        }
        Failure {
            pointer,
            message: error.message,
        }
    })
}

fn node<'i>(node: &Node, instance: &'i Value) -> Result<(), Error<'i>> {
    match node {
        Node::Bool(true) => Ok(()),
        Node::Bool(false) => Err(Error::here(format!("False schema does not allow {instance}"))),
        Node::Checks(checks) => checks.iter().try_for_each(|one| check(one, instance)),
    }
}

fn check<'i>(check: &Check, instance: &'i Value) -> Result<(), Error<'i>> {
    let fail = |message: String| Err(Error::here(message));
    match (check, instance) {
        (Check::Type(types), _) if !types.matches(instance) => fail(type_message(*types, instance)),
        (Check::Const(expected), _) if !equal(expected, instance) => fail(format!("{expected} was expected")),
        (Check::Enum(options), _) if !options.iter().any(|option| equal(option, instance)) => {
            fail(enum_message(instance, options))
        }
        (Check::Number(bound, limit), Value::Number(number)) => {
            let order = compare(number, limit);
            let (holds, relation) = match bound {
                Bound::Minimum => (order != Ordering::Less, "less than the minimum"),
                Bound::Maximum => (order != Ordering::Greater, "greater than the maximum"),
                Bound::ExclusiveMinimum => (order == Ordering::Greater, "less than or equal to the minimum"),
                Bound::ExclusiveMaximum => (order == Ordering::Less, "greater than or equal to the maximum"),
            };
            match holds {
                true => Ok(()),
                false => fail(format!("{instance} is {relation} of {limit}")),
            }
        }
        (Check::Count(count @ (Count::MinLength | Count::MaxLength), limit), Value::String(text)) => {
            counted(*count, text.chars().count() as u64, *limit, instance)
        }
        (Check::Count(count @ (Count::MinItems | Count::MaxItems), limit), Value::Array(items)) => {
            counted(*count, items.len() as u64, *limit, instance)
        }
        (Check::Required(names), Value::Object(object)) => {
            match names.iter().find(|name| !object.contains_key(name.as_str())) {
                Some(missing) => fail(required_message(missing)),
                None => Ok(()),
            }
        }
        (Check::Properties(declared), Value::Object(object)) => {
            members(object, |name| declared_node(declared, name))
        }
        (Check::Closed(declared, required), Value::Object(object)) => {
            for (name, value) in object {
                let Some(child) = declared_node(declared, name) else {
                    return fail(format!(
                        "Additional properties are not allowed ('{name}' was unexpected)"
                    ));
                };
                node(child, value).map_err(|error| error.within(Segment::Name(name)))?;
            }
            match required {
                Some(name) if !object.contains_key(name.as_str()) => fail(required_message(name)),
                _ => Ok(()),
            }
        }
        (Check::Additional(declared, rest), Value::Object(object)) => {
            members(object, |name| Some(declared_node(declared, name).unwrap_or(rest)))
        }
        (Check::Empty, Value::Object(object)) => match object.values().next() {
            Some(value) => fail(format!("False schema does not allow {value}")),
            None => Ok(()),
        },
        (Check::Items(items), Value::Array(array)) => elements(items, array),
        (Check::ArrayShape { min, max, items }, Value::Array(array)) => {
            counted(Count::MinItems, array.len() as u64, *min, instance)?;
            counted(Count::MaxItems, array.len() as u64, *max, instance)?;
            elements(items, array)
        }
        (Check::ArrayShape { .. }, _) => fail(format!("{instance} is not of type \"array\"")),
        _ => Ok(()),
    }
}

/// Checks each member of `object` that `schema_of` gives a schema for, in name order.
fn members<'i, 's>(
    object: &'i Map<String, Value>,
    schema_of: impl Fn(&str) -> Option<&'s Node>,
) -> Result<(), Error<'i>> {
    for (name, value) in object {
        if let Some(child) = schema_of(name) {
            node(child, value).map_err(|error| error.within(Segment::Name(name)))?;
        }
    }
    Ok(())
}

fn elements<'i>(items: &Node, array: &'i [Value]) -> Result<(), Error<'i>> {
    for (index, item) in array.iter().enumerate() {
        node(items, item).map_err(|error| error.within(Segment::Index(index)))?;
    }
    Ok(())
}

fn declared_node<'s>(declared: &'s Properties, name: &str) -> Option<&'s Node> {
    let index = declared
        .binary_search_by(|(declared, _)| declared.as_str().cmp(name))
        .ok()?;
    declared.get(index).map(|(_, child)| child)
}

fn counted<'i>(count: Count, actual: u64, limit: u64, instance: &Value) -> Result<(), Error<'i>> {
    let (holds, relation, unit) = match count {
        Count::MinLength => (actual >= limit, "is shorter than", "character"),
        Count::MaxLength => (actual <= limit, "is longer than", "character"),
        Count::MinItems => (actual >= limit, "has less than", "item"),
        Count::MaxItems => (actual <= limit, "has more than", "item"),
    };
    match holds {
        true => Ok(()),
        false => {
            let plural = if limit == 1 { "" } else { "s" };
            Err(Error::here(format!(
                "{instance} {relation} {limit} {unit}{plural}"
            )))
        }
    }
}

impl Types {
    /// Returns whether `instance` has one of the types (indices into [`TYPE_NAMES`]).
    fn matches(self, instance: &Value) -> bool {
        let has = |index: u8| self.bits & (1 << index) != 0;
        match instance {
            Value::Null => has(0),
            Value::Bool(_) => has(1),
            Value::Number(number) => has(3) || (has(2) && is_integer(number)),
            Value::String(_) => has(4),
            Value::Array(_) => has(5),
            Value::Object(_) => has(6),
        }
    }
}

fn type_message(types: Types, instance: &Value) -> String {
    let mut names = TYPE_NAMES
        .iter()
        .enumerate()
        .filter(|(index, _)| types.bits & (1 << index) != 0)
        .map(|(_, name)| format!("\"{name}\""));
    match types.single {
        true => format!("{instance} is not of type {}", names.next().unwrap_or_default()),
        false => format!(
            "{instance} is not of types {}",
            names.collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Lists the options as `jsonschema` does: all of three or fewer, else the first two and a
/// count of the rest.
fn enum_message(instance: &Value, options: &[Value]) -> String {
    let mut message = format!("{instance} is not one of ");
    let shown = if options.len() <= 3 { options.len() } else { 2 };
    for (index, option) in options.iter().take(shown).enumerate() {
        let separator = match index {
            0 => "",
            last if last + 1 == options.len() => " or ",
            _ => ", ",
        };
        let _ = write!(message, "{separator}{option}");
    }
    if shown < options.len() {
        let _ = write!(message, " or {} other candidates", options.len() - shown);
    }
    message
}

fn required_message(name: &str) -> String {
    format!("{} is a required property", Value::from(name))
}
