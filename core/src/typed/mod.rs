//! The typed layer: tools, prompts and resource templates whose schemas come from Rust types.
//!
//! A typed definition is a dynamic one built for you. [`Tool::typed`](crate::Tool::typed)
//! derives the input schema from the argument type with [`schemars`], once, when the tool
//! is made; the core validates every call against that schema exactly as it validates a
//! hand-written one (E_ARGS for a missing required field, E_VALIDATION with the path
//! otherwise), and only then deserializes the arguments into the type. A value the schema
//! let through but the type refuses is E_VALIDATION with serde's path, never a panic.
//! The output schema comes from what the handler returns: [`Json<T>`] declares `T`'s schema
//! and sends the value as `structuredContent`, with its JSON text for older clients.
//!
//! Schemas are JSON Schema 2020-12, with subschemas inlined where the type is not
//! recursive. They carry `"$schema"` unless
//! [`Config::declare_schema_dialect`](crate::Config::declare_schema_dialect) is off.

pub(crate) mod args;
mod info;
mod output;
mod prompt;
mod template;
#[cfg(test)]
mod tests;
mod tool;

pub use info::ServerInfo;
pub use output::{IntoToolOutput, Json, WithText};
pub use template::IntoContents;

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::Value;

/// Returns the JSON Schema (2020-12) of what `T` deserializes from: a tool's input schema.
///
/// ```
/// use schemars::JsonSchema;
/// use serde::Deserialize;
///
/// /// A user to create.
/// #[derive(Deserialize, JsonSchema)]
/// #[serde(deny_unknown_fields)]
/// struct CreateUser {
///     /// The user's email address.
///     #[schemars(email)]
///     email: String,
/// }
///
/// let schema = rampart_core::typed::input_schema::<CreateUser>();
/// assert_eq!(schema["properties"]["email"]["format"], "email");
/// assert_eq!(schema["additionalProperties"], false);
/// assert_eq!(schema["required"][0], "email");
/// ```
pub fn input_schema<T: JsonSchema + ?Sized>() -> Value {
    settings()
        .for_deserialize()
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value()
}

/// Returns the JSON Schema (2020-12) of what `T` serializes to: a tool's output schema.
///
/// ```
/// use schemars::JsonSchema;
/// use serde::Serialize;
///
/// #[derive(Serialize, JsonSchema)]
/// struct Sum {
///     sum: f64,
/// }
///
/// let schema = rampart_core::typed::output_schema::<Sum>();
/// assert_eq!(schema["properties"]["sum"]["type"], "number");
/// let tool = rampart_core::Tool::new("sum", serde_json::json!({"type": "object"}), |_, _| async {
///     Ok(rampart_core::ToolOutput::structured(serde_json::json!({"sum": 1.5})))
/// })
/// .output_schema(schema);
/// # let _ = tool;
/// ```
pub fn output_schema<T: JsonSchema + ?Sized>() -> Value {
    settings()
        .for_serialize()
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value()
}

/// Draft 2020-12 with subschemas inlined: models and clients read one self-contained schema.
fn settings() -> SchemaSettings {
    SchemaSettings::draft2020_12().with(|settings| settings.inline_subschemas = true)
}

/// Returns whether `schema` describes only JSON objects (`"type": "object"`).
pub(crate) fn is_object_schema(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("object")
}
