//! The server's capabilities, derived from what is registered.

use serde_json::{Map, Value, json};

use crate::registry::Registry;

/// Returns the `capabilities` object of `initialize`: a feature is declared when something
/// of it is registered; logging always is.
pub(super) fn of(registry: &Registry) -> Value {
    let mut capabilities = Map::new();
    capabilities.insert("logging".into(), json!({}));
    if !registry.tools.is_empty() {
        capabilities.insert("tools".into(), json!({"listChanged": true}));
    }
    if !registry.resources.is_empty() {
        capabilities.insert(
            "resources".into(),
            json!({"subscribe": true, "listChanged": true}),
        );
    }
    if !registry.prompts.is_empty() {
        capabilities.insert("prompts".into(), json!({"listChanged": true}));
    }
    if registry.completes() {
        capabilities.insert("completions".into(), json!({}));
    }
    Value::Object(capabilities)
}
