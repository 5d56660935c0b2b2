//! Argument validation before a handler runs: required arguments first, then the full JSON
//! Schema (dialect 2020-12 unless the schema names another), and the seed's `validate_params`.
//!
//! A simple schema (the keywords most tools use: see `simple.rs`) is checked by a validator of
//! the core's own, with the same verdicts and the same first error as `jsonschema`; any
//! other goes to `jsonschema`. A server whose schemas are all simple never runs `jsonschema`.

mod simple;
#[cfg(test)]
mod tests;

use serde_json::Value;

use crate::error::{ErrorCode, RpcError};

/// A compiled input schema: the top-level required names and the full validator.
pub struct ArgsValidator {
    required: Vec<String>,
    schema: Compiled,
}

/// A schema compiled by the simple validator when it can, else by `jsonschema`.
enum Compiled {
    Simple(simple::Schema),
    Full(Box<jsonschema::Validator>),
}

/// A schema that could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid JSON Schema: {reason}")]
pub struct SchemaError {
    /// Why the validator refused the schema.
    pub reason: String,
}

/// Compiles `schema`: by the simple validator if it is simple, else by `jsonschema` with
/// format assertions on (so `"format": "email"` is checked), in dialect 2020-12 unless the
/// schema names another.
fn compile(schema: &Value) -> Result<Compiled, SchemaError> {
    match simple::Schema::compile(schema) {
        Some(simple) => Ok(Compiled::Simple(simple)),
        None => full(schema).map(|validator| Compiled::Full(Box::new(validator))),
    }
}

/// Compiles `schema` with `jsonschema`.
fn full(schema: &Value) -> Result<jsonschema::Validator, SchemaError> {
    let mut options = jsonschema::options().should_validate_formats(true);
    if schema.get("$schema").is_none() {
        options = options.with_draft(jsonschema::Draft::Draft202012);
    }
    options.build(schema).map_err(|err| SchemaError {
        reason: err.to_string(),
    })
}

impl ArgsValidator {
    /// Compiles `schema`, with format assertions on (so `"format": "email"` is checked).
    pub fn compile(schema: &Value) -> Result<Self, SchemaError> {
        let validator = compile(schema)?;
        let required = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|names| names.iter().filter_map(Value::as_str).map(String::from).collect())
            .unwrap_or_default();
        Ok(Self {
            required,
            schema: validator,
        })
    }

    /// Checks `args`: a missing required argument gives E_ARGS, any other violation
    /// E_VALIDATION with the failing path and the reason.
    pub fn check(&self, args: &Value) -> Result<(), RpcError> {
        if let Some(object) = args.as_object()
            && let Some(missing) = self
                .required
                .iter()
                .find(|name| !object.contains_key(name.as_str()))
        {
            return Err(missing_parameter(missing));
        }
        let validator = match &self.schema {
            Compiled::Simple(schema) => {
                return schema
                    .validate(args)
                    .map_err(|failure| invalid_parameter(&display_path(&failure.pointer), &failure.message));
            }
            Compiled::Full(validator) => validator,
        };
        let Err(err) = validator.validate(args) else {
            return Ok(());
        };
        let path = display_path(err.instance_path().as_str());
        let reason = match err.kind() {
            jsonschema::error::ValidationErrorKind::Format { format } => {
                format!("{} is not a valid {format}", err.instance())
            }
            _ => err.to_string(),
        };
        Err(invalid_parameter(&path, &reason))
    }
}

/// A compiled output schema, checked against a tool's `structuredContent`.
pub struct OutputValidator(Compiled);

impl OutputValidator {
    /// Compiles `schema` like an input schema.
    pub fn compile(schema: &Value) -> Result<Self, SchemaError> {
        compile(schema).map(Self)
    }

    /// Checks `structured`; on a mismatch returns the failing path and the reason.
    pub fn check(&self, structured: &Value) -> Result<(), String> {
        let (pointer, reason) = match &self.0 {
            Compiled::Simple(schema) => match schema.validate(structured) {
                Ok(()) => return Ok(()),
                Err(failure) => (failure.pointer, failure.message),
            },
            Compiled::Full(validator) => match validator.validate(structured) {
                Ok(()) => return Ok(()),
                Err(err) => (err.instance_path().as_str().to_owned(), err.to_string()),
            },
        };
        Err(format!(
            "structuredContent does not match outputSchema: {}: {reason}",
            display_path(&pointer)
        ))
    }
}

/// The JSON type a `validate_params` check expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Type {
    /// A JSON string.
    String,
    /// Any JSON number.
    Number,
    /// A JSON number without a fractional part.
    Integer,
    /// `true` or `false`.
    Boolean,
    /// A JSON object.
    Object,
    /// A JSON array.
    Array,
    /// `null`.
    Null,
}

impl Type {
    /// Returns whether `value` is of this type.
    pub fn matches(self, value: &Value) -> bool {
        match self {
            Self::String => value.is_string(),
            Self::Number => value.is_number(),
            Self::Integer => {
                value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0)
            }
            Self::Boolean => value.is_boolean(),
            Self::Object => value.is_object(),
            Self::Array => value.is_array(),
            Self::Null => value.is_null(),
        }
    }

    /// Returns the JSON Schema name of the type.
    pub const fn name(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Number => "number",
            Self::Integer => "integer",
            Self::Boolean => "boolean",
            Self::Object => "object",
            Self::Array => "array",
            Self::Null => "null",
        }
    }
}

/// Checks that `params` has every name in `required` and that each named field has its type.
///
/// A missing name gives E_ARGS (`Missing required parameter: <name>`); a wrong type gives
/// E_VALIDATION (`Invalid parameters: <name>: expected <type>`). A handler may return the
/// error as it is: `Err(err.into())`.
pub fn validate_params(params: &Value, required: &[&str], types: &[(&str, Type)]) -> Result<(), RpcError> {
    let empty = serde_json::Map::new();
    let object = match params {
        Value::Object(object) => object,
        Value::Null => &empty,
        other => {
            return Err(invalid_parameter(
                "arguments",
                &format!("expected object, got {}", json_type(other)),
            ));
        }
    };
    if let Some(missing) = required.iter().find(|name| !object.contains_key(**name)) {
        return Err(missing_parameter(missing));
    }
    for (name, ty) in types {
        match object.get(*name) {
            Some(value) if !ty.matches(value) => {
                let reason = format!("expected {}, got {}", ty.name(), json_type(value));
                return Err(invalid_parameter(name, &reason));
            }
            _ => {}
        }
    }
    Ok(())
}

pub(crate) fn missing_parameter(name: &str) -> RpcError {
    RpcError::new(ErrorCode::Args, format!("Missing required parameter: {name}"))
}

pub(crate) fn invalid_parameter(path: &str, reason: &str) -> RpcError {
    RpcError::new(
        ErrorCode::Validation,
        format!("Invalid parameters: {path}: {reason}"),
    )
}

/// Turns a JSON Pointer (`/user/emails/0`) into a dotted path (`user.emails.0`).
fn display_path(pointer: &str) -> String {
    if pointer.is_empty() {
        return "arguments".into();
    }
    pointer
        .trim_start_matches('/')
        .split('/')
        .map(|segment| segment.replace("~1", "/").replace("~0", "~"))
        .collect::<Vec<_>>()
        .join(".")
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
