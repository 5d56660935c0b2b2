//! Arguments into Rust types: a tool's validated JSON arguments, and the string arguments of
//! prompts and URI templates, read by the types their schema gives.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{Map, Number, Value};

use crate::error::{ErrorCode, RpcError};
use crate::handler::HandlerError;
use crate::validate::{ArgsValidator, SchemaError, invalid_parameter};

/// Deserializes a tool's validated arguments into `T`; a value the type refuses is
/// E_VALIDATION naming serde's path to it.
pub(crate) fn decode<T: DeserializeOwned>(args: Value) -> Result<T, HandlerError> {
    serde_path_to_error::deserialize(args).map_err(|err| {
        let path = match err.path().to_string() {
            path if path == "." => "arguments".to_owned(),
            path => path,
        };
        HandlerError::arguments(invalid_parameter(&path, &err.into_inner().to_string()))
    })
}

/// The schema of arguments that arrive as strings (prompt arguments, template variables):
/// which are required, what each is, and how to read each string as its JSON type.
pub(crate) struct StringArgs {
    /// The type's own doc comment.
    pub(crate) description: Option<String>,
    properties: Vec<Property>,
    validator: ArgsValidator,
}

/// What a prompt or template made with `typed` keeps: its arguments, or why its type cannot
/// serve, which registering reports.
pub(crate) type TypedArgs = Result<std::sync::Arc<StringArgs>, SchemaError>;

/// One argument as the schema describes it.
pub(crate) struct Property {
    pub(crate) name: String,
    pub(crate) title: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) required: bool,
    /// The values of a string enum, which completion offers.
    pub(crate) choices: Vec<String>,
    kind: Kind,
}

/// The JSON type a string argument is read as.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Integer,
    Number,
    Boolean,
    String,
}

impl StringArgs {
    /// Derives the arguments of `T`, which must be a struct of named fields, in the order of
    /// its fields.
    pub(crate) fn of<T: JsonSchema + DeserializeOwned>() -> Result<Self, SchemaError> {
        let schema = super::input_schema::<T>();
        if !super::is_object_schema(&schema) {
            return Err(SchemaError {
                reason: "arguments must be a struct with named fields".into(),
            });
        }
        let validator = ArgsValidator::compile(&schema)?;
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|names| names.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let empty = Map::new();
        let order = field_order::<T>();
        let mut properties: Vec<(&String, &Value)> = schema
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty)
            .iter()
            .collect();
        properties
            .sort_by_key(|(name, _)| order.iter().position(|field| field == name).unwrap_or(usize::MAX));
        let properties = properties
            .into_iter()
            .map(|(name, definition)| Property {
                name: name.clone(),
                title: text(definition, "title"),
                description: text(definition, "description"),
                required: required.contains(&name.as_str()),
                choices: definition
                    .get("enum")
                    .and_then(Value::as_array)
                    .map(|values| {
                        values
                            .iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default(),
                kind: kind_of(definition),
            })
            .collect();
        Ok(Self {
            description: text(&schema, "description"),
            properties,
            validator,
        })
    }

    /// Returns the enum values of `argument` that start with `prefix`, when it is an enum.
    pub(crate) fn complete(&self, argument: &str, prefix: &str) -> Option<crate::handler::Completion> {
        let property = self
            .properties
            .iter()
            .find(|property| property.name == argument && !property.choices.is_empty())?;
        let values = property.choices.iter().map(String::as_str);
        Some(crate::handler::Completion::matching(values, prefix))
    }

    /// Returns whether any argument is an enum, which completion answers by itself.
    pub(crate) fn has_choices(&self) -> bool {
        self.properties
            .iter()
            .any(|property| !property.choices.is_empty())
    }

    /// Returns the arguments in the schema's order.
    pub(crate) fn properties(&self) -> &[Property] {
        &self.properties
    }

    /// Reads `strings` as `T`: each string as its property's JSON type, then the schema's
    /// checks, then serde; a refusal is -32602 naming the argument.
    pub(crate) fn decode<T: DeserializeOwned>(
        &self,
        strings: &BTreeMap<String, String>,
    ) -> Result<T, RpcError> {
        let value = self.to_json(strings);
        self.validator
            .check(&value)
            .map_err(|err| RpcError::new(ErrorCode::InvalidParams, err.message))?;
        decode(value).map_err(|err| {
            let mut err = err.into_rpc();
            err.code = ErrorCode::InvalidParams;
            err
        })
    }

    /// Reads what `strings` has of `T`'s arguments, without the schema's checks: the chosen
    /// arguments a completion request carries, which may be incomplete.
    pub(crate) fn decode_partial<T: DeserializeOwned>(
        &self,
        strings: &BTreeMap<String, String>,
    ) -> Result<T, RpcError> {
        decode(self.to_json(strings)).map_err(|err| {
            let mut err = err.into_rpc();
            err.code = ErrorCode::InvalidParams;
            err
        })
    }

    fn to_json(&self, strings: &BTreeMap<String, String>) -> Value {
        let object = strings
            .iter()
            .map(|(name, text)| {
                let kind = self
                    .properties
                    .iter()
                    .find(|property| &property.name == name)
                    .map_or(Kind::String, |property| property.kind);
                (name.clone(), read(kind, text))
            })
            .collect();
        Value::Object(object)
    }
}

/// Reads `text` as `kind`; text that is not one stays a string, for the schema to refuse.
fn read(kind: Kind, text: &str) -> Value {
    let parsed = match kind {
        Kind::Integer => text
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| text.parse::<u64>().map(Value::from))
            .ok(),
        Kind::Number => text
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number),
        Kind::Boolean => text.parse::<bool>().ok().map(Value::Bool),
        Kind::String => None,
    };
    parsed.unwrap_or_else(|| Value::String(text.to_owned()))
}

/// The type a property's schema gives (`"integer"`, or `["integer", "null"]` for an `Option`).
fn kind_of(definition: &Value) -> Kind {
    let names: Vec<&str> = match definition.get("type") {
        Some(Value::String(name)) => vec![name.as_str()],
        Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if names.contains(&"string") {
        Kind::String
    } else if names.contains(&"integer") {
        Kind::Integer
    } else if names.contains(&"number") {
        Kind::Number
    } else if names.contains(&"boolean") {
        Kind::Boolean
    } else {
        Kind::String
    }
}

fn text(definition: &Value, key: &str) -> Option<String> {
    definition.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// The names of `T`'s fields in declaration order, as serde's derive lists them (a JSON
/// object's keys are sorted, so the schema alone loses the order).
fn field_order<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(FieldNames(&mut fields));
    fields
}

/// A deserializer that only records the field names a struct asks for, then stops.
struct FieldNames<'a>(&'a mut &'static [&'static str]);

impl<'de> serde::Deserializer<'de> for FieldNames<'_> {
    type Error = serde::de::value::Error;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(serde::de::Error::custom("only field names are read"))
    }

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = fields;
        Err(serde::de::Error::custom("only field names are read"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}
